"""Whole-page caching: fixed cost for repeat readers, invalidated by every kind of write."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.importing import import_paths
from articles.models import Article
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db

PAGE = "/learn/accounting-and-finance/questions/what-is-the-accounting-equation"


def get(client, path, **headers):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **headers)
    return response, len(queries)


@pytest.mark.parametrize("path", ["/learn", "/learn/mathematics", PAGE])
def test_a_repeat_visit_costs_no_query(client, sample_site, path):
    first, first_queries = get(client, path)
    again, again_queries = get(client, path)
    assert first_queries > 0
    assert again_queries == 0
    assert again.content == first.content


def test_pages_carry_etag_and_last_modified_and_answer_304(client, sample_site):
    response = client.get(PAGE)
    assert response["ETag"]
    assert response["Last-Modified"].endswith("GMT")
    again, queries = get(client, PAGE, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert queries == 0


def test_saving_an_article_refreshes_its_page(client, sample_site):
    client.get(PAGE)
    article = Article.objects.get(slug="what-is-the-accounting-equation")
    article.answer = "A freshly edited answer."
    article.save()
    assert "A freshly edited answer." in client.get(PAGE).content.decode()


def test_a_bulk_update_refreshes_pages(client, sample_site):
    assert 'content="noindex"' not in client.get(PAGE).content.decode()
    Article.objects.filter(slug="what-is-the-accounting-equation").update(no_index=True)
    assert 'content="noindex"' in client.get(PAGE).content.decode()


def test_deleting_an_article_removes_its_page(client, sample_site):
    client.get(PAGE)
    Article.objects.filter(slug="what-is-the-accounting-equation").delete()
    assert client.get(PAGE).status_code == 404


def test_an_import_refreshes_pages(client, sample_site, tmp_path):
    client.get(PAGE)
    source = FIXTURES / "learn" / "accounting-and-finance" / "what-is-the-accounting-equation.md"
    copy = tmp_path / "what-is-the-accounting-equation.md"
    copy.write_text(
        source.read_text().replace("so every transaction", "so each imported transaction")
    )
    assert import_paths([copy], workers=1).updated == 1
    assert "so each imported transaction" in client.get(PAGE).content.decode()


def test_not_found_pages_are_not_cached(client, sample_site):
    missing = "/learn/mathematics/questions/not-yet"
    assert client.get(missing).status_code == 404
    article = Article.objects.get(slug="how-do-you-expand-a-perfect-square")
    Article.objects.filter(pk=article.pk).update(slug="not-yet")
    assert client.get(missing).status_code == 200


def test_visitors_with_a_session_always_get_a_fresh_page(client, sample_site, admin_user):
    client.force_login(admin_user)
    client.get(PAGE)
    _, queries = get(client, PAGE)
    assert queries > 0


def test_addresses_with_other_query_strings_are_redirected_to_the_canonical_one(
    client, sample_site
):
    response = client.get("/learn?utm_source=x")
    assert (response.status_code, response["Location"]) == (301, "/learn")
    response = client.get("/learn/mathematics?page=1")
    assert (response.status_code, response["Location"]) == (301, "/learn/mathematics")
    client.get("/learn/mathematics")
    _, queries = get(client, "/learn/mathematics")
    assert queries == 0


@pytest.mark.parametrize("path", ["/sitemap.xml", "/sitemap-articles.xml"])
def test_sitemaps_are_cached_for_crawlers(client, sample_site, path):
    first, first_queries = get(client, path)
    again, again_queries = get(client, path)
    assert first.status_code == 200 and first_queries > 0
    assert again_queries == 0
    assert again.content == first.content
