"""Pages' heads: titles, descriptions, canonical links, robots, Open Graph, Twitter cards,
JSON-LD (QAPage, BreadcrumbList), rel prev/next and feed links."""

import json
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.canonical import update_canonical
from articles.models import Article, Subject
from articles.plaintext import readable_text

pytestmark = pytest.mark.django_db

SITE = "https://learn.example.com"  # settings.SITE_URL in tests (conftest)
CHAIN_RULE = (
    "/learn/mathematics/questions/how-do-you-differentiate-a-composite-function-with-the-chain-rule"
)
QUESTION = "How do you differentiate a composite function with the chain rule?"


def head(response):
    html = response.content.decode()
    return html[: html.index("</head>")]


def meta(html, attribute, name):
    match = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)">', html)
    return unescape(match[1]) if match else None


def link(html, rel):
    match = re.search(rf'<link rel="{rel}"(?: type="[^"]+" title="[^"]*")? href="([^"]+)">', html)
    return match[1] if match else None


def json_ld(html):
    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.DOTALL)
    assert len(scripts) == 1
    return json.loads(scripts[0])


def copy_of(article, subject_slug):
    """Save a cross-posted copy of ``article`` into another subject; returns it."""
    article.pk = None
    article.subject = Subject.objects.get(slug=subject_slug)
    article.save()
    return article


def test_article_title_holds_question_subject_and_site(client, sample_site):
    html = head(client.get(CHAIN_RULE))
    assert f"<title>{QUESTION} | Mathematics | QuickTakes Learn</title>" in html


def test_article_head_has_description_keywords_and_absolute_canonical(client, sample_site):
    html = head(client.get(CHAIN_RULE))
    assert meta(html, "name", "description") == f"A short answer to: {QUESTION}"
    assert meta(html, "name", "keywords") == "how, do, you, differentiate, a"
    assert link(html, "canonical") == SITE + CHAIN_RULE
    assert 'name="robots"' not in html


def test_article_head_has_open_graph_and_twitter_card(client, sample_site):
    html = head(client.get(CHAIN_RULE))
    assert meta(html, "property", "og:type") == "article"
    assert meta(html, "property", "og:title") == QUESTION
    assert meta(html, "property", "og:url") == SITE + CHAIN_RULE
    assert meta(html, "property", "og:site_name") == "QuickTakes Learn"
    assert meta(html, "property", "og:description") == f"A short answer to: {QUESTION}"
    assert meta(html, "property", "article:published_time") == "2024-11-29"
    assert meta(html, "property", "article:section") == "Mathematics"
    assert meta(html, "name", "twitter:card") == "summary_large_image"
    assert meta(html, "name", "twitter:title") == QUESTION


def test_article_json_ld_is_a_qa_page_with_its_accepted_answer(client, sample_site):
    qa_page, _ = json_ld(head(client.get(CHAIN_RULE)))
    article = Article.objects.get(slug=CHAIN_RULE.rsplit("/", 1)[1])
    assert qa_page["@context"] == "https://schema.org"
    assert qa_page["@type"] == "QAPage"
    question = qa_page["mainEntity"]
    assert question["@type"] == "Question"
    assert question["name"] == QUESTION
    assert question["answerCount"] == 1
    assert question["datePublished"] == "2024-11-29"
    assert question["author"] == {
        "@type": "Organization",
        "name": "QuickTakes",
        "url": SITE + "/learn",
    }
    answer = question["acceptedAnswer"]
    assert answer["@type"] == "Answer"
    assert answer["text"] == readable_text(article.answer_html)
    assert answer["url"] == SITE + CHAIN_RULE + "#answer"


def test_json_ld_answer_is_the_text_readers_see_not_the_source(client, sample_site):
    qa_page, _ = json_ld(head(client.get(CHAIN_RULE)))
    text = qa_page["mainEntity"]["acceptedAnswer"]["text"]
    assert text.startswith("The chain rule says that if y = f(g(x)), then\n")
    assert "y = (3x^2 + 1)^5" in text
    assert "dy/dx = 30x(3x^2 + 1)^4" in text
    assert "u ≠ x" in text
    for source in ("**", "$", "\\frac", "\\neq", "<"):
        assert source not in text


def test_article_json_ld_has_a_breadcrumb_list(client, sample_site):
    _, breadcrumbs = json_ld(head(client.get(CHAIN_RULE)))
    assert breadcrumbs["@type"] == "BreadcrumbList"
    assert [(i["position"], i["name"], i["item"]) for i in breadcrumbs["itemListElement"]] == [
        (1, "Learn", SITE + "/learn"),
        (2, "Mathematics", SITE + "/learn/mathematics"),
        (3, QUESTION, SITE + CHAIN_RULE),
    ]


