"""Review before publishing in a real browser (Debian's Chromium through Playwright): an
editor writes an article and submits it, and edits a live one (a draft), a publisher reads
both on the review page and publishes them, readers get the new article and the new
version only then, and the editor reads the outcome. A screenshot of
the review page at 1280 px goes to test-artifacts/screenshots/. Skipped where
/usr/bin/chromium is absent."""

import re

import pytest
from django.contrib.auth.models import Group, User

from articles.models import Article
from tests.conftest import CHROMIUM, PASSWORD, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def people():
    for name, group in [("edna", "Editors"), ("paula", "Publishers")]:
        user = User.objects.create_user(name, password=PASSWORD, is_staff=True)
        user.groups.add(Group.objects.get(name=group))


def test_an_editor_submits_and_a_publisher_publishes(
    browser, live_server, admin_page, people, sample_site
):
    editor = admin_page("edna")
    editor.goto(live_server.url + "/admin/articles/article/")
    editor.locator("#changelist-filter a", has_text="Mathematics").click()
    editor.click("a.addlink")
    # The admin focuses the form's first field once the page has loaded: typing before
    # then loses the keys that land after it.
    editor.wait_for_url(re.compile(r"/add/"), wait_until="load")
    editor.locator("#id_question").press_sequentially("What is an integral?")
    editor.fill("#id_answer", "The area under a curve: $\\int_a^b f(x)\\,dx$.")
    editor.click("input[name=_submit_for_review]")
    editor.wait_for_selector("ul.messagelist li.success")
    article = Article.objects.get(question="What is an integral?")
    assert article.review == Article.Review.SUBMITTED

    # An edit of an imported article, submitted too: the review page shows its diff.
    edited = Article.objects.get(slug="how-do-you-expand-a-perfect-square")
    editor.goto(f"{live_server.url}/admin/articles/article/{edited.pk}/change/")
    editor.fill("#id_answer", edited.answer + "\n\nA worked example follows.")
    editor.click("input[name=_submit_for_review]")
    editor.wait_for_selector("ul.messagelist li.success")

    reader = browser.new_context().new_page()
    assert reader.goto(live_server.url + article.get_absolute_url()).status == 404
    # The edited article is live: readers keep its live version while the draft waits.
    reader.goto(live_server.url + edited.get_absolute_url())
    assert "A worked example follows." not in reader.locator(".answer").inner_text()

    publisher = admin_page("paula")
    publisher.click("#reports-module a:has-text('Waiting for review')")
    item = publisher.locator(f"#review-{article.pk}")
    item.wait_for()
    assert "A new article, never published" in item.inner_text()
    assert "+ A worked example follows." in publisher.locator(f"#review-{edited.pk}").inner_text()
    screenshot(publisher.locator("#content"), "admin-review-page-1280.png")
    item.locator("textarea").fill("Clear, thanks.")
    item.locator("button[value=publish]").click()
    publisher.wait_for_selector("ul.messagelist li.success")
    assert "1 article waiting" in publisher.locator("#content-main").inner_text()
    publisher.locator(f"#review-{edited.pk} button[value=publish]").click()
    publisher.wait_for_selector("ul.messagelist li.success")
    assert "Nothing waits for review" in publisher.locator("#content-main").inner_text()
    reader.goto(live_server.url + edited.get_absolute_url())
    assert "A worked example follows." in reader.locator(".answer").inner_text()

    assert reader.goto(live_server.url + article.get_absolute_url()).status == 200
    assert "area under a curve" in reader.locator(".answer").inner_text()
    reader.context.close()

    editor.goto(f"{live_server.url}/admin/articles/article/{article.pk}/change/")
    outcome = editor.locator("ul.messagelist").inner_text()
    assert "Published from review (live). Note: Clear, thanks." in outcome
    assert not editor.errors and not publisher.errors, (editor.errors, publisher.errors)
