"""Public pages: content readers get and the SQL each page costs."""

import datetime
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles.models import Article, Subject

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
        (CHAIN_RULE, 2),
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
