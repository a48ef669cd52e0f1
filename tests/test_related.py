"""Suggested related questions (articles.related): computed at import and on save, stored,
shown on the page up to five related questions, pinned from the admin's inline; and the
report of articles whose related links all lead nowhere."""

import datetime
import multiprocessing
import re

import pytest
from django.contrib.auth.models import Group, User
from django.db import OperationalError, connection
from django.db.models import Q
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from articles import related
from articles.importing import import_paths
from articles.models import Article, RelatedLink, RelatedSuggestion
from tests.test_caching import assert_fresh, assert_still_cached, warm

pytestmark = pytest.mark.django_db

#: slug -> (question, keywords). Four questions about photosynthesis, two that will be
#: hidden, one about accounting.
QUESTIONS = {
    "light-to-chemical": (
        "How does photosynthesis work in a chloroplast?",
        "photosynthesis, chloroplast, light reactions, glucose",
    ),
    "light-reactions": (
        "What happens in the light reactions of photosynthesis?",
        "light reactions, thylakoid, chloroplast, photosynthesis",
    ),
    "chlorophyll": (
        "Why does a chloroplast need chlorophyll for photosynthesis?",
        "chlorophyll, chloroplast, pigment, photosynthesis",
    ),
    "calvin-cycle": (
        "How is glucose made in the Calvin cycle of photosynthesis?",
        "calvin cycle, glucose, photosynthesis, chloroplast",
    ),
    "draft-rate": (
        "What limits the rate of photosynthesis in a chloroplast?",
        "photosynthesis, chloroplast, light, glucose",
    ),
    "scheduled-leaf": (
        "How do leaf chloroplasts capture light for photosynthesis?",
        "photosynthesis, chloroplast, light reactions, leaf",
    ),
    "accounting-equation": (
        "What is the accounting equation?",
        "assets, liabilities, equity, balance sheet",
    ),
}
PAGE = "/learn/biology/questions/light-to-chemical"
COPY_PAGE = "/learn/chemistry/questions/light-to-chemical"


def write_site(write_article):
    """The articles of QUESTIONS in biology, a cross-posted copy of the first in chemistry;
    the first links to the accounting question and to an address where nothing stands."""
    for number, (slug, (question, keywords)) in enumerate(QUESTIONS.items(), start=1):
        fields = {}
        if slug == "light-to-chemical":
            fields = {
                "related_article1": {
                    "id": 7,
                    "title": "What is the accounting equation?",
                    "subject": "Biology",
                    "url": "/learn/biology/questions/accounting-equation",
                },
                "related_article2": {
                    "id": 99,
                    "title": "A question that was never published",
                    "subject": "Biology",
                    "url": "/learn/biology/questions/never-published",
                },
            }
        path = write_article(
            slug=slug,
            subject="biology",
            subject_name="Biology",
            id=number,
            title=question,
            article_title=question,
            question=question,
            seo={"page_keywords": keywords},
            **fields,
        )
    question, keywords = QUESTIONS["light-to-chemical"]
    write_article(
        slug="light-to-chemical",
        subject="chemistry",
        subject_name="Chemistry",
        id=1,
        title=question,
        article_title=question,
        question=question,
        seo={"page_keywords": keywords},
    )
    return path.parent.parent


@pytest.fixture
def site(write_article):
    """The site imported, with "draft-rate" a draft and "scheduled-leaf" scheduled for
    tomorrow before suggestions are computed again."""
    report = import_paths([write_site(write_article)], workers=1)
    assert not report.errors, report.errors
    Article.objects.filter(slug="draft-rate").update(status=Article.Status.DRAFT)
    Article.objects.filter(slug="scheduled-leaf").update(
        publish_at=timezone.now() + datetime.timedelta(days=1)
    )
    related.compute_all()
    return report


def by_slug(slug, subject="biology"):
    return Article.objects.select_related("subject").get(slug=slug, subject__slug=subject)


def suggested_slugs(article):
    return [
        s.suggested.slug
        for s in RelatedSuggestion.objects.filter(article=article).select_related("suggested")
    ]


def related_items(client, path):
    html = client.get(path).content.decode()
    aside = html[html.index('id="related-heading"') : html.index("</aside>")]
    return re.findall(r"<li>(.*?)</li>", aside, re.S)


def test_the_import_stores_suggestions_of_similar_questions(site):
    article = by_slug("light-to-chemical")
    suggested = suggested_slugs(article)
    assert set(suggested) == {"light-reactions", "chlorophyll", "calvin-cycle"}
    scores = list(RelatedSuggestion.objects.filter(article=article).values_list("score", flat=True))
    assert scores == sorted(scores, reverse=True)
    assert all(0 < score <= 1 for score in scores)
    assert "accounting-equation" not in suggested


