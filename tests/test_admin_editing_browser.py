"""The article form and list in a real browser (Debian's Chromium through Playwright): a new
article saved in one go from a filtered list, the list readable at 1280 and 1024 px, and the
previews (phone width, search result) following the typing. Screenshots at 1280 px go to
test-artifacts/screenshots/ (never committed). Skipped where /usr/bin/chromium is absent."""

import datetime
import re

import pytest
from django.contrib.auth.models import Group, User

from articles.models import Article, Subject
from tests.conftest import CHROMIUM, PASSWORD, screenshot

CHANGELIST = "/admin/articles/article/"
#: The question column's width at least, in CSS pixels, per viewport width: before the
#: list was laid out for these widths it got about 105 px at 1280.
QUESTION_WIDTH_AT_LEAST = {1280: 360, 1024: 200}

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
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def open_page(admin_page, editor):
    """open_page(width=1280) -> the editor's logged-in page at that viewport width."""
    return lambda width=1280: admin_page("edna", width=width)


def test_a_new_article_saves_in_one_go_from_a_filtered_list(open_page, live_server, sample_site):
    page = open_page()
    page.goto(live_server.url + CHANGELIST)
    page.locator("#changelist-filter a", has_text="Mathematics").click()
    page.wait_for_url(re.compile(r"subject__id__exact="))
    page.click("a.addlink")
    # The admin focuses the form's first field once the page has loaded: typing before
    # then loses the keys that land after it.
    page.wait_for_url(re.compile(r"/add/"), wait_until="load")
    # The slug follows the question as it is typed (the admin's prepopulating script).
    page.locator("#id_question").press_sequentially("What is a limit of a sequence?")
    assert page.input_value("#id_slug") == "what-is-a-limit-of-a-sequence"
    page.fill("#id_answer", "A number the terms get **arbitrarily close** to.")
    # The titles wait in a collapsed section.
    assert not page.locator("#id_title").is_visible()
    page.click("input[name=_save]")
    page.wait_for_selector("ul.messagelist li.success")

    created = Article.objects.get(question="What is a limit of a sequence?")
    assert created.subject == Subject.objects.get(slug="mathematics")
    assert created.slug == "what-is-a-limit-of-a-sequence"
    assert created.title == created.article_title == created.question
    assert created.status == Article.Status.DRAFT
    assert not page.errors, page.errors


def add_awkward_articles():
    """Articles whose cells are the widest the list shows: a long question, the longest
    subject title, a scheduled time."""
    subject = Subject.objects.get(slug="accounting-and-finance")
    for n in range(3):
        Article.objects.create(
            subject=subject,
            slug=f"long-question-{n}",
            title="t",
            question="How do the accrual and cash bases of accounting differ when a company "
            f"recognises revenue from a multi-year service contract paid up front? ({n})",
            answer="An answer.",
            date="2024-02-02",
            publish_at=datetime.datetime(2099, 1, 1, 8, tzinfo=datetime.UTC),
            no_index=bool(n % 2),
        )


QUESTION_COLUMN = """() => {
  const results = document.querySelector('#changelist .results');
  const box = results.getBoundingClientRect();
  const clipped = [...document.querySelectorAll('#result_list thead th')]
    .filter(th => th.getBoundingClientRect().right > box.right + 1)
    .map(th => th.className);
  return {
    question: document.querySelector('#result_list th.column-question')
      .getBoundingClientRect().width,
    clipped: clipped,
    overflow: results.scrollWidth - results.clientWidth,
    pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
  };
}"""


@pytest.mark.parametrize("width", sorted(QUESTION_WIDTH_AT_LEAST))
def test_article_list_is_readable_at_the_width(open_page, live_server, sample_site, width):
    add_awkward_articles()
    page = open_page(width)
    page.goto(live_server.url + CHANGELIST)
    layout = page.evaluate(QUESTION_COLUMN)
    assert layout["question"] >= QUESTION_WIDTH_AT_LEAST[width], layout
    assert layout["clipped"] == [] and layout["overflow"] <= 0, layout
    assert layout["pageOverflow"] <= 0, layout
    screenshot(page, f"admin-article-list-{width}.png")


def test_article_list_search_reads_answers_best_first(open_page, live_server, sample_site):
    subject = Subject.objects.get(slug="mathematics")
    for slug, question, answer, date in [
        ("mentions", "How do clouds form?", "Unlike Rayleigh scattering, nothing.", "2025-06-01"),
        ("about", "What is Rayleigh scattering?", "Rayleigh scattering is light.", "2001-01-01"),
    ]:
        Article.objects.create(
            subject=subject, slug=slug, title=question, question=question, answer=answer, date=date
        )
    page = open_page()
    page.goto(live_server.url + CHANGELIST)
    page.fill("#searchbar", "rayleigh scattering")
    page.press("#searchbar", "Enter")
    page.wait_for_url(re.compile(r"q=rayleigh"))
    questions = page.locator("#result_list tbody th.field-question").all_inner_texts()
    assert questions == ["What is Rayleigh scattering?", "How do clouds form?"]
    screenshot(page, "admin-article-list-search-1280.png")


def test_previews_follow_the_typing(open_page, live_server, sample_site):
    article = Article.objects.get(slug="how-do-you-expand-a-perfect-square")
    page = open_page()
    page.goto(f"{live_server.url}/admin/articles/article/{article.pk}/change/")

    # The answer preview at a phone's width and back.
    pane = page.locator("#id_answer_preview")
    wide = pane.bounding_box()["width"]
    page.check("#id_answer_preview_phone")
    assert pane.bounding_box()["width"] == 375 < wide
    page.locator(".field-answer").scroll_into_view_if_needed()
    screenshot(page.locator(".field-answer"), "admin-answer-preview-phone-1280.png")
    page.uncheck("#id_answer_preview_phone")
    assert pane.bounding_box()["width"] == wide

    serp = page.locator(".serp")
    title = serp.locator(".serp__title")
    description = serp.locator(".serp__description")
    # The description follows the typing, cut at 160 characters with an ellipsis.
    page.fill("#id_seo_description", "Squares of sums, step by step. " * 10)
    page.wait_for_function(
        "() => document.querySelector('.serp__description').textContent.endsWith('…')"
    )
    assert len(description.inner_text()) <= 160
    assert description.inner_text().startswith("Squares of sums, step by step.")
    # The title is the page's, cut past 580 px.
    page.fill("#id_question", "Why " + "does the square of a sum hold " * 4 + "?")
    page.wait_for_function(
        "() => document.querySelector('.serp__title').textContent.startsWith('Why does')"
    )
    assert title.inner_text().endswith("…")
    width = page.evaluate(
        """() => { const range = document.createRange();
        range.selectNodeContents(document.querySelector('.serp__title'));
        return range.getBoundingClientRect().width; }"""
    )
    assert 400 < width <= 580
    # The address follows the slug.
    page.fill("#id_slug", "square-of-a-sum")
    assert (
        serp.locator(".serp__address")
        .inner_text()
        .endswith("learn › mathematics › questions › square-of-a-sum")
    )
    # Without a description, the start of the answer stands for it, marked.
    page.fill("#id_seo_description", "")
    page.wait_for_function(
        "() => document.querySelector('.serp__description')"
        ".classList.contains('serp__description--from-answer')"
    )
    assert description.inner_text().split()[0] in pane.inner_text()
    serp.scroll_into_view_if_needed()
    screenshot(page.locator("fieldset", has=serp), "admin-search-result-preview-1280.png")
    assert not page.errors, page.errors
    assert Article.objects.get(pk=article.pk).question == article.question  # nothing saved
