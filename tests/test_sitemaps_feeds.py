"""Sitemaps, robots.txt, RSS feeds and the check_seo command."""

import datetime
from io import StringIO
from xml.etree import ElementTree

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles import sitemaps
from articles.models import Article, Subject
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db

SITE = "https://learn.example.com"
NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
CHAIN_RULE = (
    "/learn/mathematics/questions/how-do-you-differentiate-a-composite-function-with-the-chain-rule"
)


def locs(response):
    assert response.status_code == 200
    return [e.text for e in ElementTree.fromstring(response.content).iterfind(".//sm:loc", NS)]


def lastmods(response):
    return [e.text for e in ElementTree.fromstring(response.content).iterfind(".//sm:lastmod", NS)]


def add_copies(count, subject="mathematics", **fields):
    template = Article.objects.get(slug="how-do-you-expand-a-perfect-square")
    template.subject = Subject.objects.get(slug=subject)
    for n in range(count):
        template.pk = None
        template.slug = f"extra-{subject}-{n:03d}"
        template.source_id = None
        for name, value in fields.items():
            setattr(template, name, value)
        template.save()


# --- sitemaps ---------------------------------------------------------------------------


def test_sitemap_index_names_both_sections_on_the_site_url(client, sample_site):
    response = client.get("/sitemap.xml", HTTP_HOST="localhost")
    assert response["Content-Type"] == "application/xml"
    assert locs(response) == [SITE + "/sitemap-subjects.xml", SITE + "/sitemap-articles.xml"]
    assert len(lastmods(response)) == 2


def test_subject_sitemap_lists_listed_subjects_in_order(client, sample_site):
    assert locs(client.get("/sitemap-subjects.xml")) == [
        SITE + "/learn/mathematics",
        SITE + "/learn/computer-science",
        SITE + "/learn/accounting-and-finance",
        SITE + "/learn/education-studies",
    ]


def test_article_sitemap_lists_only_canonical_indexable_articles(client, sample_site):
    original = Article.objects.get(slug="how-do-you-expand-a-perfect-square")
    copy = Article.objects.get(pk=original.pk)
    copy.pk = None
    copy.subject = Subject.objects.get(slug="computer-science")
    copy.save()  # a cross-posted copy: same source id and slug
    Article.objects.filter(slug="what-is-the-accounting-equation").update(status="draft")
    urls = locs(client.get("/sitemap-articles.xml"))
    assert SITE + original.get_absolute_url() in urls
    assert SITE + copy.get_absolute_url() not in urls
    assert not any("what-was-the-old-curriculum-draft" in u for u in urls)  # noindex
    assert not any("/learn/others/" in u for u in urls)  # unlisted subject
    assert not any("what-is-the-accounting-equation" in u for u in urls)  # draft
    assert len(urls) == 12 - 3
    assert len(lastmods(client.get("/sitemap-articles.xml"))) == len(urls)


def test_sections_split_into_pages_named_in_the_index(client, sample_site, monkeypatch):
    monkeypatch.setattr(sitemaps.ArticleSitemap, "limit", 4)
    index = locs(client.get("/sitemap.xml"))
    assert index[1:] == [
        SITE + "/sitemap-articles.xml",
        SITE + "/sitemap-articles.xml?p=2",
        SITE + "/sitemap-articles.xml?p=3",
    ]
    pages = [locs(client.get(url.removeprefix(SITE))) for url in index[1:]]
    assert [len(page) for page in pages] == [4, 4, 2]
    assert client.get("/sitemap-articles.xml?p=1")["Location"] == "/sitemap-articles.xml"


def test_a_section_holds_at_most_fifty_thousand_urls():
    assert sitemaps.ArticleSitemap.limit == sitemaps.SubjectSitemap.limit == 50_000


@pytest.mark.parametrize(
    "path",
    [
        "/sitemap-articles.xml?p=99",
        "/sitemap-articles.xml?p=0",
        "/sitemap-articles.xml?p=-1",
        "/sitemap-articles.xml?p=abc",
        "/sitemap-articles.xml?p=1.5",
        "/sitemap-articles.xml?p=99999999999999999999999",
        "/sitemap-nothing.xml",
        "/sitemap-.xml",
    ],
)
def test_bad_sitemap_pages_and_sections_answer_404(client, sample_site, path):
    assert client.get(path).status_code == 404


def test_sitemap_queries_do_not_grow_with_the_articles(client, sample_site):
    with CaptureQueriesContext(connection) as small:
        client.get("/sitemap-articles.xml")
    add_copies(30)
    with CaptureQueriesContext(connection) as large:
        assert len(locs(client.get("/sitemap-articles.xml"))) == 10 + 30
    assert len(small) == len(large)
    with CaptureQueriesContext(connection) as index:
        client.get("/sitemap.xml")
    assert len(index) == 4


