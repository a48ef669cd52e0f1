"""The Content-Security-Policy header, built once per process for the usual answer.

django-csp builds the policy string again for every response (a copy of its settings and
a dataclass turned into a dict, twice: the policy and the report-only one): about a fifth
of what a page served from the page cache costs. The site's policy has no nonce and its
views change it nowhere, so the string is the same for every answer while the settings
hold; it is kept until a CONTENT_SECURITY_POLICY setting changes. An answer that asked for
a nonce or carries a policy of its own (django-csp's decorators) goes through django-csp.
"""

import functools
import http.client

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

#: What django-csp's decorators leave on a response to change its policy.
_RESPONSE_PARTS = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
#: The two headers: (header name, report only, setting, attribute exempting a response).
_HEADERS = (
    (HEADER, False, "CONTENT_SECURITY_POLICY", "_csp_exempt"),
    (HEADER_REPORT_ONLY, True, "CONTENT_SECURITY_POLICY_REPORT_ONLY", "_csp_exempt_ro"),
)


@functools.cache
def plain_policy(report_only):
    """The policy string of the settings (``report_only``: the report-only one), with no
    nonce; "" when that policy is not set. Kept until a policy setting changes."""
    return build_policy(report_only=report_only)


@functools.cache
def _excluded_prefixes(setting):
    policy = getattr(settings, setting, None) or {}
    return tuple(policy.get("EXCLUDE_URL_PREFIXES", None) or ())


@receiver(setting_changed)
def _forget_policies(setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        plain_policy.cache_clear()
        _excluded_prefixes.cache_clear()


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware (same settings, same headers), with the policy of an answer
    that neither used a nonce nor changed its policy read from plain_policy."""

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _RESPONSE_PARTS
        ):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in (
            http.client.INTERNAL_SERVER_ERROR,
            http.client.NOT_FOUND,
        ):
            return response  # Django's debug pages run inline script, as django-csp allows
        for header, report_only, setting, exempt in _HEADERS:
            policy = plain_policy(report_only)
            if (
                policy
                and header not in response
                and getattr(response, exempt, False) is False
                and not request.path_info.startswith(_excluded_prefixes(setting))
            ):
                response[header] = policy
        # As django-csp does: a nonce asked for once the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