def test_a_closing_script_tag_in_a_question_stays_inert(client, sample_site):
    article = Article.objects.get(slug="how-do-you-expand-a-perfect-square")
    evil = 'Is </script><script>alert("x")</script> & <!-- safe?'
    article.question = evil
    article.save()
    html = head(client.get(article.get_absolute_url()))
    assert "<script>alert" not in html
    qa_page, _ = json_ld(html)
    assert qa_page["mainEntity"]["name"] == evil


def test_noindex_article_and_unlisted_subject_article_say_noindex(client, sample_site):
    no_index = head(
        client.get("/learn/education-studies/questions/what-was-the-old-curriculum-draft")
    )
    unlisted = head(
        client.get(
            "/learn/others/questions/what-is-the-focus-of-the-world-summit-on-the-information-society-wsis"
        )
    )
    assert '<meta name="robots" content="noindex">' in no_index
    assert '<meta name="robots" content="noindex">' in unlisted


def test_a_cross_posted_copy_names_the_canonical_copy(client, sample_site):
    copy = copy_of(Article.objects.get(slug=CHAIN_RULE.rsplit("/", 1)[1]), "computer-science")
    html = head(client.get(copy.get_absolute_url()))
    assert link(html, "canonical") == SITE + CHAIN_RULE
    assert meta(html, "property", "og:url") == SITE + CHAIN_RULE
    assert 'name="robots"' not in html
    assert link(head(client.get(CHAIN_RULE)), "canonical") == SITE + CHAIN_RULE


def test_a_canonical_link_never_names_a_copy_readers_cannot_see(client, sample_site):
    original = Article.objects.get(slug=CHAIN_RULE.rsplit("/", 1)[1])
    copy = copy_of(Article.objects.get(pk=original.pk), "computer-science")
    # A stale link (a draft made behind the model's back) falls back to the page itself.
    Article.objects.filter(pk=original.pk).update(status="draft")
    html = head(client.get(copy.get_absolute_url()))
    assert link(html, "canonical") == SITE + copy.get_absolute_url()


def test_article_page_costs_the_same_queries_as_a_copy_or_canonical(client, sample_site):
    copy = copy_of(Article.objects.get(slug=CHAIN_RULE.rsplit("/", 1)[1]), "computer-science")
    update_canonical()
    for path in (CHAIN_RULE, copy.get_absolute_url()):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        # The article, its related links and its suggested related questions.
        assert len(queries) == 3, path


def test_subject_page_has_canonical_and_next_on_page_one(client, sample_site):
    add_questions(30)
    html = head(client.get("/learn/mathematics"))
    assert link(html, "canonical") == SITE + "/learn/mathematics"
    assert link(html, "next") == SITE + "/learn/mathematics?page=2"
    assert link(html, "prev") is None


def test_subject_page_two_links_back_to_page_one_without_a_page_number(client, sample_site):
    add_questions(30)
    html = head(client.get("/learn/mathematics?page=2"))
    assert link(html, "canonical") == SITE + "/learn/mathematics?page=2"
    assert link(html, "prev") == SITE + "/learn/mathematics"
    assert link(html, "next") is None
    assert "<title>Mathematics questions (page 2) | QuickTakes Learn</title>" in html


def test_subject_page_json_ld_is_its_breadcrumb_list(client, sample_site):
    html = head(client.get("/learn/mathematics"))
    breadcrumbs = json_ld(html)
    assert [i["name"] for i in breadcrumbs["itemListElement"]] == ["Learn", "Mathematics"]


def test_unlisted_subject_pages_are_noindex(client, sample_site):
    html = head(client.get("/learn/others"))
    assert '<meta name="robots" content="noindex">' in html
    assert link(html, "canonical") == SITE + "/learn/others"


def test_index_has_its_canonical_link_and_description(client, sample_site):
    html = head(client.get("/learn"))
    assert link(html, "canonical") == SITE + "/learn"
    assert meta(html, "name", "description") == "Questions and answers for students, in 4 subjects."
    assert "<title>Learn by subject | QuickTakes Learn</title>" in html


@pytest.mark.parametrize(
    "path, feeds",
    [
        ("/learn", ["/feed.xml"]),
        ("/learn/mathematics", ["/feed.xml", "/learn/mathematics/feed.xml"]),
        (CHAIN_RULE, ["/feed.xml", "/learn/mathematics/feed.xml"]),
        ("/learn/nowhere", ["/feed.xml"]),
    ],
)
def test_pages_link_their_feeds(client, sample_site, path, feeds):
    html = head(client.get(path))
    found = re.findall(
        r'<link rel="alternate" type="application/rss\+xml" title="[^"]+" href="([^"]+)">', html
    )
    assert sorted(found) == sorted(feeds)


def add_questions(count):
    subject = Subject.objects.get(slug="mathematics")
    template = Article.objects.filter(subject=subject).first()
    for n in range(count):
        template.pk = None
        template.slug = f"extra-question-{n:02d}"
        template.source_id = None
        template.save()
