"""Secure by default: production settings that pass Django's deploy check and refuse to
start unsafe, security headers and a Content-Security-Policy on every answer, pages with no
inline script or style, a 500 page that needs no database, and log-in throttling."""

import importlib
import os
import subprocess
import sys
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client, RequestFactory
from django.utils import timezone

import quicktakes.settings as base_settings
from articles.models import Article
from quicktakes.auth import client_ip
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.django_db

#: A key that passes the deploy check: 50+ characters, many distinct ones.
GOOD_KEY = "k3y-for-tests-only-" + "".join(chr(97 + (i * 7) % 26) for i in range(48))
CHAIN_RULE = (
    "/learn/mathematics/questions/how-do-you-differentiate-a-composite-function-with-the-chain-rule"
)
LOGIN = "/admin/login/"


# --- production settings -----------------------------------------------------------------


def run_manage(*args, **env):
    """``manage.py *args`` in a fresh interpreter with ``env`` over this one's environment
    (a value of None removes the variable); returns the CompletedProcess."""
    environment = {**os.environ}
    environment.pop("DATABASE_URL", None)  # the check needs no database
    for name, value in env.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deploy_check_with_production_settings_reports_nothing(static_root):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="quicktakes.production",
        SECRET_KEY=GOOD_KEY,
        SITE_URL="https://learn.example.com",
        STATIC_ROOT=str(static_root),
        DEBUG=None,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_a_server_error_with_debug_off_writes_its_traceback_to_stderr():
    # Django's own logging shows a 500's traceback only with DEBUG on; the site's logs it
    # for the operator otherwise (gunicorn's error log), and not twice with DEBUG on.
    script = (
        "import django, logging; django.setup(); "
        "from django.test import RequestFactory; "
        "from django.utils.log import log_response; "
        "log_response('Internal Server Error: %s', '/learn', "
        "request=RequestFactory().get('/learn'), "
        "response=type('R', (), {'status_code': 500})(), exception=ValueError('boom'))"
    )
    for debug, expected in (("0", 1), ("1", 1)):
        result = run_manage("shell", "-c", script, DEBUG=debug)
        assert result.returncode == 0, result.stderr
        assert result.stderr.count("Internal Server Error: /learn") == expected, result.stderr


def test_the_deploy_check_reports_a_missing_static_manifest(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        DJANGO_SETTINGS_MODULE="quicktakes.production",
        SECRET_KEY=GOOD_KEY,
        SITE_URL="https://learn.example.com",
        STATIC_ROOT=str(tmp_path),
        DEBUG=None,
    )
    assert result.returncode != 0
    assert "quicktakes.E001" in result.stderr and "collectstatic" in result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = run_manage(
        "check", DJANGO_SETTINGS_MODULE="quicktakes.production", SECRET_KEY=None, DEBUG=None
    )
    assert result.returncode == 3
    assert result.stderr.startswith("Refusing to start: SECRET_KEY is unset or a development key")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "site_url, words",
    [
        (None, "SITE_URL must be set in production"),
        ("http://127.0.0.1:8000", "must be the public address"),
        ("learn.example.com", "must look like https://host"),
    ],
)
def test_production_settings_refuse_to_start_without_the_public_site_url(site_url, words):
    result = run_manage(
        "check",
        DJANGO_SETTINGS_MODULE="quicktakes.production",
        SECRET_KEY=GOOD_KEY,
        SITE_URL=site_url,
        DEBUG=None,
    )
    assert result.returncode == 3
    assert result.stderr.startswith(f"Refusing to start: {words}") or words in result.stderr
    assert len(result.stderr.splitlines()) == 1


def load_production(monkeypatch, site_url="https://learn.example.com", **base):
    """Import quicktakes.production afresh over the base settings with ``base`` changed
    and SITE_URL set to ``site_url`` in the environment (None: unset)."""
    if site_url is None:
        monkeypatch.delenv("SITE_URL", raising=False)
    else:
        monkeypatch.setenv("SITE_URL", site_url)
    for name, value in base.items():
        monkeypatch.setattr(base_settings, name, value)
    monkeypatch.delitem(sys.modules, "quicktakes.production", raising=False)
    return importlib.import_module("quicktakes.production")


