"""The Content-Security-Policy header: django-csp's policy, built once per process."""

from unittest import mock

import csp.middleware
import pytest
from csp.constants import NONCE, SELF
from csp.utils import build_policy
from django.http import HttpResponse
from django.test import RequestFactory

from quicktakes import headers
from quicktakes.headers import ContentSecurityPolicyMiddleware

pytestmark = pytest.mark.django_db


def answer(request, response=None):
    middleware = ContentSecurityPolicyMiddleware(lambda request: response or HttpResponse("ok"))
    return middleware(request)


def test_the_header_is_django_csps_policy(client, sample_site):
    assert client.get("/learn")["Content-Security-Policy"] == build_policy()


def test_the_policy_is_built_once_not_per_answer(client, sample_site):
    client.get("/learn")
    with (
        mock.patch.object(headers, "build_policy", wraps=build_policy) as built,
        mock.patch.object(csp.middleware, "build_policy", wraps=build_policy) as built_by_csp,
    ):
        for path in ("/learn", "/learn/mathematics", "/search?q=rule"):
            assert "default-src 'self'" in client.get(path)["Content-Security-Policy"]
    assert built.call_count + built_by_csp.call_count == 0


def test_a_changed_setting_changes_the_header(client, sample_site, settings):
    client.get("/learn")
    policy = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = {
        **policy,
        "DIRECTIVES": {**policy["DIRECTIVES"], "img-src": ["'self'", "data:"]},
    }
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    response = client.get("/learn")
    assert "img-src 'self' data:" in response["Content-Security-Policy"]
    assert response["Content-Security-Policy-Report-Only"] == "default-src 'none'"


def test_an_answer_with_its_own_policy_keeps_it():
    response = HttpResponse("ok")
    response._csp_update = {"img-src": ["https://images.example.com"]}
    policy = answer(RequestFactory().get("/"), response)["Content-Security-Policy"]
    assert "img-src 'self' https://images.example.com" in policy


def test_a_nonce_asked_for_is_in_the_header(settings):
    policy = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = {
        **policy,
        "DIRECTIVES": {**policy["DIRECTIVES"], "script-src": [SELF, NONCE]},
    }
    request = RequestFactory().get("/")

    def view(request):
        return HttpResponse(str(request.csp_nonce))

    middleware = ContentSecurityPolicyMiddleware(view)
    response = middleware(request)
    nonce = response.content.decode()
    assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]


def test_an_exempt_answer_gets_no_header_and_a_late_nonce_is_refused():
    response = HttpResponse("ok")
    response._csp_exempt = True
    request = RequestFactory().get("/")
    assert "Content-Security-Policy" not in answer(request, response)
    with pytest.raises(Exception, match="csp_nonce"):
        str(request.csp_nonce)