def test_the_page_fills_related_questions_up_to_five(client, site):
    items = related_items(client, PAGE)
    assert len(items) == 5
    # The file's link that leads somewhere first, then the suggestions, best first.
    assert 'href="/learn/biology/questions/accounting-equation"' in items[0]
    suggested = [re.search(r'href="([^"]+)"', item)[1] for item in items[1:4]]
    assert suggested == [
        f"/learn/biology/questions/{slug}" for slug in suggested_slugs(by_slug("light-to-chemical"))
    ]
    # Room was left: the dangling link's title, as text.
    assert items[4] == '<span class="related__missing">A question that was never published</span>'


def test_a_page_with_five_links_readers_can_follow_shows_no_suggestion(client, site):
    article = by_slug("light-to-chemical")
    others = Article.objects.exclude(pk=article.pk).exclude(
        slug__in=["draft-rate", "scheduled-leaf"]
    )
    RelatedLink.objects.filter(article=article).delete()
    for position, target in enumerate(others.order_by("pk")[:5], start=1):
        RelatedLink.objects.create(
            article=article, position=position, title=target.question, url="/x", target=target
        )
    with CaptureQueriesContext(connection) as queries:
        items = related_items(client, PAGE)
    assert len(items) == 5
    assert not any("related__missing" in item for item in items)
    assert not any("suggested" in query["sql"] for query in queries.captured_queries)


def test_never_the_article_itself_or_one_of_its_copies(client, site):
    article, copy = by_slug("light-to-chemical"), by_slug("light-to-chemical", "chemistry")
    assert copy.canonical_id == article.pk or article.canonical_id == copy.pk
    for one in (article, copy):
        assert not {"light-to-chemical"} & set(suggested_slugs(one))
    for path in (PAGE, COPY_PAGE):
        assert not any("light-to-chemical" in item for item in related_items(client, path))
    # The copies are one article: the other questions suggest it once, as its canonical copy.
    suggested_for_others = RelatedSuggestion.objects.filter(suggested__slug="light-to-chemical")
    assert set(suggested_for_others.values_list("suggested__canonical", flat=True)) == {None}


def test_hidden_articles_are_never_suggested(client, site):
    for article in Article.objects.all():
        assert not {"draft-rate", "scheduled-leaf"} & set(suggested_slugs(article))
    # Hidden after the suggestions were computed: the page leaves it out all the same.
    Article.objects.filter(slug="chlorophyll").update(status=Article.Status.DRAFT)
    assert "chlorophyll" in suggested_slugs(by_slug("light-to-chemical"))
    assert not any("chlorophyll" in item for item in related_items(client, PAGE))


