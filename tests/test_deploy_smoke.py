"""The site as deployed: DEBUG off, collectstatic run into whitenoise's compressed manifest
storage, every kind of page, a 404 and the 500 handler answering in the site's style."""

import re

import pytest
from django.test import Client
from django.urls import path

from articles.redirects import record_moves
from quicktakes.urls import handler404, handler500  # noqa: F401 (this URLconf's handlers)
from quicktakes.urls import urlpatterns as site_urlpatterns
from tests.conftest import MANIFEST_STORAGE

pytestmark = pytest.mark.django_db

CHAIN_RULE = (
    "/learn/mathematics/questions/how-do-you-differentiate-a-composite-function-with-the-chain-rule"
)


def broken_view(request):
    raise RuntimeError("a bug in a view")


# This module is also the test URLconf: the site's URLs plus one view that fails.
urlpatterns = [path("broken", broken_view), *site_urlpatterns]


@pytest.fixture
def deployed(settings, static_root):
    """A client on production-like settings: DEBUG off, the manifest storage."""
    settings.DEBUG = False
    settings.STATIC_ROOT = static_root
    settings.STORAGES = {**settings.STORAGES, "staticfiles": MANIFEST_STORAGE}
    settings.ROOT_URLCONF = __name__
    # A new client builds its middleware now, so whitenoise indexes the collected files.
    return Client(raise_request_exception=False)


@pytest.mark.parametrize(
    "url, content_type",
    [
        ("/learn", "text/html"),
        ("/learn/mathematics", "text/html"),
        ("/learn/others", "text/html"),
        (CHAIN_RULE, "text/html"),
        ("/feed.xml", "application/rss+xml"),
        ("/learn/mathematics/feed.xml", "application/rss+xml"),
        ("/sitemap.xml", "application/xml"),
        ("/sitemap-subjects.xml", "application/xml"),
        ("/sitemap-articles.xml", "application/xml"),
        ("/robots.txt", "text/plain"),
    ],
)
def test_every_page_kind_answers_with_debug_off(deployed, sample_site, url, content_type):
    response = deployed.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)


def test_pages_link_the_hashed_stylesheet_and_whitenoise_serves_it(deployed, sample_site):
    html = deployed.get("/learn").content.decode()
    stylesheet = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', html)
    assert stylesheet, "the page should link the manifest's hashed stylesheet"
    response = deployed.get(stylesheet[1])
    assert response.status_code == 200
    assert "immutable" in response["Cache-Control"]


def test_moved_addresses_redirect_with_debug_off(deployed, sample_site):
    record_moves({"/learn/mathematics/questions/old": CHAIN_RULE})
    response = deployed.get("/learn/mathematics/questions/old")
    assert (response.status_code, response["Location"]) == (301, CHAIN_RULE)


def test_a_missing_page_gets_the_styled_404(deployed, sample_site):
    response = deployed.get("/learn/mathematics/questions/nothing-here")
    html = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in html
    assert '<meta name="robots" content="noindex">' in html
    assert re.search(r"/static/css/site\.[0-9a-f]{12}\.css", html)


def test_a_failing_view_gets_the_styled_500(deployed, sample_site):
    response = deployed.get("/broken")
    html = response.content.decode()
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in html
    assert '<meta name="robots" content="noindex">' in html
    assert 'href="/learn"' in html


@pytest.fixture
def without_manifest(settings, tmp_path):
    """DEBUG off and the manifest storage, but collectstatic never run."""
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": MANIFEST_STORAGE}
    settings.ROOT_URLCONF = __name__
    return Client(raise_request_exception=False)


def test_without_the_manifest_a_missing_page_still_answers_404(without_manifest, sample_site):
    response = without_manifest.get("/learn/no-such-subject/questions/nothing")
    assert response.status_code == 404
    assert b"Browse all subjects" in response.content


def test_without_the_manifest_a_failing_view_still_answers_500(without_manifest, sample_site):
    response = without_manifest.get("/broken")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