def test_lastmod_is_the_files_date_until_an_editor_changes_the_text(client, sample_site):
    Article.objects.filter(slug="how-do-you-expand-a-perfect-square").update(
        date=datetime.date(2023, 1, 2)
    )
    Article.objects.exclude(subject__slug="mathematics").update(date=datetime.date(2022, 5, 6))
    index = [day[:10] for day in lastmods(client.get("/sitemap.xml"))]
    assert set(lastmods(client.get("/sitemap-articles.xml"))) == {
        "2024-11-29",
        "2023-01-02",
        "2022-05-06",
    }
    subjects = dict(
        zip(
            locs(client.get("/sitemap-subjects.xml")),
            lastmods(client.get("/sitemap-subjects.xml")),
            strict=True,
        )
    )
    assert subjects[SITE + "/learn/mathematics"] == "2024-11-29"
    assert subjects[SITE + "/learn/computer-science"] == "2022-05-06"
    assert index == ["2024-11-29", "2024-11-29"]

    article = Article.objects.get(slug="how-do-you-expand-a-perfect-square")
    article.answer += " One more line."
    article.save()
    today = article.edited_at.date().isoformat()
    articles = dict(
        zip(
            locs(client.get("/sitemap-articles.xml")),
            lastmods(client.get("/sitemap-articles.xml")),
            strict=True,
        )
    )
    assert articles[SITE + article.get_absolute_url()] == today
    assert [day[:10] for day in lastmods(client.get("/sitemap.xml"))] == [today, today]


# --- robots.txt ---------------------------------------------------------------------------


def test_robots_txt_names_the_sitemap_and_keeps_crawlers_out_of_admin(client):
    response = client.get("/robots.txt")
    assert response["Content-Type"] == "text/plain"
    lines = response.content.decode().splitlines()
    assert "User-agent: *" in lines
    assert "Disallow: /admin" in lines
    assert f"Sitemap: {SITE}/sitemap.xml" in lines


# --- feeds ----------------------------------------------------------------------------------


def items(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    channel = ElementTree.fromstring(response.content).find("channel")
    return [{child.tag: child.text for child in item} for item in channel.iterfind("item")]


def test_site_feed_lists_canonical_indexable_articles_newest_first(client, sample_site):
    feed = items(client.get("/feed.xml"))
    assert len(feed) == 10
    links = [item["link"] for item in feed]
    assert all(link.startswith(SITE + "/learn/") for link in links)
    assert not any("/learn/others/" in link for link in links)
    article = Article.objects.get(slug=CHAIN_RULE.rsplit("/", 1)[1])
    item = next(i for i in feed if i["link"] == SITE + CHAIN_RULE)
    assert item["title"] == article.question
    assert item["guid"] == SITE + CHAIN_RULE
    assert item["description"] == article.answer_html
    assert item["category"] == "Mathematics"


def test_site_feed_holds_the_fifty_newest(client, sample_site):
    add_copies(60)
    newest = Article.objects.get(slug="extra-mathematics-000")
    newest.date = newest.date.replace(year=2030)
    newest.save()
    feed = items(client.get("/feed.xml"))
    assert len(feed) == 50
    assert feed[0]["link"] == SITE + newest.get_absolute_url()


def test_subject_feed_lists_the_subjects_articles(client, sample_site):
    feed = items(client.get("/learn/mathematics/feed.xml"))
    assert len(feed) == 3
    assert all(item["link"].startswith(SITE + "/learn/mathematics/questions/") for item in feed)


def test_unlisted_subjects_still_have_a_feed(client, sample_site):
    assert len(items(client.get("/learn/others/feed.xml"))) == 1


def test_unknown_subject_feed_answers_404(client, sample_site):
    assert client.get("/learn/no-such-subject/feed.xml").status_code == 404


def test_feeds_stay_valid_xml_whatever_the_text(client, sample_site):
    article = Article.objects.get(slug="how-do-you-expand-a-perfect-square")
    article.question = "Tab\tbell\x07 vertical\x0b <b>&amp; ]]> \ufffe emoji 🧮?"
    article.answer = "Form\x0cfeed & <script>x</script>"
    article.save()
    for path in ("/feed.xml", "/learn/mathematics/feed.xml"):
        feed = items(client.get(path))  # parses, or raises
        titles = [item["title"] for item in feed]
        assert "Tab\tbell vertical <b>&amp; ]]>  emoji 🧮?" in titles


def test_feed_queries_are_fixed(client, sample_site):
    with CaptureQueriesContext(connection) as small:
        client.get("/learn/mathematics/feed.xml")
    add_copies(20)
    with CaptureQueriesContext(connection) as large:
        client.get("/learn/mathematics/feed.xml")
    assert len(small) == len(large)


# --- check_seo ------------------------------------------------------------------------------


def test_check_seo_passes_on_the_sample_site_and_reports_figures(sample_site):
    call_command("import_redirects", str(FIXTURES / "moved-questions.json"), stdout=StringIO())
    out = StringIO()
    call_command("check_seo", stdout=out)
    text = out.getvalue()
    assert (
        "Sitemap: 10 article URLs (10 distinct); canonical indexable articles of listed subjects: 10"
        in text
    )
    assert "Sample: 14 sitemap URLs fetched, 14 answered 200" in text
    assert "of the 3 others, 3 answered 301 to a page answering 200 in one hop" in text
    assert text.rstrip().endswith("All checks passed.")


def test_check_seo_fails_when_a_canonical_link_is_broken(sample_site):
    original = Article.objects.get(slug="how-do-you-expand-a-perfect-square")
    copy = Article.objects.get(pk=original.pk)
    copy.pk = None
    copy.subject = Subject.objects.get(slug="computer-science")
    copy.save()
    # Behind the model's back: the copy names a page that is itself not canonical.
    Article.objects.filter(pk=original.pk).update(canonical=copy)
    with pytest.raises(CommandError, match="checks failed"):
        call_command("check_seo", stdout=StringIO(), stderr=StringIO())
