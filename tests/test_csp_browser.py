"""The Content-Security-Policy in a real browser (Debian's Chromium through Playwright): every
page kind, public and admin, loads without a single policy violation, and its scripts run.
Skipped where /usr/bin/chromium is absent."""

import pytest
from django.contrib.auth.models import User

from articles.models import Article
from tests.conftest import CHROMIUM

CHAIN_RULE = (
    "/learn/mathematics/questions/how-do-you-differentiate-a-composite-function-with-the-chain-rule"
)
TIMEOUT_MS = 15_000

pytestmark = [
    pytest.mark.browser,
    # The live server reads committed rows; tests/conftest.py puts back what the
    # migrations wrote (the Editors group) before each test.
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

# Recorded before any page script runs; the browser fires this event for every blocked load,
# inline script, inline style or eval, whatever the page does with its console.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${where}`);
});
"""


@pytest.fixture
def page(browser):
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
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
    yield page
    context.close()


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
    User.objects.create_superuser("root", password="a-long-test-password")
    article = Article.objects.get(slug=CHAIN_RULE.rsplit("/", 1)[1])
    assert violations(page, f"{live_server.url}/admin/login/?next=/admin/") == []
    page.fill("#id_username", "root")
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
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
    User.objects.create_superuser("root", password="a-long-test-password")
    article = Article.objects.get(slug=CHAIN_RULE.rsplit("/", 1)[1])
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/articles/article/{article.pk}/change/")
    # The live preview (static/js) posts to the preview view and fills the pane: the
    # policy allows the site's own scripts and their requests to the site.
    page.fill("#id_answer", "Under the policy: **bold**.")
    page.locator("#id_answer_preview strong", has_text="bold").wait_for()
    assert page.evaluate("window.__violations") == []
