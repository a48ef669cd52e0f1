"""Whole-page caching: fixed cost for repeat readers, invalidated by every kind of write."""

import datetime
import shutil
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLResolver, reverse
from django.utils import timezone

from articles import caching, changes
from articles.caching import invalidate_everything
from articles.importing import import_paths
from articles.models import Article, Redirect, Subject
from tests.conftest import FIXTURES
from tests.test_admin import form_data, post_change, run_action, version_with_answer

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


@pytest.mark.parametrize("path", ["/learn", "/learn/mathematics", PAGE])
def test_a_hit_is_answered_before_sessions_and_resolves_nothing(client, sample_site, path):
    client.get(path)
    with mock.patch.object(URLResolver, "resolve", autospec=True) as resolving:
        again, queries = get(client, path)
    assert again["X-Page-Cache"] == "hit"
    assert queries == 0
    assert resolving.call_count == 0
    assert not hasattr(again.wsgi_request, "session")
    assert not hasattr(again.wsgi_request, "user")


def test_a_hit_carries_the_headers_of_a_miss_and_its_length(client, sample_site):
    first = client.get(PAGE)
    again = client.get(PAGE)
    assert (first["X-Page-Cache"], again["X-Page-Cache"]) == ("miss", "hit")
    assert again["Content-Length"] == first["Content-Length"] == str(len(again.content))
    del first["X-Page-Cache"], again["X-Page-Cache"]
    assert dict(again.items()) == dict(first.items())