def test_a_scheduled_article_is_suggested_once_its_time_has_come(site):
    Article.objects.filter(slug="scheduled-leaf").update(
        publish_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    related.compute_all()
    assert "scheduled-leaf" in suggested_slugs(by_slug("light-to-chemical"))


def test_suggestions_are_recomputed_when_an_article_changes(site):
    article = by_slug("accounting-equation")
    assert not {"light-reactions", "chlorophyll", "calvin-cycle"} & set(suggested_slugs(article))
    article.question = "Where does the glucose of photosynthesis come from in a chloroplast?"
    article.seo_keywords = "glucose, photosynthesis, calvin cycle"
    article.save()
    assert "calvin-cycle" in suggested_slugs(article)


def test_a_save_computes_what_the_import_computes(site):
    stored = {article.pk: suggested_slugs(article) for article in Article.objects.order_by("pk")}
    RelatedSuggestion.objects.all().delete()
    related.compute_for(stored)
    assert {pk: suggested_slugs(Article(pk=pk)) for pk in stored} == stored


def test_suggestions_unchanged_are_not_written_again(site):
    before = list(RelatedSuggestion.objects.order_by("pk").values_list("pk", flat=True))
    report = related.compute_all()
    assert report.changed == 0
    assert list(RelatedSuggestion.objects.order_by("pk").values_list("pk", flat=True)) == before


def test_workers_ranking_slices_of_the_articles_find_what_one_process_finds(site, monkeypatch):
    """A large site's ranking runs in forked workers, a slice of articles each (here
    slices of two, so that this small site takes that path too)."""
    expected = {article.pk: suggested_slugs(article) for article in Article.objects.all()}
    RelatedSuggestion.objects.all().delete()
    pools = []
    get_context = multiprocessing.get_context

    def recorded(method):
        pools.append(method)
        return get_context(method)

    monkeypatch.setattr(related, "RANK_SLICE", 2)
    monkeypatch.setattr("articles.workers.os.cpu_count", lambda: 2)
    monkeypatch.setattr("articles.workers.multiprocessing.get_context", recorded)
    report = related.compute_all()
    assert pools == ["fork"]  # ranked in worker processes
    assert report.changed > 0
    assert {pk: suggested_slugs(Article(pk=pk)) for pk in expected} == expected


class Deadlock(Exception):
    sqlstate = "40P01"


def test_suggestions_ended_by_a_deadlock_are_written_again(site, monkeypatch):
    """PostgreSQL ends one of two transactions that wait for each other; the import's
    write of every suggestion, when it is that one, is tried again (nothing of it stayed)."""
    RelatedSuggestion.objects.all().delete()
    store = related._store
    attempts = []

    def store_once_ended(alias, found):
        attempts.append(len(found))
        if len(attempts) == 1:
            raise OperationalError("deadlock detected") from Deadlock()
        return store(alias, found)

    monkeypatch.setattr(related, "_store", store_once_ended)
    monkeypatch.setattr(related, "DEADLOCK_PAUSE", 0)
    report = related.compute_all()
    assert len(attempts) == 2 and report.changed > 0
    assert set(suggested_slugs(by_slug("light-to-chemical"))) == {
        "light-reactions",
        "chlorophyll",
        "calvin-cycle",
    }


def test_other_database_errors_are_not_tried_again(site, monkeypatch):
    attempts = []

    def store_failing(alias, found):
        attempts.append(1)
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(related, "_store", store_failing)
    with pytest.raises(OperationalError):
        related.compute_all()
    assert len(attempts) == 1


def test_a_reimport_of_unchanged_files_leaves_suggestions_alone(write_article, site):
    before = list(RelatedSuggestion.objects.order_by("pk").values_list("pk", flat=True))
    report = import_paths([write_site(write_article)], workers=1)
    assert report.suggestions_changed == 0
    assert list(RelatedSuggestion.objects.order_by("pk").values_list("pk", flat=True)) == before


# The admin -------------------------------------------------------------------------------


@pytest.fixture
def editor_client(client, db):
    """An editor who may publish: the related links of a published article are changed
    by publishers only (test_an_editor_who_may_not_publish_cannot_pin_on_a_live_article)."""
    user = User.objects.create_user("edna", password="pw-for-tests", is_staff=True)
    user.groups.add(Group.objects.get(name="Publishers"))
    client.force_login(user)
    return client


def change_form_data(client, article):
    """What the change form posts back unchanged (articles' fields and the inline)."""
    response = client.get(reverse("admin:articles_article_change", args=[article.pk]))
    assert response.status_code == 200
    data = {}
    adminform = response.context["adminform"]
    for name, field in adminform.form.fields.items():
        value = adminform.form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None and not field.disabled:
            if name == "publish_at":
                continue
            data[name] = value
    for formset in response.context["inline_admin_formsets"]:
        formset = formset.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for form in formset.forms:
            for name in form.fields:
                value = form[name].value()
                if value is not None:
                    data[form.add_prefix(name)] = value
    data.update(
        {
            "date": str(article.date),
            "publish_at_0": "",
            "publish_at_1": "",
        }
    )
    return response, data


def test_the_inline_lists_suggestions_with_a_pin_button(editor_client, site):
    article = by_slug("light-to-chemical")
    response, _ = change_form_data(editor_client, article)
    html = response.content.decode()
    section = html[html.index('id="related-suggestions"') :]
    for slug in suggested_slugs(article):
        pk = Article.objects.get(slug=slug).pk
        assert f'name="pin_suggestion" value="{pk}"' in section


def test_pinning_a_suggestion_makes_it_a_related_link(editor_client, site):
    article = by_slug("light-to-chemical")
    target = by_slug(suggested_slugs(article)[0])
    _, data = change_form_data(editor_client, article)
    response = editor_client.post(
        reverse("admin:articles_article_change", args=[article.pk]),
        {**data, "pin_suggestion": target.pk},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert response["Location"].endswith(f"/{article.pk}/change/")
    link = RelatedLink.objects.get(article=article, target=target)
    assert link.position == 3  # after the file's two links
    assert link.title == target.question
    assert link.url == target.get_absolute_url()
    assert by_slug("light-to-chemical").version == article.version + 1


def test_pinning_over_a_newer_version_is_refused_and_nothing_is_saved(editor_client, site):
    article = by_slug("light-to-chemical")
    target = by_slug(suggested_slugs(article)[0])
    _, data = change_form_data(editor_client, article)
    # Someone else saves in between.
    other = by_slug("light-to-chemical")
    other.seo_title = "Changed meanwhile"
    other.save()
    response = editor_client.post(
        reverse("admin:articles_article_change", args=[article.pk]),
        {**data, "pin_suggestion": target.pk},
    )
    assert response.status_code == 200
    assert "since you opened it" in response.content.decode()
    assert not RelatedLink.objects.filter(article=article, target=target).exists()
    assert by_slug("light-to-chemical").seo_title == "Changed meanwhile"


def test_an_editor_who_may_not_publish_cannot_pin_on_a_live_article(client, site):
    user = User.objects.create_user("ed", password="pw-for-tests", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    article = by_slug("light-to-chemical")
    target = by_slug(suggested_slugs(article)[0])
    page, data = change_form_data(client, article)
    assert 'name="pin_suggestion"' not in page.content.decode()
    response = client.post(
        reverse("admin:articles_article_change", args=[article.pk]),
        {**data, "pin_suggestion": target.pk},
    )
    assert response.status_code == 200
    assert "Only publishers change the related links" in response.content.decode()
    assert not RelatedLink.objects.filter(article=article, target=target).exists()


def test_pinning_with_no_free_place_takes_the_place_of_a_dangling_link(editor_client, site):
    article = by_slug("light-to-chemical")
    targets = [by_slug(slug) for slug in ("draft-rate", "scheduled-leaf", "accounting-equation")]
    for position, target in enumerate(targets[:2], start=3):
        RelatedLink.objects.create(
            article=article,
            position=position,
            title=target.question,
            url=target.get_absolute_url(),
            target=target,
        )
    # Links 1 (accounting, live), 2 (dangling), 3 and 4 (hidden); one free place.
    RelatedLink.objects.create(
        article=article, position=5, title="Gone", url="/learn/biology/questions/gone"
    )
    pin = by_slug(suggested_slugs(article)[0])
    _, data = change_form_data(editor_client, article)
    response = editor_client.post(
        reverse("admin:articles_article_change", args=[article.pk]),
        {**data, "pin_suggestion": pin.pk},
    )
    assert response.status_code == 302
    assert RelatedLink.objects.get(article=article, position=2).target == pin
    assert RelatedLink.objects.filter(article=article).count() == 5


# The report ------------------------------------------------------------------------------


def test_report_articles_whose_links_all_lead_nowhere(editor_client, site):
    article = by_slug("calvin-cycle")
    RelatedLink.objects.create(
        article=article, position=1, title="Gone", url="/learn/biology/questions/gone"
    )
    RelatedLink.objects.create(
        article=article, position=2, title="Gone too", url="/learn/biology/questions/gone-too"
    )
    response = editor_client.get(
        reverse("admin:articles_article_changelist"), {"related_links": "all_missing"}
    )
    assert response.status_code == 200
    listed = [a.slug for a in response.context["cl"].result_list]
    # light-to-chemical has a dangling link too, but also one that leads somewhere.
    assert listed == ["calvin-cycle"]


def test_a_copy_made_after_the_suggestions_is_left_out_of_the_page(client, site):
    article = by_slug("light-to-chemical")
    first = suggested_slugs(article)[0]
    # A move file later says the first suggestion is a copy of the article.
    Article.objects.filter(slug=first).update(canonical=article)
    assert not any(f"/questions/{first}" in item for item in related_items(client, PAGE))


# The page cache ---------------------------------------------------------------------------


@pytest.fixture
def reader():
    return Client()


def shown_suggestion():
    """A stored suggestion that its article's page shows (the page has room for it)."""
    suggestions = RelatedSuggestion.objects.select_related(
        "article__subject", "suggested__subject"
    ).filter(article__status=Article.Status.PUBLISHED)
    for suggestion in suggestions:
        page = Client().get(suggestion.article.get_absolute_url()).content.decode()
        if escape(suggestion.suggested.question) in page:
            return suggestion
    raise AssertionError("no page shows a suggested related question")


def unrelated_page(*articles):
    """The address of a published article no page of ``articles`` shows or is shown by."""
    pks = [article.pk for article in articles]
    others = (
        Article.objects.published()
        .exclude(pk__in=pks)
        .exclude(Q(related_links__target__in=pks) | Q(suggestions__suggested__in=pks))
    )
    return others.select_related("subject").order_by("pk").first().get_absolute_url()


def test_a_save_refreshes_the_pages_whose_suggested_related_questions_show_it(reader, site):
    suggestion = shown_suggestion()
    page, shown = suggestion.article.get_absolute_url(), suggestion.suggested
    other = unrelated_page(suggestion.article, shown)
    warm(reader, page, other)
    shown.question = "A suggested question, restated?"
    shown.save()
    assert_fresh(reader, page, "A suggested question, restated?")
    assert_still_cached(reader, other)


def test_suggestions_computed_again_refresh_the_pages_that_show_them(reader, site):

    suggestion = shown_suggestion()
    article = suggestion.article
    other = unrelated_page(article, suggestion.suggested)
    RelatedSuggestion.objects.filter(article=article).delete()
    warm(reader, article.get_absolute_url(), other)
    assert related.compute_for([article.pk]).changed == 1
    assert_fresh(reader, article.get_absolute_url(), suggestion.suggested.question)
    assert_still_cached(reader, other)