@pytest.mark.parametrize(
    "key",
    [
        "",
        "dev-only-insecure-key-change-me",
        "django-insecure-" + GOOD_KEY,
        GOOD_KEY[:49],
        "ab" * 40,
    ],
    ids=["empty", "development-key", "django-insecure", "49-characters", "two-characters"],
)
def test_production_settings_refuse_a_weak_secret_key(monkeypatch, key):
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        load_production(monkeypatch, SECRET_KEY=key, DEBUG=False)


def test_production_settings_refuse_a_weak_fallback_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", f"{GOOD_KEY},short")
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY_FALLBACKS entry 2"):
        load_production(monkeypatch, SECRET_KEY=GOOD_KEY, DEBUG=False)


def test_production_settings_refuse_to_start_with_debug_on(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DEBUG is on"):
        load_production(monkeypatch, SECRET_KEY=GOOD_KEY, DEBUG=True)


PRODUCTION_ONLY = (
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "CONTENT_SECURITY_POLICY",
)


@pytest.fixture
def production(monkeypatch, settings):
    """The test settings with production's HTTPS-only settings applied."""
    module = load_production(monkeypatch, SECRET_KEY=GOOD_KEY, DEBUG=False)
    for name in PRODUCTION_ONLY:
        setattr(settings, name, getattr(module, name))
    return Client(), {"HTTP_X_FORWARDED_PROTO": "https"}


def test_plain_http_is_redirected_to_https_in_production(production, sample_site):
    client, _ = production
    response = client.get("/learn")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/learn"


def test_https_answers_carry_a_preloadable_hsts_header(production, sample_site):
    client, https = production
    response = client.get("/learn", **https)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
    assert "upgrade-insecure-requests" in response["Content-Security-Policy"]


def test_session_and_csrf_cookies_are_secure_and_session_is_http_only(production, db):
    client, https = production
    User.objects.create_user("edna", password="a-long-test-password", is_staff=True)
    form = client.get(LOGIN, **https)
    assert form.cookies["csrftoken"]["secure"]
    response = client.post(
        LOGIN,
        {"username": "edna", "password": "a-long-test-password", "next": "/admin/"},
        **https,
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"]


# --- headers on every answer ---------------------------------------------------------------

PAGE_KINDS = [
    "/learn",
    "/learn/mathematics",
    CHAIN_RULE,
    "/search?q=rule",
    "/feed.xml",
    "/sitemap.xml",
    "/robots.txt",
    "/learn/mathematics/questions/nothing-here",
    LOGIN,
]


@pytest.mark.parametrize("url", PAGE_KINDS)
def test_every_answer_carries_the_security_headers(client, sample_site, url):
    for attempt in ("first", "cached"):
        response = client.get(url)
        assert response.status_code in (200, 404), (url, attempt)
        assert response["X-Content-Type-Options"] == "nosniff", (url, attempt)
        assert response["Referrer-Policy"] == "same-origin", (url, attempt)
        assert response["X-Frame-Options"] == "DENY", (url, attempt)
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", (url, attempt)


@pytest.mark.parametrize("url", PAGE_KINDS)
def test_every_answer_carries_a_strict_content_security_policy(client, sample_site, url):
    for _attempt in ("first", "cached"):
        policy = client.get(url)["Content-Security-Policy"]
        directives = {
            part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()
        }
        assert directives["default-src"] == ["'self'"], policy
        assert directives["script-src"] == ["'self'"], policy
        assert directives["style-src"] == ["'self'"], policy
        assert directives["object-src"] == ["'none'"], policy
        assert directives["frame-ancestors"] == ["'none'"], policy
        assert "unsafe" not in policy, policy


# --- no inline script or style --------------------------------------------------------------


class InlineCode(HTMLParser):
    """Collects what a strict policy would block: inline scripts (other than JSON data),
    style elements, style attributes and event handler attributes."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.found = []
        self._in_inline_script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "style":
            self.found.append("<style> element")
        if "style" in attrs:
            self.found.append(f"<{tag} style={attrs['style']!r}>")
        self.found += [f"<{tag} {name}>" for name in attrs if name.startswith("on")]
        if tag == "script":
            data = attrs.get("type", "").endswith("json")
            self._in_inline_script = "src" not in attrs and not data

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.found.append(f"inline script {data.strip()[:60]!r}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False


PUBLIC_PAGES = ["/learn", "/learn/mathematics", CHAIN_RULE, "/search?q=rule", "/search"]


@pytest.mark.parametrize("url", [*PUBLIC_PAGES, "/learn/mathematics/questions/nothing-here"])
def test_public_pages_hold_no_inline_script_or_style(client, sample_site, url):
    assert InlineCode(client.get(url).content.decode()).found == []


def test_admin_pages_hold_no_inline_script_or_style(admin_client, sample_site):
    article = Article.objects.get(slug=CHAIN_RULE.rsplit("/", 1)[1])
    for url in [
        "/admin/",
        "/admin/articles/article/",
        f"/admin/articles/article/{article.pk}/change/",
        f"/admin/articles/article/{article.pk}/history/",
        "/admin/articles/article/add/",
        "/admin/articles/subject/",
        "/admin/articles/relatedlink/",
        "/admin/auth/user/",
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert InlineCode(response.content.decode()).found == [], url


def test_the_log_in_page_holds_no_inline_script_or_style(client, db):
    assert InlineCode(client.get(LOGIN).content.decode()).found == []


# --- the 500 page ---------------------------------------------------------------------------


@pytest.fixture
def database_down(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(BaseDatabaseWrapper, "cursor", refuse)


def test_the_500_page_renders_with_the_database_down_and_no_inline_style(db, database_down):
    client = Client(raise_request_exception=False)
    response = client.get("/learn/mathematics")
    html = response.content.decode()
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in html
    assert '<link rel="stylesheet" href="/static/css/site.css">' in html
    assert InlineCode(html).found == []
    assert "style-src 'self'" in response["Content-Security-Policy"]


# --- log-in throttling ----------------------------------------------------------------------


@pytest.fixture
def editor(db):
    return User.objects.create_user("edna", password="a-long-test-password", is_staff=True)


def log_in(client, password, address="203.0.113.5"):
    """Post the admin's log-in form from ``address``; returns the response."""
    return client.post(
        LOGIN,
        {"username": "edna", "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def test_five_failed_log_ins_lock_the_username_out_from_that_address(client, editor):
    for _ in range(4):
        assert log_in(client, "wrong").status_code == 200  # the form again, with its error
    assert log_in(client, "wrong").status_code == 429
    locked = log_in(client, "a-long-test-password")
    assert locked.status_code == 429
    assert "too many" in locked.content.decode().lower()
    assert "_auth_user_id" not in client.session


def test_a_lock_out_does_not_reach_the_same_editor_elsewhere(client, editor):
    for _ in range(5):
        log_in(client, "wrong", address="198.51.100.7")
    response = log_in(client, "a-long-test-password", address="203.0.113.5")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(editor.pk)


def test_the_lock_out_ends_after_fifteen_minutes(client, editor):
    for _ in range(5):
        log_in(client, "wrong")
    assert log_in(client, "a-long-test-password").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))
    assert log_in(client, "a-long-test-password").status_code == 302


def test_a_successful_log_in_clears_the_failure_count(client, editor):
    for _ in range(4):
        log_in(client, "wrong")
    assert log_in(client, "a-long-test-password").status_code == 302
    client.logout()
    for _ in range(4):
        log_in(client, "wrong")
    assert log_in(client, "a-long-test-password").status_code == 302


def test_the_client_address_is_read_through_the_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    factory = RequestFactory()
    behind_proxy = factory.get(
        "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5"
    )
    assert client_ip(behind_proxy) == "203.0.113.5"  # the left entry was the client's own
    direct = factory.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert client_ip(direct) == "198.51.100.7"  # only a trusted proxy is believed
    no_header = factory.get("/", REMOTE_ADDR="127.0.0.1")
    assert client_ip(no_header) == "127.0.0.1"
