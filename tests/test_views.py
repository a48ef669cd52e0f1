"""Public pages: content readers get and the SQL each page costs."""

import datetime
import re
from html import unescape
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles import views
from articles.importing import import_paths
from articles.models import Article, Subject
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db

CHAIN_RULE = (
    "/learn/mathematics/questions/how-do-you-differentiate-a-composite-function-with-the-chain-rule"
)


def text_of(response):
    """The page's visible text, tags removed and whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def count_queries(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return response, len(queries)


def test_root_sends_readers_to_learn(client):
    response = client.get("/")
    assert response.status_code == 301
    assert response["Location"] == "/learn"


def test_index_lists_listed_subjects_in_order_with_counts(client, sample_site):
    response = client.get("/learn")
    assert response.status_code == 200
    text = text_of(response)
    order = [
        text.index(t)
        for t in (
            "Mathematics 3 questions",
            "Computer Science 3 questions",
            "Accounting and Finance 2 questions",
            "Education Studies 3 questions",
        )
    ]
    assert order == sorted(order)
    assert "Others" not in text  # unlisted


def test_subject_page_lists_its_questions_with_links(client, sample_site):
    response = client.get("/learn/mathematics")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Mathematics</h1>" in html
    assert "3 questions" in text_of(response)
    assert f'href="{CHAIN_RULE}"' in html


def test_subject_pages_paginate_twenty_a_page(client, sample_site):
    subject = Subject.objects.get(slug="mathematics")
    template = Article.objects.filter(subject=subject).first()
    for n in range(40):
        template.pk = None
        template.slug = f"extra-question-{n:02d}"
        template.question = f"Extra question {n:02d}?"
        template.save()
    first = client.get("/learn/mathematics")
    assert len(first.context["articles"]) == 20
    assert 'href="?page=2"' in first.content.decode()
    assert 'href="?page=3"' in first.content.decode()
    assert '<span aria-current="page">1</span>' in first.content.decode()
    last = client.get("/learn/mathematics?page=3")
    assert len(last.context["articles"]) == 3
    assert client.get("/learn/mathematics?page=4").status_code == 404
    assert client.get("/learn/mathematics?page=x").status_code == 404
    assert client.get("/learn/mathematics?page=1")["Location"] == "/learn/mathematics"


def test_article_page_reads_right(client, sample_site):
    response = client.get(CHAIN_RULE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>How do you differentiate a composite function with the chain rule?</h1>" in html
    assert "Posted on Nov 29, 2024" in text_of(response)
    assert (
        "<title>How do you differentiate a composite function with the chain rule? | Mathematics | QuickTakes Learn</title>"
        in html
    )
    assert (
        '<meta name="description" content="A short answer to: How do you differentiate a composite function with the chain rule?">'
        in html
    )
    assert '<meta name="keywords" content="how, do, you, differentiate, a">' in html
    assert 'href="/learn/mathematics"' in html
    assert 'name="robots"' not in html


def test_related_questions_link_where_the_target_exists(client, sample_site):
    html = client.get(CHAIN_RULE).content.decode()
    related = html[html.index("Related questions") :]
    assert (
        'href="/learn/mathematics/questions/what-does-it-mean-for-a-matrix-to-be-invertible"'
        in related
    )
    assert (
        'href="/learn/computer-science/questions/how-do-momentum-based-optimizers-update-weights"'
        in related
    )
    assert '<span class="related__missing">What is a limit in calculus?</span>' in related


def test_related_link_to_a_scheduled_article_is_text_until_its_time(client, sample_site):
    target_path = "/learn/mathematics/questions/what-does-it-mean-for-a-matrix-to-be-invertible"
    target = Article.objects.get(subject__slug="mathematics", slug=target_path.rsplit("/", 1)[1])
    Article.objects.filter(pk=target.pk).update(
        publish_at=timezone.now() + datetime.timedelta(days=1)
    )
    related = client.get(CHAIN_RULE).content.decode().split("Related questions", 1)[1]
    assert f'href="{target_path}"' not in related
    assert f'<span class="related__missing">{target.question}</span>' in related
    assert client.get(target_path).status_code == 404

    Article.objects.filter(pk=target.pk).update(
        publish_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    related = client.get(CHAIN_RULE).content.decode().split("Related questions", 1)[1]
    assert f'href="{target_path}"' in related
    assert client.get(target_path).status_code == 200


def test_no_index_article_and_unlisted_subject_are_noindex(client, sample_site):
    no_index = client.get("/learn/education-studies/questions/what-was-the-old-curriculum-draft")
    unlisted = client.get(
        "/learn/others/questions/what-is-the-focus-of-the-world-summit-on-the-information-society-wsis"
    )
    assert '<meta name="robots" content="noindex">' in no_index.content.decode()
    assert '<meta name="robots" content="noindex">' in unlisted.content.decode()
    assert '<meta name="robots" content="noindex">' in client.get("/learn/others").content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/learn/no-such-subject",
        "/learn/mathematics/questions/no-such-question",
        "/learn/no-such/questions/x",
        "/nowhere",
    ],
)
def test_unknown_pages_get_the_sites_404(client, sample_site, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert '<meta name="robots" content="noindex">' in response.content.decode()


@pytest.mark.parametrize(
    "path, location",
    [
        ("/learn/", "/learn"),
        ("/learn/mathematics/", "/learn/mathematics"),
        (CHAIN_RULE + "/", CHAIN_RULE),
        ("/learn/mathematics/?page=2", "/learn/mathematics?page=2"),
    ],
)
def test_trailing_slash_answers_301_to_the_canonical_path(client, path, location):
    response = client.get(path)
    assert response.status_code == 301
    assert response["Location"] == location


def test_drafts_are_not_served(client, sample_site):
    Article.objects.filter(slug="what-is-the-accounting-equation").update(status="draft")
    assert (
        client.get(
            "/learn/accounting-and-finance/questions/what-is-the-accounting-equation"
        ).status_code
        == 404
    )
    assert "accounting equation" not in client.get("/learn/accounting-and-finance").content.decode()


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/learn", 1),
        ("/learn/mathematics", 3),
        # The article, its links, and its suggestions (it has fewer than five links).
        (CHAIN_RULE, 3),
    ],
)
def test_each_page_costs_a_fixed_number_of_queries(client, sample_site, path, expected):
    response, queries = count_queries(client, path)
    assert response.status_code == 200
    assert queries == expected


def test_query_counts_do_not_grow_with_the_subject(client, sample_site):
    _, small = count_queries(client, "/learn/mathematics")
    subject = Subject.objects.get(slug="mathematics")
    template = Article.objects.filter(subject=subject).first()
    for n in range(60):
        template.pk = None
        template.slug = f"more-{n}"
        template.save()
    _, large = count_queries(client, "/learn/mathematics?page=2")
    assert small == large


# --- filtering a subject's questions ---------------------------------------------------


@pytest.fixture
def small_filter_threshold(monkeypatch):
    """Subject pages of three questions or more offer the filter box (100 in production)."""
    monkeypatch.setattr(views, "SUBJECT_FILTER_MIN_QUESTIONS", 3)


FILTER_BOX = '<input id="subject-filter-q" type="search" name="q"'


def test_a_large_subject_offers_a_filter_box_a_small_one_does_not(client, sample_site):
    assert views.SUBJECT_FILTER_MIN_QUESTIONS >= 100
    html = client.get("/learn/mathematics").content.decode()
    assert FILTER_BOX not in html
    # A small subject is searched within on the search page instead.
    assert 'role="search" method="get" action="/search">' in html
    assert '<input type="hidden" name="subject" value="mathematics">' in html


def test_the_filter_box_narrows_the_subjects_list(client, sample_site, small_filter_threshold):
    assert FILTER_BOX in client.get("/learn/mathematics").content.decode()
    response = client.get("/learn/mathematics", {"q": "chain rule"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="chain rule"' in html
    assert "1 question matches “chain rule”" in text_of(response)
    assert f'href="{CHAIN_RULE}"' in html
    assert "invertible" not in html.split("<ol", 1)[1]
    assert '<meta name="robots" content="noindex">' in html
    assert 'href="/search?q=chain+rule&amp;subject=mathematics"' in html


def test_a_filtered_subject_page_is_served_fresh_not_redirected(client, sample_site):
    first = client.get("/learn/mathematics", {"q": "matrix"})
    second = client.get("/learn/mathematics", {"q": "chain"})
    assert first.status_code == second.status_code == 200
    assert "invertible" in first.content.decode().split("<ol", 1)[1]
    assert "invertible" not in second.content.decode().split("<ol", 1)[1]
    assert client.get("/learn/mathematics", {"q": " "})["Location"] == "/learn/mathematics"


def test_a_filter_keeps_the_subjects_own_copies_and_searches_only_it(client, sample_site):
    maths = Subject.objects.get(slug="mathematics")
    original = Article.objects.get(slug=CHAIN_RULE.rsplit("/", 1)[1])
    copy = Article.objects.get(pk=original.pk)
    copy.pk = None
    copy.subject = Subject.objects.get(slug="computer-science")
    copy.canonical = original
    copy.save()
    html = client.get("/learn/computer-science", {"q": "chain rule"}).content.decode()
    assert f'href="/learn/computer-science/questions/{original.slug}"' in html
    assert maths.slug not in html.split('<ol class="question-list"', 1)[1].split("</ol>")[0]


def test_a_filtered_list_paginates_keeping_its_words(client, sample_site):
    maths = Subject.objects.get(slug="mathematics")
    for n in range(25):
        Article.objects.create(
            subject=maths,
            slug=f"zebra-{n:02d}",
            question=f"Zebra question {n}?",
            title=f"Zebra question {n}?",
            answer="Stripes.",
            date=datetime.date(2024, 11, 29),
        )
    first = client.get("/learn/mathematics", {"q": "zebra"})
    assert len(first.context["articles"]) == 20
    assert 'href="?q=zebra&amp;page=2"' in first.content.decode()
    second = client.get("/learn/mathematics", {"q": "zebra", "page": 2})
    assert len(second.context["articles"]) == 5
    assert 'href="?q=zebra"' in second.content.decode()
    assert "{#" not in second.content.decode()


def test_a_filtered_subject_page_costs_a_fixed_number_of_queries(client, sample_site):
    maths = Subject.objects.get(slug="mathematics")

    def add(first, last):
        for n in range(first, last):
            Article.objects.create(
                subject=maths,
                slug=f"chain-{n:02d}",
                question=f"Chain question {n}?",
                title=f"Chain question {n}?",
                answer="Links.",
                date=datetime.date(2024, 11, 29),
            )

    add(0, 3)
    _, few = count_queries(client, "/learn/mathematics?q=chain")
    add(3, 30)
    response, many = count_queries(client, "/learn/mathematics?q=chain")
    assert len(response.context["articles"]) == 20
    assert few == many


# A long answer's table of contents; "Updated on" -------------------------------------

LONG_ANSWER = r"Intro.\n\n### First part\n\nA.\n\n### Second part\n\nB.\n\n### Third part\n\nC."


def test_a_long_answer_gets_its_table_of_contents_from_render_articles(client, write_article):
    path = write_article(slug="a-long-answer", answer=LONG_ANSWER)
    import_paths([path], workers=1)
    # As a renderer without tables of contents stored it.
    Article.objects.filter(slug="a-long-answer").update(
        answer_html='<p>Intro.</p>\n<h2 id="first-part">First part</h2>', renderer_version=5
    )
    call_command("render_articles", workers=1, stdout=StringIO())
    html = client.get("/learn/mathematics/questions/a-long-answer").content.decode()
    answer = html[html.index('id="answer"') :]
    nav = answer[answer.index("<nav") : answer.index("</nav>")]
    assert re.findall(r'<a href="#([^"]+)">', nav) == ["first-part", "second-part", "third-part"]
    assert answer.index("</nav>") < answer.index("<p>Intro.</p>")
    for anchor in ("first-part", "second-part", "third-part"):
        assert f'<h2 id="{anchor}">' in answer


def updated_on(client, path=CHAIN_RULE):
    match = re.search(
        r"Updated on <time datetime=\"([\d-]+)\">([^<]+)</time>", client.get(path).content.decode()
    )
    return match.groups() if match else None


def test_updated_on_shows_when_an_editor_changed_the_answer(client, sample_site):
    assert updated_on(client) is None
    article = Article.objects.get(slug=CHAIN_RULE.rsplit("/", 1)[1])
    article.answer += "\n\nOne more line."
    article.save()
    today = timezone.localdate()
    assert updated_on(client) == (today.isoformat(), today.strftime("%b %d, %Y"))
    assert "Posted on Nov 29, 2024" in text_of(client.get(CHAIN_RULE))


def test_updated_on_is_not_shown_for_a_change_to_other_fields(client, sample_site):
    article = Article.objects.get(slug=CHAIN_RULE.rsplit("/", 1)[1])
    article.seo_title = "Another title"
    article.save()
    assert updated_on(client) is None


def test_updated_on_is_not_shown_for_an_edit_on_the_posting_day(client, sample_site):
    article = Article.objects.get(slug=CHAIN_RULE.rsplit("/", 1)[1])
    article.date = timezone.localdate()
    article.answer += "\n\nOne more line."
    article.save()
    assert updated_on(client) is None


def test_a_reimport_of_identical_content_changes_no_updated_on(client, sample_site):
    report = import_paths([FIXTURES / "learn"], workers=1)
    assert report.unchanged == report.files
    assert updated_on(client) is None
    assert not Article.objects.exclude(answer_edited_at=None).exists()
