"""The Content-Security-Policy in a real browser (Debian's Chromium through Playwright): every
page kind, public and admin, loads without a single policy violation, and its scripts run.
Skipped where /usr/bin/chromium is absent."""

import pytest
from django.contrib.auth.models import User

from articles.models import Article
from tests.conftest import CHROMIUM, PASSWORD, RECORD_VIOLATIONS, log_in

CHAIN_RULE = (
    "/learn/mathematics/questions/how-do-you-differentiate-a-composite-function-with-the-chain-rule"
)

pytestmark = [
    pytest.mark.browser,
    # The live server reads committed rows; tests/conftest.py puts back what the
    # migrations wrote (the Editors group) before each test.
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def page(new_page):
    """A page recording policy violations (RECORD_VIOLATIONS), and the console's policy
    reports and script errors in ``page.console_reports``."""
    page = new_page(init_script=RECORD_VIOLATIONS)
    page.console_reports = []
    page.on(
        "console",
        lambda message: (
            page.console_reports.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: page.console_reports.append(f"page error: {error}"))
    return page


def violations(page, url):
    """Open ``url``, let its scripts settle; returns every policy violation it caused."""
    response = page.goto(url)
    assert response is not None and response.status in (200, 404), url
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    return page.evaluate("window.__violations") + page.console_reports


def test_public_pages_load_without_a_policy_violation(page, live_server, sample_site):
    for path in [
        "/learn",
        "/learn/mathematics",
        CHAIN_RULE,
        "/search?q=rule",
        "/learn/mathematics/questions/nothing-here",
    ]:
        assert violations(page, live_server.url + path) == [], path


def test_admin_pages_load_without_a_policy_violation(page, live_server, sample_site):
    User.objects.create_superuser("root", password=PASSWORD)
    article = Article.objects.get(slug=CHAIN_RULE.rsplit("/", 1)[1])
    assert violations(page, f"{live_server.url}/admin/login/?next=/admin/") == []
    log_in(page, live_server.url, "root")
    for path in [
        "/admin/",
        "/admin/articles/article/",
        f"/admin/articles/article/{article.pk}/change/",
        f"/admin/articles/article/{article.pk}/history/",
        "/admin/articles/article/add/",
        "/admin/articles/subject/",
        "/admin/articles/relatedlink/",
    ]:
        assert violations(page, live_server.url + path) == [], path


def test_the_admin_scripts_run_under_the_policy(page, live_server, sample_site):
    User.objects.create_superuser("root", password=PASSWORD)
    article = Article.objects.get(slug=CHAIN_RULE.rsplit("/", 1)[1])
    log_in(page, live_server.url, "root")
    page.goto(f"{live_server.url}/admin/articles/article/{article.pk}/change/")
    # The live preview (static/js) posts to the preview view and fills the pane: the
    # policy allows the site's own scripts and their requests to the site.
    page.fill("#id_answer", "Under the policy: **bold**.")
    page.locator("#id_answer_preview strong", has_text="bold").wait_for()
    assert page.evaluate("window.__violations") == []
