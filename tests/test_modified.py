"""An article's modified time (articles.modified): its file's date until its text changes,
as the page head, the sitemap and the feed tell search engines."""

import datetime
import json
import re
from html import unescape
from xml.etree import ElementTree

import pytest
from django.utils import timezone

from articles.feeds import LatestArticlesFeed
from articles.importing import import_paths
from articles.models import Article

pytestmark = pytest.mark.django_db

NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
ADDRESS = "/learn/mathematics/questions/a-question"
MAY_4 = datetime.datetime(2023, 5, 4, tzinfo=datetime.UTC)


def head_times(client, path=ADDRESS):
    """(JSON-LD dateModified, og article:modified_time) of the page at ``path``."""
    html = client.get(path).content.decode()
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html)[1])
    og = re.search(r'<meta property="article:modified_time" content="([^"]*)">', html)
    return data[0]["mainEntity"]["dateModified"], unescape(og[1])


def sitemap_lastmods(client):
    """``{url: lastmod}`` of the article sitemap."""
    root = ElementTree.fromstring(client.get("/sitemap-articles.xml").content)
    return {
        url.findtext("sm:loc", namespaces=NS): url.findtext("sm:lastmod", namespaces=NS)
        for url in root.iterfind("sm:url", NS)
    }


def imported(path):
    report = import_paths([path], workers=1)
    assert not report.errors, report.errors
    return Article.objects.get(slug="a-question")


def test_an_imported_article_is_modified_on_its_files_date(client, write_article):
    article = imported(write_article(date="2023-05-04"))
    assert article.modified_at == MAY_4
    assert head_times(client) == (MAY_4.isoformat(), MAY_4.isoformat())
    assert sitemap_lastmods(client) == {"https://learn.example.com" + ADDRESS: "2023-05-04"}


def test_articles_of_different_files_have_different_modified_times(client, write_article):
    for n, day in enumerate(("2022-01-10", "2023-06-20", "2024-11-29")):
        write_article(slug=f"question-{n}", date=day)
    folder = write_article(slug="question-3", date="2021-03-03").parent
    assert not import_paths([folder], workers=1).errors
    assert sorted(sitemap_lastmods(client).values()) == [
        "2021-03-03",
        "2022-01-10",
        "2023-06-20",
        "2024-11-29",
    ]


def test_an_editors_change_of_the_answer_is_the_modified_time(client, write_article):
    article = imported(write_article(date="2023-05-04"))
    article.answer += " One more line."
    article.save()
    article.refresh_from_db()
    assert article.content_changed_at == article.edited_at
    assert article.modified_at == article.edited_at
    assert head_times(client) == (article.edited_at.isoformat(),) * 2
    today = timezone.now().date().isoformat()
    assert sitemap_lastmods(client)["https://learn.example.com" + ADDRESS] == today


def test_an_editors_change_of_the_question_is_the_modified_time(write_article):
    article = imported(write_article(date="2023-05-04"))
    article.question = "A better question?"
    article.save()
    assert Article.objects.get(pk=article.pk).modified_at == article.edited_at


def test_an_editors_change_to_other_fields_keeps_the_modified_time(write_article):
    article = imported(write_article(date="2023-05-04"))
    article.seo_title = "Another title"
    article.no_index = True
    article.save()
    article.save()  # and saving it again, unchanged
    assert Article.objects.get(pk=article.pk).modified_at == MAY_4


def test_reimporting_an_identical_file_keeps_the_modified_time(client, write_article):
    path = write_article(date="2023-05-04")
    imported(path)
    report = import_paths([path], workers=1)
    assert report.unchanged == 1
    article = Article.objects.get(slug="a-question")
    assert article.content_changed_at is None
    assert article.modified_at == MAY_4
    assert head_times(client)[0] == MAY_4.isoformat()


def test_reimporting_a_changed_file_with_a_new_date_takes_that_date(write_article):
    imported(write_article(date="2023-05-04"))
    article = imported(write_article(date="2024-02-01", answer="A new answer."))
    assert article.answer == "A new answer."
    assert article.modified_at == datetime.datetime(2024, 2, 1, tzinfo=datetime.UTC)


def test_reimporting_a_changed_text_under_the_same_date_takes_the_import_time(write_article):
    imported(write_article(date="2023-05-04"))
    before = timezone.now()
    article = imported(write_article(date="2023-05-04", answer="A new answer."))
    assert before <= article.modified_at == article.imported_at


def test_reimporting_a_file_changed_outside_its_text_keeps_the_modified_time(write_article):
    imported(write_article(date="2023-05-04"))
    article = imported(write_article(date="2023-05-04", score="0.5"))
    assert article.score == 0.5
    assert article.modified_at == MAY_4


def test_the_feeds_updated_date_is_the_modified_time(write_article):
    article = imported(write_article(date="2023-05-04"))
    assert LatestArticlesFeed().item_updateddate(article) == MAY_4
