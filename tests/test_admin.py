"""The editors' admin: the change form, preview, drafts, related links, history, moving,
subjects, reports, bulk actions, the Editors group, and what a changelist costs in SQL."""

import importlib
import re
from types import SimpleNamespace

import pytest
from django.apps import apps as global_apps
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection
from django.forms import MultiWidget
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version

from articles.admin.articles import ArticleAdmin
from articles.admin.paginator import EstimatedCountPaginator
from articles.models import Article, RelatedLink, Subject

pytestmark = pytest.mark.django_db

CHAIN_RULE = (
    "/learn/mathematics/questions/how-do-you-differentiate-a-composite-function-with-the-chain-rule"
)
CHANGELIST = "/admin/articles/article/"
PREVIEW = "/admin/articles/article/preview/"


# Helpers -------------------------------------------------------------------------------


@pytest.fixture
def editor(db):
    user = User.objects.create_user("edna", password="pw-for-tests", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def editor_who_publishes(editor):
    # The form's saves of live articles are written at once for those who may publish;
    # anyone else's become drafts for review (tests/test_admin_review.py).
    editor.groups.add(Group.objects.get(name="Publishers"))
    return editor


@pytest.fixture
def editor_client(client, editor_who_publishes):
    client.force_login(editor_who_publishes)
    return client


@pytest.fixture
def publisher_client(client):
    """Publishers publish, unpublish and schedule; editors may not (tests/test_admin_review.py)."""
    user = User.objects.create_user("paula", password="pw-for-tests", is_staff=True)
    user.groups.add(Group.objects.get(name="Publishers"))
    client.force_login(user)
    return client


def article(slug="how-do-you-differentiate-a-composite-function-with-the-chain-rule"):
    return Article.objects.select_related("subject").get(slug=slug)


def change_url(obj):
    return reverse("admin:articles_article_change", args=[obj.pk])


def form_data(response):
    """The POST data a browser would send back for a change form, unchanged."""
    data = {}

    def add(form, name):
        field = form.fields[name]
        key = form.add_prefix(name)
        value = form[name].value()
        if isinstance(field.widget, MultiWidget):
            for index, part in enumerate(field.widget.decompress(value)):
                data[f"{key}_{index}"] = "" if part is None else str(part)
        elif isinstance(value, bool):
            if value:
                data[key] = "on"
        elif value is not None:
            data[key] = value
        if field.show_hidden_initial and value is not None:
            data[form.add_initial_prefix(name)] = value

    form = response.context["adminform"].form
    for name in form.fields:
        add(form, name)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, _field in formset.management_form.fields.items():
            data[formset.management_form.add_prefix(name)] = formset.management_form[name].value()
        for subform in formset.forms:
            for name in subform.fields:
                add(subform, name)
    return data


def post_change(client, obj, **changes):
    url = change_url(obj)
    data = form_data(client.get(url))
    data.update(changes)
    return client.post(url, data)


def links_of(obj):
    return list(
        obj.related_links.order_by("position").values_list("position", "title", "target__slug")
    )


def text_of(response):
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def run_action(client, action, objects, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [o.pk for o in objects], "index": 0, **extra}
    return client.post(CHANGELIST, data)


# Permissions -----------------------------------------------------------------------------


def test_editors_group_holds_exactly_what_editors_need():
    codenames = set(
        Group.objects.get(name="Editors").permissions.values_list(
            "content_type__app_label", "codename"
        )
    )
    assert codenames == {
        ("articles", f"{action}_{model}")
        for model, actions in {
            "article": ("view", "add", "change", "delete"),
            "relatedlink": ("view", "add", "change", "delete"),
            "subject": ("view", "change"),
            "image": ("view", "add", "change", "delete"),
        }.items()
        for action in actions
    } | {("articles", "import_articles")}


def test_editors_group_migration_runs_twice_and_reverses():
    migration = importlib.import_module("articles.migrations.0003_editors_group")
    schema_editor = SimpleNamespace(connection=connection)
    migration.create_editors_group(global_apps, schema_editor)
    migration.create_editors_group(global_apps, schema_editor)
    assert Group.objects.filter(name="Editors").count() == 1
    # Ten of its own, "import_articles" from migration 0008 and four on images from 0011.
    assert Group.objects.get(name="Editors").permissions.count() == 15
    migration.delete_editors_group(global_apps, schema_editor)
    assert not Group.objects.filter(name="Editors").exists()


def test_editor_may_edit_articles_but_not_add_subjects(editor_client, sample_site):
    assert editor_client.get(change_url(article())).status_code == 200
    assert editor_client.get(reverse("admin:articles_subject_changelist")).status_code == 200
    assert editor_client.get(reverse("admin:articles_subject_add")).status_code == 403
    assert editor_client.get(reverse("admin:auth_user_changelist")).status_code == 403


def test_create_editor_command_makes_a_staff_member_of_editors(capsys):
    call_command("create_editor", "sam", "--email", "sam@example.com", "--no-input")
    user = User.objects.get(username="sam")
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["Editors"]
    assert not user.has_usable_password()
    assert "changepassword sam" in capsys.readouterr().out


def test_create_editor_command_promotes_an_existing_user():
    User.objects.create_user("kim", password="pw-for-tests")
    call_command("create_editor", "kim", "--no-input")
    user = User.objects.get(username="kim")
    assert user.is_staff and user.has_usable_password()
    assert user.groups.filter(name="Editors").exists()


# Change form --------------------------------------------------------------------------------


def test_change_form_is_in_content_seo_and_publishing_sections(publisher_client, sample_site):
    html = publisher_client.get(change_url(article())).content.decode()
    headings = re.findall(
        r'<h2 id="fieldset-0-\d+-heading" class="fieldset-heading">([^<]+)</h2>', html
    )
    assert headings == ["Content", "Titles", "SEO", "Publishing", "Source file"]
    content = html[html.index(">Content<") : html.index(">Titles<")]
    for field in ("subject", "question", "slug", "answer"):
        assert f'name="{field}"' in content
    seo = html[html.index(">SEO<") : html.index(">Publishing<")]
    for field in ("seo_title", "seo_description", "seo_keywords", "no_index"):
        assert f'name="{field}"' in seo
    publishing = html[html.index(">Publishing<") : html.index(">Source file<")]
    for field in ("status", "publish_at_0", "date", "date_format", "post_on_text", "author"):
        assert f'name="{field}"' in publishing


def test_slug_is_prepopulated_from_the_question_on_add(editor_client, sample_site):
    html = editor_client.get(reverse("admin:articles_article_add")).content.decode()
    assert '"dependency_ids": ["#id_question"]' in html.replace("&quot;", '"')


def test_seo_description_shows_its_count_and_warns_past_160(editor_client, sample_site):
    obj = article()
    obj.seo_description = "x" * 161
    obj.save()
    html = editor_client.get(change_url(obj)).content.decode()
    counter = re.search(
        r'<p class="char-count([^"]*)" id="id_seo_description_count"[^>]*>(.*?)</p>', html
    )
    assert counter.group(1) == " char-count--over"
    assert "161</span> / 160 characters" in counter.group(2)
    assert "over 160" in counter.group(2)
    assert 'data-count-limit="160"' in html
    assert "/static/js/admin_seo.js" in html


def test_seo_description_under_160_has_no_warning(editor_client, sample_site):
    html = editor_client.get(change_url(article())).content.decode()
    counter = re.search(r'<p class="char-count([^"]*)" id="id_seo_description_count"', html)
    assert counter.group(1) == ""


def test_change_form_loads_its_scripts_from_files_only(editor_client, sample_site):
    html = editor_client.get(change_url(article())).content.decode()
    assert '<script src="/static/js/admin_preview.js"></script>' in html
    inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", html)
    # Django's own admin prints only JSON data blocks (type="application/json").
    assert all('type="application/json"' in tag for tag in inline_scripts)


def test_saving_records_edited_at_and_renders_the_new_answer(editor_client, sample_site):
    before = timezone.now()
    response = post_change(editor_client, article(), answer="Use $f'(g(x))\\,g'(x)$.")
    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    saved = article()
    assert saved.edited_at >= before
    assert "<math" in saved.answer_html and "Use" in saved.answer_html


def test_saving_unchanged_changes_nothing(editor_client, sample_site):
    before = Article.objects.filter(pk=article().pk).values().get()
    assert post_change(editor_client, article()).status_code == 302
    after = Article.objects.filter(pk=article().pk).values().get()
    changed = {key for key in before if before[key] != after[key]}
    # Bookkeeping only (a save is an editor's change: the file's hash is forgotten).
    assert changed <= {"edited_at", "updated", "version", "source_hash"}


def test_browser_line_breaks_are_stored_as_written(editor_client, sample_site):
    post_change(editor_client, article(), answer="One.\r\n\r\nTwo.\r\n")
    assert article().answer == "One.\n\nTwo.\n"


def test_an_answer_nested_past_the_limit_is_a_form_error(editor_client, sample_site):
    deep = "\n".join("  " * level + "- item" for level in range(249))
    before = article().answer
    response = post_change(editor_client, article(), answer=deep)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["answer"]
    assert errors == [
        "The answer nests 249 levels deep (lists, block quotes, brackets); the limit is 16. "
        "Flatten it before saving."
    ]
    assert article().answer == before


def test_an_answer_at_the_nesting_limit_saves(editor_client, sample_site):
    answer = "\n".join("  " * level + "- item" for level in range(16))
    assert post_change(editor_client, article(), answer=answer).status_code == 302
    assert article().answer_html.count("<ul>") == 16


def test_title_defaults_to_the_question(editor_client, sample_site):
    response = post_change(editor_client, article(), title="")
    assert response.status_code == 302
    assert article().title == article().question


# Preview ----------------------------------------------------------------------------------


def test_preview_renders_the_unsaved_answer_like_the_page(editor_client, sample_site):
    response = editor_client.post(PREVIEW, {"answer": "**Bold** and $x^2$ <script>x</script>"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>Bold</strong>" in html
    assert "<math" in html and "<msup>" in html
    assert "<script>" not in html
    assert response["X-Formula-Fallbacks"] == "0"
    assert article().answer not in html  # nothing was saved


def test_change_form_shows_the_preview_pane_beside_the_answer(editor_client, sample_site):
    obj = article()
    html = editor_client.get(change_url(obj)).content.decode()
    pane = html[html.index('id="id_answer_preview"') :]
    assert obj.answer_html[:80] in pane
    assert f'data-preview-url="{PREVIEW}"' in html


def test_preview_is_for_staff_only(client, sample_site):
    assert client.post(PREVIEW, {"answer": "x"}).status_code == 302  # to the login page
    User.objects.create_user("reader", password="pw-for-tests")
    client.login(username="reader", password="pw-for-tests")
    response = client.post(PREVIEW, {"answer": "x"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_preview_needs_article_permissions(client, sample_site):
    staff = User.objects.create_user("helper", password="pw-for-tests", is_staff=True)
    client.force_login(staff)
    assert client.post(PREVIEW, {"answer": "x"}).status_code == 403


def test_preview_is_csrf_protected_and_post_only(sample_site, editor):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(editor)
    assert strict.post(PREVIEW, {"answer": "x"}).status_code == 403
    assert strict.get(PREVIEW).status_code == 405


# Drafts and scheduling ------------------------------------------------------------------------


def test_draft_is_404_for_readers_and_shown_to_staff_with_a_banner(client, editor, sample_site):
    Article.objects.filter(pk=article().pk).update(status="draft")
    assert client.get(CHAIN_RULE).status_code == 404
    client.force_login(editor)
    response = client.get(CHAIN_RULE)
    assert response.status_code == 200
    assert "Draft — not visible to readers." in text_of(response)
    html = response.content.decode()
    assert '<meta name="robots" content="noindex">' in html
    assert "private" in response["Cache-Control"] and "no-cache" in response["Cache-Control"]


def test_scheduled_article_is_404_for_readers_and_marked_for_staff(client, editor, sample_site):
    Article.objects.filter(pk=article().pk).update(
        publish_at=timezone.now() + timezone.timedelta(days=2)
    )
    assert client.get(CHAIN_RULE).status_code == 404
    client.force_login(editor)
    text = text_of(client.get(CHAIN_RULE))
    assert "Scheduled for" in text and "not visible to readers" in text


def test_published_article_has_no_banner_for_staff(client, editor, sample_site):
    client.force_login(editor)
    response = client.get(CHAIN_RULE)
    assert "not visible to readers" not in text_of(response)
    assert 'name="robots"' not in response.content.decode()


def test_readers_page_costs_the_same_queries_as_before(client, sample_site):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(CHAIN_RULE).status_code == 200
    # The article, its related links, its suggested related questions (fewer than five links).
    assert len(queries) == 3


def test_imported_articles_are_published(sample_site):
    assert set(Article.objects.values_list("status", flat=True)) == {"published"}


def test_scheduling_in_the_admin_hides_the_article_until_then(
    client, publisher_client, sample_site
):
    later = timezone.localtime() + timezone.timedelta(days=1)
    response = post_change(
        publisher_client,
        article(),
        publish_at_0=later.strftime("%Y-%m-%d"),
        publish_at_1=later.strftime("%H:%M:%S"),
    )
    assert response.status_code == 302
    assert client.get(CHAIN_RULE).status_code == 200  # publisher_client is logged in: staff
    client.logout()
    assert client.get(CHAIN_RULE).status_code == 404


# Related links inline ------------------------------------------------------------------------


def test_inline_lists_links_in_order_and_marks_missing_targets(editor_client, sample_site):
    html = editor_client.get(change_url(article())).content.decode()
    assert html.count('class="link-missing"') == 1
    assert "Missing: no article at /learn/mathematics/questions/what-is-a-limit-in-calculus" in html
    positions = re.findall(
        r'name="related_links-\d-position"[^>]*>.*?<option value="(\d)" selected', html, re.S
    )
    assert positions == ["1", "2", "3"]


def test_adding_a_link_by_its_target_fills_address_and_title(editor_client, sample_site):
    obj, target = article(), article("how-do-you-expand-a-perfect-square")
    RelatedLink.objects.filter(article=obj, position=3).delete()
    data = form_data(editor_client.get(change_url(obj)))
    total = int(data["related_links-TOTAL_FORMS"])
    data.update(
        {
            "related_links-TOTAL_FORMS": total + 1,
            f"related_links-{total}-target": target.pk,
            f"related_links-{total}-position": "",
            f"related_links-{total}-title": "",
        }
    )
    response = editor_client.post(change_url(obj), data)
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    link = obj.related_links.get(target=target)
    assert (link.position, link.title, link.url) == (
        3,
        target.question,
        "/learn/mathematics/questions/how-do-you-expand-a-perfect-square",
    )


def test_related_links_can_swap_places(editor_client, sample_site):
    obj = article()
    before = links_of(obj)
    response = post_change(
        editor_client, obj, **{"related_links-0-position": "2", "related_links-1-position": "1"}
    )
    assert response.status_code == 302
    after = links_of(obj)
    assert [row[1:] for row in after] == [before[1][1:], before[0][1:], before[2][1:]]


def test_two_links_in_one_place_are_refused(editor_client, sample_site):
    response = post_change(editor_client, article(), **{"related_links-1-position": "1"})
    assert response.status_code == 200
    assert "Please correct the duplicate data for position" in response.content.decode()


def test_at_most_five_related_links(editor_client, sample_site):
    obj = article()
    data = form_data(editor_client.get(change_url(obj)))
    targets = list(Article.objects.exclude(pk=obj.pk)[:3])
    for index, target in enumerate(targets, start=3):
        data.update(
            {f"related_links-{index}-target": target.pk, f"related_links-{index}-position": ""}
        )
    data["related_links-TOTAL_FORMS"] = 6
    response = editor_client.post(change_url(obj), data)
    assert response.status_code == 200
    assert "Please submit at most 5 forms." in response.content.decode()
    assert obj.related_links.count() == 3


def test_an_article_cannot_be_related_to_itself(editor_client, sample_site):
    obj = article()
    response = post_change(editor_client, obj, **{"related_links-0-target": obj.pk})
    assert response.status_code == 200
    assert "An article cannot be related to itself." in response.content.decode()


def test_target_autocomplete_finds_articles_by_question(editor_client, sample_site):
    response = editor_client.get(
        "/admin/autocomplete/",
        {
            "app_label": "articles",
            "model_name": "relatedlink",
            "field_name": "target",
            "term": "perfect square",
        },
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["text"] for r in results] == ["How do you expand a perfect square?"]
    assert "question" in ArticleAdmin.search_fields


# Search ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "chain rule",
        "90001",
        CHAIN_RULE,
        "https://learn.example.com" + CHAIN_RULE,
        "how-do-you-differentiate-a-composite-function-with-the-chain-rule",
    ],
)
def test_changelist_search_finds_by_question_source_id_address_or_slug(
    editor_client, sample_site, term
):
    response = editor_client.get(CHANGELIST, {"q": term})
    assert [a.slug for a in response.context["cl"].result_list] == [article().slug]


# History and revert ----------------------------------------------------------------------


def version_with_answer(obj, answer):
    return next(v for v in Version.objects.get_for_object(obj) if v.field_dict["answer"] == answer)


def test_each_admin_save_is_a_version_with_who_and_what(editor_client, editor, sample_site):
    obj = article()
    post_change(editor_client, obj, answer="First edit.")
    post_change(editor_client, obj, answer="Second edit.", seo_title="New title")
    versions = Version.objects.get_for_object(obj)
    assert versions.count() == 3  # the state before the first change, then each save
    latest = versions.first().revision
    assert latest.user == editor
    assert latest.get_comment() == "Changed Answer and SEO title."
    history = editor_client.get(reverse("admin:articles_article_history", args=[obj.pk]))
    assert "Changed Answer and SEO title." in text_of(history)
    assert "edna" in text_of(history)


def test_first_admin_change_keeps_the_imported_state_to_revert_to(editor_client, sample_site):
    obj = article()
    imported_answer = obj.answer
    post_change(editor_client, obj, answer="Edited.")
    baseline = Version.objects.get_for_object(obj).last()
    assert baseline.field_dict["answer"] == imported_answer
    assert baseline.revision.get_comment() == "As it was before its first change in the admin."


def test_revision_page_shows_what_changed_since(editor_client, sample_site):
    obj = article()
    post_change(editor_client, obj, answer="Old line.\n\nShared line.")
    post_change(editor_client, obj, answer="New line.\n\nShared line.")
    old = version_with_answer(obj, "Old line.\n\nShared line.")
    response = editor_client.get(reverse("admin:articles_article_revision", args=[obj.pk, old.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="diff-then">− Old line.</span>' in html
    assert '<span class="diff-now">+ New line.</span>' in html
    assert article().answer == "New line.\n\nShared line."  # looking is not reverting


def test_revert_restores_the_answer_and_related_links(client, editor_client, sample_site):
    obj = article()
    post_change(editor_client, obj, answer="The original answer.")
    original_links = links_of(obj)
    post_change(editor_client, obj, answer="A mistaken answer.", **{"related_links-0-DELETE": "on"})
    assert "mistaken" in client.get(CHAIN_RULE).content.decode()
    old = version_with_answer(obj, "The original answer.")
    revision_url = reverse("admin:articles_article_revision", args=[obj.pk, old.pk])
    response = editor_client.post(revision_url, form_data(editor_client.get(revision_url)))
    assert response.status_code == 302
    assert article().answer == "The original answer."
    assert links_of(obj) == original_links
    assert "The original answer." in client.get(CHAIN_RULE).content.decode()
    assert (
        Version.objects.get_for_object(obj)
        .first()
        .revision.get_comment()
        .startswith("Reverted to previous version")
    )


def test_deletion_is_recorded_and_can_be_recovered(editor_client, editor, sample_site):
    obj = article("how-do-you-expand-a-perfect-square")
    response = editor_client.post(
        reverse("admin:articles_article_delete", args=[obj.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    deleted = Version.objects.get_deleted(Article).get()
    assert deleted.revision.user == editor and deleted.revision.get_comment() == "Deleted."
    recover_url = reverse("admin:articles_article_recover", args=[deleted.pk])
    response = editor_client.post(recover_url, form_data(editor_client.get(recover_url)))
    assert response.status_code == 302
    assert Article.objects.filter(slug="how-do-you-expand-a-perfect-square").exists()


# Moving -------------------------------------------------------------------------------------


def test_moving_through_the_admin_keeps_the_old_address_answering_301(
    client, editor_client, sample_site
):
    obj = article()
    computing = Subject.objects.get(slug="computer-science")
    response = post_change(editor_client, obj, subject=computing.pk, slug="chain-rule")
    assert response.status_code == 302
    new = "/learn/computer-science/questions/chain-rule"
    old = client.get(CHAIN_RULE)
    assert old.status_code == 301 and old["Location"] == new
    assert client.get(new).status_code == 200


def test_reverting_a_move_keeps_the_moved_address_answering_301(client, editor_client, sample_site):
    obj = article()
    post_change(editor_client, obj, slug="chain-rule")
    moved = "/learn/mathematics/questions/chain-rule"
    before_move = Version.objects.get_for_object(obj).last()  # the baseline, before the move
    assert before_move.field_dict["slug"] == obj.slug
    revision_url = reverse("admin:articles_article_revision", args=[obj.pk, before_move.pk])
    response = editor_client.post(revision_url, form_data(editor_client.get(revision_url)))
    assert response.status_code == 302
    client.logout()
    assert client.get(CHAIN_RULE).status_code == 200
    back = client.get(moved)
    assert back.status_code == 301 and back["Location"] == CHAIN_RULE


def test_reverting_one_article_of_a_bulk_revision_leaves_the_others_alone(
    client, editor_client, sample_site
):
    p = article()
    q = article("how-do-you-expand-a-perfect-square")
    run_action(editor_client, "set_no_index", [p, q])  # one revision holding both
    bulk_version = Version.objects.get_for_object(p).first()
    assert {str(q.pk), str(p.pk)} <= set(
        bulk_version.revision.version_set.values_list("object_id", flat=True)
    )
    # Q changes afterwards: its question, and a related link added.
    post_change(editor_client, q, question="A better question?")
    target = article("what-does-it-mean-for-a-matrix-to-be-invertible")
    RelatedLink.objects.create(
        article=q, position=5, title=target.question, url="/x", target=target
    )
    q_links = links_of(q)

    baseline = Version.objects.get_for_object(p).last()  # before the bulk action
    revision_url = reverse("admin:articles_article_revision", args=[p.pk, baseline.pk])
    assert (
        editor_client.post(revision_url, form_data(editor_client.get(revision_url))).status_code
        == 302
    )

    assert article().no_index is False
    q_now = article("how-do-you-expand-a-perfect-square")
    assert q_now.question == "A better question?" and q_now.no_index is True
    assert links_of(q_now) == q_links


def test_looking_at_a_revert_page_changes_nothing(editor_client, sample_site):
    p = article()
    q = article("how-do-you-expand-a-perfect-square")
    run_action(editor_client, "set_no_index", [p, q])
    baseline = Version.objects.get_for_object(p).last()
    links = links_of(p)
    response = editor_client.get(
        reverse("admin:articles_article_revision", args=[p.pk, baseline.pk])
    )
    assert response.status_code == 200
    assert article().no_index is True and links_of(article()) == links
    assert article("how-do-you-expand-a-perfect-square").no_index is True


# Subjects -------------------------------------------------------------------------------------


def test_subject_list_shows_title_slug_listed_position_and_counts(editor_client, sample_site):
    Article.objects.filter(slug="what-is-the-accounting-equation").update(status="draft")
    response = editor_client.get(reverse("admin:articles_subject_changelist"))
    rows = {
        s.slug: (s.article_count, s.published_count) for s in response.context["cl"].result_list
    }
    assert rows["accounting-and-finance"] == (2, 1)
    assert rows["mathematics"] == (3, 3)
    html = response.content.decode()
    for column in (
        "column-title",
        "column-slug",
        "column-listed",
        "column-position",
        "column-article_count",
    ):
        assert column in html


# Reports --------------------------------------------------------------------------------------


def listed(client, **params):
    response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return sorted(a.slug for a in response.context["cl"].result_list)


def test_report_articles_with_broken_related_links(editor_client, sample_site):
    assert listed(editor_client, related_links="missing") == [
        "how-do-you-differentiate-a-composite-function-with-the-chain-rule",
        "what-is-the-accounting-equation",
    ]


def test_report_articles_linking_to_unpublished_articles(editor_client, sample_site):
    Article.objects.filter(slug="how-do-momentum-based-optimizers-update-weights").update(
        status="draft"
    )
    assert "how-do-you-differentiate-a-composite-function-with-the-chain-rule" in listed(
        editor_client, related_links="hidden"
    )


def test_report_cross_posted_copies(editor_client, sample_site):
    copy = article("how-do-you-expand-a-perfect-square")
    copy.pk, copy.subject = None, Subject.objects.get(slug="others")
    copy.save()
    assert listed(editor_client, cross_posted="yes") == ["how-do-you-expand-a-perfect-square"] * 2


def test_report_articles_without_seo_description(editor_client, sample_site):
    Article.objects.filter(slug="what-is-formative-assessment").update(seo_description="")
    assert listed(editor_client, seo_description="missing") == ["what-is-formative-assessment"]


def test_admin_index_links_the_reports(editor_client, sample_site):
    html = editor_client.get("/admin/").content.decode()
    for query in (
        "related_links=missing",
        "cross_posted=yes",
        "seo_description=missing",
        "visibility=draft",
    ):
        assert f'href="{CHANGELIST}?{query}"' in html


# Bulk actions -------------------------------------------------------------------------------


def test_bulk_set_and_clear_noindex(editor_client, sample_site):
    chosen = list(Article.objects.filter(subject__slug="mathematics"))
    run_action(editor_client, "set_no_index", chosen)
    assert set(
        Article.objects.filter(subject__slug="mathematics").values_list("no_index", flat=True)
    ) == {True}
    latest = Version.objects.get_for_object(chosen[0]).first().revision
    assert latest.get_comment() == "Set noindex (bulk action on 3 articles)."
    assert latest.user.username == "edna"
    run_action(editor_client, "clear_no_index", chosen)
    assert set(
        Article.objects.filter(subject__slug="mathematics").values_list("no_index", flat=True)
    ) == {False}


def test_bulk_unpublish_and_publish_now(client, publisher_client, sample_site):
    obj = article()
    run_action(publisher_client, "unpublish", [obj])
    assert article().status == "draft" and article().edited_at is not None
    Article.objects.filter(pk=obj.pk).update(publish_at=timezone.now() + timezone.timedelta(days=5))
    run_action(publisher_client, "publish", [obj])
    assert article().status == "published" and article().publish_at is None
    assert client.get(CHAIN_RULE).status_code == 200


def test_bulk_move_asks_for_the_subject_first(editor_client, sample_site):
    response = run_action(editor_client, "move_to_subject", [article()])
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="subject"' in html and 'name="apply"' in html
    assert "How do you differentiate a composite function with the chain rule?" in html
    assert article().subject.slug == "mathematics"


def test_bulk_move_saves_each_article_into_the_subject(client, editor_client, sample_site):
    others = Subject.objects.get(slug="others")
    chosen = [article(), article("how-do-you-expand-a-perfect-square")]
    response = run_action(editor_client, "move_to_subject", chosen, subject=others.pk, apply="Move")
    assert response.status_code == 302
    assert {a.subject.slug for a in (article(), article("how-do-you-expand-a-perfect-square"))} == {
        "others"
    }
    assert article().subject_name == "Others"
    old = client.get(CHAIN_RULE)
    assert old.status_code == 301
    assert (
        old["Location"]
        == "/learn/others/questions/how-do-you-differentiate-a-composite-function-with-the-chain-rule"
    )
    assert Version.objects.get_for_object(article()).count() == 2  # before, after


def test_bulk_move_leaves_articles_whose_slug_is_taken_there(editor_client, sample_site):
    obj = article("how-do-you-expand-a-perfect-square")
    clash = article("what-is-formative-assessment")
    clash.slug = obj.slug
    clash.save()
    response = run_action(
        editor_client,
        "move_to_subject",
        [obj],
        subject=Subject.objects.get(slug="education-studies").pk,
        apply="Move",
    )
    assert response.status_code == 302
    assert Article.objects.get(pk=obj.pk).subject.slug == "mathematics"
    notes = [str(m) for m in response.wsgi_request._messages]
    assert any(note.startswith("1 not moved: Education Studies already has") for note in notes)


# Full size: what a changelist costs -----------------------------------------------------------


def add_articles(count):
    template = article()
    for n in range(count):
        template.pk = None
        template.slug = f"extra-{n}"
        template.question = f"Extra question {n}?"
        template.save()


CHANGELIST_VIEWS = [
    {},
    {"q": "chain rule"},
    {"q": "90001"},
    {"visibility": "live"},
    {"visibility": "draft"},
    {"subject__id__exact": "1"},
    {"no_index__exact": "1"},
    {"related_links": "missing"},
    {"related_links": "hidden"},
    {"cross_posted": "yes"},
    {"seo_description": "missing"},
    {"seo_description": "too_long"},
    {"p": "2"},
]


def changelist_queries(client, params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST, params)
    assert response.status_code == 200, params
    return [q["sql"] for q in queries]


@pytest.mark.parametrize(
    "params", CHANGELIST_VIEWS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "all"
)
def test_changelist_never_counts_the_whole_table_nor_uses_distinct(
    editor_client, sample_site, params
):
    add_articles(60)
    for sql in changelist_queries(editor_client, params):
        assert "DISTINCT" not in sql.upper(), sql
        if "COUNT(" in sql.upper():
            # A filtered list is counted up to a cap: COUNT over a LIMITed subquery.
            assert re.search(r"LIMIT \d+\) subquery", sql), sql


@pytest.mark.parametrize("params", CHANGELIST_VIEWS[:3], ids=["all", "search", "source id"])
def test_changelist_costs_a_fixed_number_of_queries(editor_client, sample_site, params):
    small = changelist_queries(editor_client, params)
    add_articles(120)
    large = changelist_queries(editor_client, params)
    assert len(small) == len(large)
    # Session, user, the editor's permissions (2), the count or estimate, the page of
    # articles with their subjects, the subjects for the filter; a search ranks its
    # matches in one more.
    assert len(large) == 7 + ("q" in params)


def test_changelist_reads_only_the_columns_it_shows(admin_client, sample_site):
    page_query = next(
        sql
        for sql in changelist_queries(admin_client, {})
        if 'FROM "articles_article" INNER JOIN' in sql
    )
    assert '"articles_article"."answer_html"' not in page_query
    assert '"articles_article"."answer"' not in page_query


def test_unfiltered_changelist_counts_nothing(admin_client, sample_site):
    queries = changelist_queries(admin_client, {})
    assert not [sql for sql in queries if "COUNT(" in sql.upper()]


def test_changelist_labels_estimated_and_capped_counts(admin_client, sample_site, monkeypatch):
    # The unfiltered list is estimated (table statistics or the highest id), never counted.
    assert re.search(r"\babout [\d,]+ articles", text_of(admin_client.get(CHANGELIST)))
    monkeypatch.setattr(EstimatedCountPaginator, "COUNT_CAP", 5)
    text = text_of(admin_client.get(CHANGELIST, {"visibility": "live"}))
    assert "more than 5 articles" in text
    assert "3 articles" in text_of(
        admin_client.get(CHANGELIST, {"subject__id__exact": article().subject_id})
    )


def test_subject_filter_lists_subjects_from_the_subject_table(admin_client, sample_site):
    queries = changelist_queries(admin_client, {})
    subject_queries = [sql for sql in queries if 'FROM "articles_subject"' in sql]
    assert len(subject_queries) == 1 and "articles_article" not in subject_queries[0]