def test_pages_carry_etag_and_last_modified_and_answer_304(client, sample_site):
    response = client.get(PAGE)
    assert response["ETag"]
    assert response["Last-Modified"].endswith("GMT")
    again, queries = get(client, PAGE, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert queries == 0


def test_a_hit_answers_every_kind_of_condition(client, sample_site):
    response = client.get(PAGE)
    modified = response["Last-Modified"]
    assert client.get(PAGE, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    assert client.get(PAGE, HTTP_IF_MATCH='"another"').status_code == 412
    assert (
        client.get(PAGE, HTTP_IF_UNMODIFIED_SINCE="Mon, 01 Jan 2001 00:00:00 GMT").status_code
        == 412
    )
    assert client.get(PAGE, HTTP_IF_MATCH=response["ETag"]).status_code == 200


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


# --- Dependencies: a write marks stale exactly the pages that show it -----------------------
#
# Each test warms a page that shows the change and one that does not, writes through one
# path, then checks that the first page shows the change at once and that the other is
# still answered from the cache (the X-Page-Cache header, and no query).

EQUATION = PAGE  # its related links lead to DEPRECIATION
DEPRECIATION = (
    "/learn/accounting-and-finance/questions/how-is-straight-line-depreciation-calculated"
)
SQUARE = "/learn/mathematics/questions/how-do-you-expand-a-perfect-square"
SCAFFOLDING = "/learn/education-studies/questions/how-does-scaffolding-support-learners"


@pytest.fixture
def reader():
    """A reader's browser: never signed in, whatever other clients of the test do."""
    return Client()


def warm(reader, *paths):
    for path in paths:
        assert reader.get(path).status_code == 200
        assert reader.get(path)["X-Page-Cache"] == "hit"


def assert_fresh(reader, path, text):
    response, _ = get(reader, path)
    assert response["X-Page-Cache"] == "miss", f"{path} was served from the cache"
    assert text in response.content.decode()


def assert_still_cached(reader, path):
    response, queries = get(reader, path)
    assert (response["X-Page-Cache"], queries) == ("hit", 0), f"{path} was rebuilt"


def by_path(path):
    *_, subject, _, slug = path.split("/")
    return Article.objects.select_related("subject").get(subject__slug=subject, slug=slug)


def test_a_save_refreshes_its_page_and_leaves_other_articles_cached(reader, sample_site):
    warm(reader, EQUATION, SQUARE)
    article = by_path(EQUATION)
    article.answer = "A freshly edited answer."
    article.save()
    assert_fresh(reader, EQUATION, "A freshly edited answer.")
    assert_still_cached(reader, SQUARE)


def test_a_save_refreshes_its_subjects_list_and_not_other_subjects(reader, sample_site):
    warm(reader, "/learn/accounting-and-finance", "/learn/mathematics", SQUARE)
    article = by_path(EQUATION)
    article.question = "What is the accounting equation, restated?"
    article.save()
    assert_fresh(reader, "/learn/accounting-and-finance", "the accounting equation, restated")
    assert_still_cached(reader, "/learn/mathematics")
    assert_still_cached(reader, SQUARE)


def test_a_save_refreshes_the_pages_whose_related_links_show_its_question(reader, sample_site):
    warm(reader, EQUATION, SQUARE)
    target = by_path(DEPRECIATION)
    target.question = "How is depreciation spread evenly over the years?"
    target.save()
    assert_fresh(reader, EQUATION, "How is depreciation spread evenly over the years?")
    assert_still_cached(reader, SQUARE)


def test_a_save_refreshes_the_canonical_link_of_its_cross_posted_copies(reader, sample_site):
    copy = by_path(SQUARE)
    copy.pk, copy.subject = None, Subject.objects.get(slug="education-studies")
    copy._state.adding = True
    copy.save()
    pair = Article.objects.filter(source_id=copy.source_id).select_related("subject")
    follower = pair.get(canonical__isnull=False)
    chosen = follower.canonical
    warm(reader, follower.get_absolute_url(), SCAFFOLDING, EQUATION)
    assert chosen.get_absolute_url() in reader.get(follower.get_absolute_url()).content.decode()
    chosen.status = Article.Status.DRAFT  # the follower is the copy readers can see now
    chosen.save()
    own_link = f'<link rel="canonical" href="{settings.SITE_URL}{follower.get_absolute_url()}">'
    assert_fresh(reader, follower.get_absolute_url(), own_link)
    assert_still_cached(reader, SCAFFOLDING)
    assert_still_cached(reader, EQUATION)


def test_publishing_changes_refresh_learn_counts_feeds_and_sitemaps(reader, sample_site):
    listing = ["/learn", "/feed.xml", "/sitemap.xml", "/sitemap-articles.xml"]
    warm(reader, *listing, SQUARE, "/learn/mathematics")
    before = {path: reader.get(path).content for path in listing}
    article = by_path(EQUATION)
    article.status = Article.Status.DRAFT
    article.save()
    for path in listing:
        response, _ = get(reader, path)
        assert response["X-Page-Cache"] == "miss"
        # The sitemap index only dates its sections: the newest change may be elsewhere.
        assert response.content != before[path] or path == "/sitemap.xml", path
    assert "what-is-the-accounting-equation" not in reader.get("/feed.xml").content.decode()
    assert_still_cached(reader, SQUARE)
    assert_still_cached(reader, "/learn/mathematics")


def test_search_results_are_never_cached_and_show_a_save(reader, sample_site):
    assert "Amortisation" not in reader.get("/search?q=accounting+equation").content.decode()
    article = by_path(EQUATION)
    article.question = "Amortisation and the accounting equation?"
    article.save()
    assert "Amortisation" in reader.get("/search?q=accounting+equation").content.decode()


def test_a_subjects_title_refreshes_its_pages_only(reader, sample_site):
    warm(reader, SQUARE, "/learn/mathematics", "/learn/mathematics/feed.xml", EQUATION)
    subject = Subject.objects.get(slug="mathematics")
    subject.title = "Maths and Logic"
    subject.save()
    for path in (SQUARE, "/learn/mathematics", "/learn/mathematics/feed.xml", "/learn"):
        assert_fresh(reader, path, "Maths and Logic")
    assert_still_cached(reader, EQUATION)


def test_a_bulk_update_refreshes_the_rows_pages_only(reader, sample_site):
    warm(reader, EQUATION, SQUARE)
    Article.objects.filter(pk=by_path(EQUATION).pk).update(no_index=True)
    assert_fresh(reader, EQUATION, 'content="noindex')
    assert_still_cached(reader, SQUARE)


def test_a_move_leaves_a_redirect_not_a_cached_page(reader, sample_site):
    warm(reader, SQUARE, EQUATION)
    article = by_path(SQUARE)
    article.slug = "squares-expanded"
    article.save()
    response = reader.get(SQUARE)
    assert (response.status_code, response["Location"]) == (
        301,
        "/learn/mathematics/questions/squares-expanded",
    )
    assert_still_cached(reader, EQUATION)


def test_a_redirect_row_replaces_a_cached_page_at_its_old_address(reader, sample_site):
    warm(reader, SQUARE, EQUATION)
    Article.objects.filter(pk=by_path(SQUARE).pk).delete()
    Redirect.objects.create(old_path=SQUARE, new_path=EQUATION)
    assert reader.get(SQUARE).status_code == 301
    assert_still_cached(reader, EQUATION)


def test_an_import_refreshes_the_articles_it_changed_only(reader, sample_site, tmp_path):
    warm(reader, PAGE, SQUARE, "/learn/mathematics")
    source = FIXTURES / "learn" / "accounting-and-finance" / "what-is-the-accounting-equation.md"
    copy = tmp_path / "what-is-the-accounting-equation.md"
    copy.write_text(
        source.read_text().replace("so every transaction", "so each imported transaction")
    )
    assert import_paths([copy], workers=1).updated == 1
    assert_fresh(reader, PAGE, "so each imported transaction")
    assert_still_cached(reader, SQUARE)
    assert_still_cached(reader, "/learn/mathematics")


def test_a_wide_import_marks_every_page_stale_at_once(
    reader, sample_site, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    """A batch of WIDE_CHANGE_ROWS articles or more names no page: one cache write marks
    every page stale (now and at commit), however many articles it holds."""
    monkeypatch.setattr(caching, "WIDE_CHANGE_ROWS", 3)
    warm(reader, PAGE, SQUARE, "/learn")
    written = []
    set_versions = caching._set_versions
    monkeypatch.setattr(caching, "_set_versions", lambda tags: written.append(set(tags)))
    copy = tmp_path / "learn"
    shutil.copytree(FIXTURES / "learn", copy)
    for path in copy.glob("*/*.md"):
        text = path.read_text()
        path.write_text(text.replace("answer: >-\n    ", "answer: >-\n    Imported again. ", 1))
    with django_capture_on_commit_callbacks(execute=True):
        report = import_paths([copy], workers=1)
    assert report.updated >= 3
    # Once when written, once when committed (the test's transaction holds the import's).
    assert written == [{caching.SITE}, {caching.SITE}], written
    monkeypatch.setattr(caching, "_set_versions", set_versions)
    set_versions(written[0])
    assert_fresh(reader, PAGE, "Imported again.")
    assert get(reader, SQUARE)[0]["X-Page-Cache"] == "miss"


def test_a_restore_refreshes_every_page(reader, sample_site):
    warm(reader, PAGE, SQUARE, "/learn")
    invalidate_everything()  # what articles.backups.restore does once the database is back
    for path in (PAGE, SQUARE, "/learn"):
        assert get(reader, path)[0]["X-Page-Cache"] == "miss"


def test_a_scheduled_article_shows_when_its_time_comes(reader, sample_site):
    article = by_path(SQUARE)
    article.publish_at = timezone.now() + datetime.timedelta(hours=1)
    article.save()
    warm(reader, "/learn/mathematics", EQUATION)
    assert "expand a perfect square" not in reader.get("/learn/mathematics").content.decode()
    later = timezone.now() + datetime.timedelta(hours=2)
    with (
        mock.patch("django.utils.timezone.now", return_value=later),
        mock.patch("time.time", return_value=later.timestamp()),
    ):
        assert_fresh(reader, "/learn/mathematics", "expand a perfect square")
        assert_still_cached(reader, EQUATION)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plans")
def test_the_schedule_check_searches_an_index_rather_than_reading_every_article(sample_site):
    # The page cache runs the check on a reader's request once the next scheduled time is
    # due: a scan of the articles table cost a corpus-sized site about 75 ms a check.
    with CaptureQueriesContext(connection) as captured:
        changes.publish_due()
    assert len(captured) == 2
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            cursor.execute("EXPLAIN QUERY PLAN " + query["sql"])
            steps = [row[-1] for row in cursor.fetchall()]
            # Searched by status and time (article_schedule), not every published row
            # through the status index.
            assert any("INDEX article_schedule (status=? AND publish_at" in s for s in steps), steps


# --- The admin's write paths reach the same reactions ---------------------------------------


@pytest.fixture
def editor_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_an_admin_save_refreshes_its_page_only(reader, editor_client, sample_site):
    warm(reader, EQUATION, SQUARE)
    response = post_change(editor_client, by_path(EQUATION), answer="Written in the admin.")
    assert response.status_code == 302
    assert_fresh(reader, EQUATION, "Written in the admin.")
    assert_still_cached(reader, SQUARE)


def test_an_inline_related_link_change_refreshes_its_page_only(reader, editor_client, sample_site):
    warm(reader, EQUATION, DEPRECIATION, SQUARE)
    assert "How is straight-line depreciation calculated?" in reader.get(EQUATION).content.decode()
    post_change(editor_client, by_path(EQUATION), **{"related_links-0-DELETE": "on"})
    response, _ = get(reader, EQUATION)
    assert response["X-Page-Cache"] == "miss"
    assert "How is straight-line depreciation calculated?" not in response.content.decode()
    assert_still_cached(reader, SQUARE)


def test_a_bulk_action_refreshes_the_chosen_articles_pages(reader, editor_client, sample_site):
    warm(reader, EQUATION, SQUARE, SCAFFOLDING)
    run_action(editor_client, "set_no_index", [by_path(EQUATION), by_path(SQUARE)])
    assert_fresh(reader, EQUATION, 'content="noindex')
    assert_fresh(reader, SQUARE, 'content="noindex')
    assert_still_cached(reader, SCAFFOLDING)


def test_a_revert_refreshes_its_page_only(reader, editor_client, sample_site):
    article = by_path(EQUATION)
    post_change(editor_client, article, answer="The original answer.")
    post_change(editor_client, article, answer="A mistaken answer.")
    warm(reader, EQUATION, SQUARE)
    old = version_with_answer(article, "The original answer.")
    url = reverse("admin:articles_article_revision", args=[article.pk, old.pk])
    assert editor_client.post(url, form_data(editor_client.get(url))).status_code == 302
    assert_fresh(reader, EQUATION, "The original answer.")
    assert_still_cached(reader, SQUARE)


# --- Pages built before readers ask ---------------------------------------------------------


def test_a_save_builds_its_page_once_it_commits(
    reader, sample_site, django_capture_on_commit_callbacks
):
    article = by_path(SQUARE)
    article.answer = "Built before anyone asked."
    with django_capture_on_commit_callbacks(execute=True):
        article.save()
    response, queries = get(reader, SQUARE)
    assert (response["X-Page-Cache"], queries) == ("hit", 0)
    assert "Built before anyone asked." in response.content.decode()


def test_prerender_pages_builds_every_page_a_reader_may_land_on(reader, sample_site):
    call_command("prerender_pages", verbosity=0)
    for path in (SQUARE, EQUATION, "/learn/mathematics", "/learn"):
        assert_still_cached(reader, path)


def test_saves_build_a_bounded_number_of_pages(sample_site, monkeypatch):
    built = []
    monkeypatch.setattr(changes.prerender, "build", built.append)
    monkeypatch.setattr(changes._prebuilt, "moments", [], raising=False)
    for _ in range(changes.PREBUILD_LIMIT + 5):
        changes._prebuild(SQUARE)
    assert len(built) == changes.PREBUILD_LIMIT
