"""The editors' admin in a real browser (Debian's Chromium through Playwright): log in, edit
an answer while the live preview follows, save, read it on the public page, revert it from
the history. Skipped where /usr/bin/chromium is absent."""

import re

import pytest
from django.contrib.auth.models import Group, User

from articles.models import Article
from tests.conftest import CHROMIUM, PASSWORD

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
def editor():
    user = User.objects.create_user("edna", password=PASSWORD, is_staff=True)
    # Publishing too: the save is read on the public page at once (an editor's save of a
    # live article would be a draft for review, tests/test_admin_review_browser.py).
    user.groups.add(*Group.objects.filter(name__in=["Editors", "Publishers"]))
    return user


def test_edit_preview_save_read_and_revert(admin_page, browser, live_server, editor, sample_site):
    article = Article.objects.get(slug=CHAIN_RULE.rsplit("/", 1)[1])
    imported_answer_text = "chain rule"
    assert imported_answer_text in article.answer_html

    page = admin_page("edna")
    page.goto(f"{live_server.url}/admin/articles/article/{article.pk}/change/")
    preview = page.locator("#id_answer_preview")
    assert imported_answer_text in preview.inner_text()

    # Typing updates the preview through the same renderer as on save, math included.
    page.fill("#id_answer", "Browser-edited answer: **bold** and $x^2$.")
    preview.locator("strong", has_text="bold").wait_for()
    assert "Browser-edited answer" in preview.inner_text()
    assert preview.locator("math msup").count() == 1
    assert article.answer == Article.objects.get(pk=article.pk).answer  # nothing saved yet

    # The SEO description's count follows the typing and warns past 160 characters.
    page.fill("#id_seo_description", "x" * 161)
    counter = page.locator("#id_seo_description_count")
    assert re.search(r"161\s*/ 160 characters", counter.inner_text())
    assert "char-count--over" in counter.get_attribute("class")
    page.fill("#id_seo_description", article.seo_description)

    page.click("input[name=_save]")
    page.wait_for_selector("ul.messagelist li.success")

    reader = browser.new_context().new_page()
    reader.goto(f"{live_server.url}{CHAIN_RULE}")
    assert "Browser-edited answer:" in reader.locator(".answer").inner_text()

    # Revert from the history: the oldest entry is the article as imported.
    page.goto(f"{live_server.url}/admin/articles/article/{article.pk}/history/")
    page.locator("#change-history tbody tr").last.locator("a").click()
    page.wait_for_selector(".version-changes")
    assert "Browser-edited answer" in page.locator(".version-changes").inner_text()
    page.click("input[name=_save]")
    page.wait_for_selector("ul.messagelist li.success")

    reader.goto(f"{live_server.url}{CHAIN_RULE}")
    answer = reader.locator(".answer").inner_text()
    assert "Browser-edited answer" not in answer
    assert imported_answer_text in answer
    reader.context.close()
