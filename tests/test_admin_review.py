"""Review before publishing: the Publishers group, what editors may no longer do (publish,
unpublish, schedule), submitting for review, the review page with its diff, and the
publisher's decision as the submitter sees it."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps as global_apps
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles.importing import import_paths
from articles.models import Article, ArticleDraft, Subject
from tests.conftest import FIXTURES
from tests.test_admin import form_data

pytestmark = pytest.mark.django_db

ADD = reverse("admin:articles_article_add")
REVIEW = reverse("admin:articles_article_review")
CHANGELIST = reverse("admin:articles_article_changelist")


def member(name, group):
    user = User.objects.create_user(name, password="pw-for-tests", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def editor():
    return member("edna", "Editors")


@pytest.fixture
def publisher():
    return member("paula", "Publishers")


def client_for(client, user):
    client.force_login(user)
    return client


def change_url(article):
    return reverse("admin:articles_article_change", args=[article.pk])


def submit_new_article(client, question="What is a derivative?"):
    subject = Subject.objects.get(slug="mathematics")
    data = form_data(client.get(ADD, {"_changelist_filters": f"subject__id__exact={subject.pk}"}))
    data.update(question=question, answer="The rate of change.", _submit_for_review="1")
    response = client.post(ADD, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    return Article.objects.get(question=question)


def decide(client, article, decision, note=""):
    return client.post(
        REVIEW,
        {"article": article.pk, "version": article.version, "decision": decision, "note": note},
    )


# The group and its permissions ---------------------------------------------------------------


def test_publishers_hold_what_editors_hold_and_may_publish():
    editors = set(Group.objects.get(name="Editors").permissions.values_list("codename", flat=True))
    publishers = set(
        Group.objects.get(name="Publishers").permissions.values_list("codename", flat=True)
    )
    assert publishers - editors == {"publish_article"}
    assert editors <= publishers


def test_publishers_group_migration_runs_twice_and_reverses():
    migration = importlib.import_module("articles.migrations.0009_review_and_publishers")
    editor = SimpleNamespace(connection=connection)
    migration.create_publishers_group(global_apps, editor)
    assert Group.objects.filter(name="Publishers").count() == 1
    migration.delete_publishers_group(global_apps, editor)
    assert not Group.objects.filter(name="Publishers").exists()
    migration.create_publishers_group(global_apps, editor)
    assert Permission.objects.filter(group__name="Publishers", codename="publish_article")


# What editors may do ------------------------------------------------------------------------


def test_an_editors_new_article_is_a_draft_whatever_is_posted(client, editor, sample_site):
    client_for(client, editor)
    subject = Subject.objects.get(slug="mathematics")
    data = form_data(client.get(ADD))
    data.update(
        subject=subject.pk, question="Sneaky?", answer="x", status="published", publish_at_0=""
    )
    assert client.post(ADD, data).status_code == 302
    assert Article.objects.get(question="Sneaky?").status == Article.Status.DRAFT


def test_an_editor_sees_status_and_publish_time_read_only(client, editor, sample_site):
    client_for(client, editor)
    article = Article.objects.first()
    html = client.get(change_url(article)).content.decode()
    assert 'name="status"' not in html and 'name="publish_at_0"' not in html
    assert 'name="_submit_for_review"' in html
    data = form_data(client.get(change_url(article)))
    data["status"] = "draft"
    assert client.post(change_url(article), data).status_code == 302
    assert Article.objects.get(pk=article.pk).status == Article.Status.PUBLISHED


def test_an_editor_cannot_publish_or_unpublish_in_bulk(client, editor, sample_site):
    client_for(client, editor)
    article = Article.objects.first()
    actions = client.get(CHANGELIST).context["action_form"].fields["action"].choices
    assert {"publish", "unpublish"}.isdisjoint(name for name, _ in actions)
    client.post(CHANGELIST, {"action": "unpublish", ACTION_CHECKBOX_NAME: [article.pk], "index": 0})
    assert Article.objects.get(pk=article.pk).status == Article.Status.PUBLISHED


def test_a_publisher_sets_status_and_has_no_submit_button(client, publisher, sample_site):
    client_for(client, publisher)
    article = Article.objects.first()
    html = client.get(change_url(article)).content.decode()
    assert 'name="status"' in html and 'name="_submit_for_review"' not in html
    data = form_data(client.get(change_url(article)))
    data["status"] = "draft"
    assert client.post(change_url(article), data).status_code == 302
    assert Article.objects.get(pk=article.pk).status == Article.Status.DRAFT


def test_an_editor_may_not_decide(client, editor, sample_site):
    client_for(client, editor)
    article = submit_new_article(client)
    assert decide(client, article, "publish").status_code == 403
    assert Article.objects.get(pk=article.pk).status == Article.Status.DRAFT


# Submitting, the review page and the decision ------------------------------------------------


def test_submitting_marks_the_article_as_waiting(client, editor, sample_site):
    client_for(client, editor)
    article = submit_new_article(client)
    assert article.review == Article.Review.SUBMITTED
    assert article.submitted_by == editor and article.submitted_at is not None
    assert article.status == Article.Status.DRAFT
    assert CHANGELIST_HAS(client, {"review": "submitted"}) == [article.pk]


def CHANGELIST_HAS(client, params):
    return [a.pk for a in client.get(CHANGELIST, params).context["cl"].result_list]


def test_review_page_lists_what_waits_with_what_changed(client, editor, sample_site):
    client_for(client, editor)
    article = Article.objects.get(
        slug="how-do-you-differentiate-a-composite-function-with-the-chain-rule"
    )
    data = form_data(client.get(change_url(article)))
    data.update(answer="A rewritten answer about the chain rule.", _submit_for_review="1")
    assert client.post(change_url(article), data).status_code == 302
    new = submit_new_article(client)

    html = client.get(REVIEW).content.decode()
    assert "2 articles waiting" in html
    item = html[html.index(f'id="review-{article.pk}"') : html.index(f'id="review-{new.pk}"')]
    assert "+ A rewritten answer about the chain rule." in item
    assert "− " in item  # the answer as it was
    assert "A new article" in html[html.index(f'id="review-{new.pk}"') :]
    assert "Ask for changes" not in html  # editors read; publishers decide


def test_a_publisher_publishes_and_the_submitter_sees_it(client, editor, publisher, sample_site):
    client_for(client, editor)
    article = submit_new_article(client)
    client_for(client, publisher)
    response = decide(client, article, "publish", note="Good, thanks.")
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.status == Article.Status.PUBLISHED and article.is_published
    assert article.review == Article.Review.APPROVED
    assert client.get(article.get_absolute_url()).status_code == 200
    assert "Nothing waits for review" in client.get(REVIEW).content.decode()

    client_for(client, editor)
    page = client.get(change_url(article))
    notes = [str(m) for m in page.context["messages"]]
    assert any("Published from review (live). Note: Good, thanks." in n for n in notes)


def test_a_publisher_asks_for_changes_and_the_submitter_reads_the_note(
    client, editor, publisher, sample_site
):
    client_for(client, editor)
    article = submit_new_article(client)
    client_for(client, publisher)
    decide(client, article, "changes", note="Add an example.")
    article.refresh_from_db()
    assert article.review == Article.Review.CHANGES
    assert article.status == Article.Status.DRAFT
    client_for(client, editor)
    notes = [str(m) for m in client.get(change_url(article)).context["messages"]]
    assert any("asked for changes: Add an example." in n for n in notes)


def test_a_decision_on_a_version_changed_since_is_refused(client, editor, publisher, sample_site):
    client_for(client, editor)
    article = submit_new_article(client)
    opened_at = Article.objects.get(pk=article.pk)  # what the publisher's page showed
    changed = Article.objects.get(pk=article.pk)
    changed.answer = "Changed after the review page was opened."
    changed.save()
    client_for(client, publisher)
    response = decide(client, opened_at, "publish")
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT and article.review == Article.Review.SUBMITTED
    notes = [str(m) for m in response.wsgi_request._messages]
    assert any("was changed" in n and "Look at it again" in n for n in notes)


def test_review_page_costs_a_bounded_number_of_queries(client, editor, sample_site):
    client_for(client, editor)
    submit_new_article(client, "One?")
    with CaptureQueriesContext(connection) as few:
        client.get(REVIEW)
    for n in range(4):
        submit_new_article(client, f"More {n}?")
    with CaptureQueriesContext(connection) as more:
        client.get(REVIEW)
    # A fixed cost per article listed (its versions and links), and at most
    # REVIEW_PAGE_SIZE of them.
    per_article = (len(more) - len(few)) / 4
    assert per_article == int(per_article) and per_article <= 6


def test_create_editor_makes_a_publisher_on_request(capsys):
    call_command("create_editor", "pat", "--publisher", "--no-input")
    user = User.objects.get(username="pat")
    assert sorted(user.groups.values_list("name", flat=True)) == ["Editors", "Publishers"]
    assert user.has_perm("articles.publish_article") and not user.is_superuser
    assert "in the Editors and Publishers groups" in capsys.readouterr().out


def test_an_editors_add_form_shows_the_new_article_as_a_draft(client, editor, sample_site):
    client_for(client, editor)
    html = client.get(ADD).content.decode()
    status = html[html.index("field-status") : html.index("field-publish_at")]
    assert "Draft" in status and "Published" not in status


# Drafts of live articles ------------------------------------------------------------------

CHAIN_RULE = "how-do-you-differentiate-a-composite-function-with-the-chain-rule"


def edit_live(client, answer, **extra):
    article = Article.objects.get(slug=CHAIN_RULE)
    data = form_data(client.get(change_url(article)))
    data.update(answer=answer, **extra)
    return client.post(change_url(article), data)


def test_an_editors_save_of_a_live_article_is_a_draft_readers_do_not_see(
    client, editor, sample_site
):
    live = Article.objects.get(slug=CHAIN_RULE)
    client_for(client, editor)
    response = edit_live(client, "A draft answer.")
    assert response.status_code == 302
    stored = Article.objects.get(pk=live.pk)
    assert (stored.answer, stored.answer_html) == (live.answer, live.answer_html)
    assert stored.version == live.version + 1 and stored.review == Article.Review.SUBMITTED
    assert stored.draft.values["answer"] == "A draft answer."
    client.logout()
    page = client.get(live.get_absolute_url()).content.decode()
    assert "A draft answer." not in page and "chain rule" in page


def test_the_form_shows_the_draft_and_saving_again_updates_it(client, editor, sample_site):
    client_for(client, editor)
    edit_live(client, "A draft answer.")
    article = Article.objects.get(slug=CHAIN_RULE)
    page = client.get(change_url(article))
    assert page.context["adminform"].form["answer"].value() == "A draft answer."
    assert any("editing the draft" in str(m) for m in page.context["messages"])
    assert edit_live(client, "A better draft.").status_code == 302
    assert Article.objects.get(pk=article.pk).draft.values["answer"] == "A better draft."


def test_a_draft_over_a_newer_change_is_refused_with_the_form_kept(client, editor, sample_site):
    client_for(client, editor)
    article = Article.objects.get(slug=CHAIN_RULE)
    opened = form_data(client.get(change_url(article)))  # version N
    assert edit_live(client, "Someone else's draft.").status_code == 302  # N -> N+1
    opened["answer"] = "My draft, from the older form."
    refused = client.post(change_url(article), opened)
    assert refused.status_code == 200
    refusal = str(refused.context["adminform"].form.non_field_errors())
    assert "nothing was saved" in refusal and "edna (a draft for review) changed" in refusal
    assert Article.objects.get(pk=article.pk).draft.values["answer"] == "Someone else's draft."


def test_publishing_a_draft_puts_it_live(client, editor, publisher, sample_site):
    client_for(client, editor)
    edit_live(client, "The reviewed answer.")
    article = Article.objects.get(slug=CHAIN_RULE)
    client_for(client, publisher)
    review = client.get(REVIEW).content.decode()
    assert "What the draft changes on the live article" in review
    assert "+ The reviewed answer." in review
    assert decide(client, article, "publish").status_code == 302
    stored = Article.objects.get(pk=article.pk)
    assert stored.answer == "The reviewed answer." and "reviewed answer" in stored.answer_html
    assert stored.review == Article.Review.APPROVED and stored.is_published
    assert not ArticleDraft.objects.exists()
    client.logout()
    assert "The reviewed answer." in client.get(article.get_absolute_url()).content.decode()


def test_a_stale_draft_is_not_published(client, editor, publisher, sample_site):
    client_for(client, editor)
    edit_live(client, "A draft over the old answer.")
    article = Article.objects.get(slug=CHAIN_RULE)
    # A publisher (or an import) changes the live article meanwhile.
    live = Article.objects.get(pk=article.pk)
    live.seo_description = "Changed live."
    live.save()
    client_for(client, publisher)
    assert "The live article changed after this draft" in client.get(REVIEW).content.decode()
    response = decide(client, Article.objects.get(pk=article.pk), "publish")
    stored = Article.objects.get(pk=article.pk)
    assert stored.answer != "A draft over the old answer." and stored.draft
    notes = [str(m) for m in response.wsgi_request._messages]
    assert any("saves it again" in n for n in notes)


def test_a_publishers_save_of_a_drafted_article_publishes_the_draft(
    client, editor, publisher, sample_site
):
    client_for(client, editor)
    edit_live(client, "Drafted by the editor.")
    client_for(client, publisher)
    assert edit_live(client, "Drafted by the editor, then polished.").status_code == 302
    stored = Article.objects.get(slug=CHAIN_RULE)
    assert stored.answer == "Drafted by the editor, then polished."
    assert stored.review == Article.Review.APPROVED
    assert not ArticleDraft.objects.exists()


def test_a_live_articles_related_links_are_read_only_for_editors(client, editor, sample_site):
    client_for(client, editor)
    article = Article.objects.get(slug=CHAIN_RULE)
    inline = client.get(change_url(article)).context["inline_admin_formsets"][0]
    assert not inline.has_change_permission and not inline.has_add_permission


def test_an_import_over_a_drafted_article_leaves_the_draft_to_save_again(
    client, editor, publisher, sample_site, tmp_path
):
    client_for(client, editor)
    edit_live(client, "A draft made before the import.")
    source = FIXTURES / "learn" / "mathematics" / f"{CHAIN_RULE}.md"
    copy = tmp_path / "mathematics" / source.name
    copy.parent.mkdir()
    copy.write_text(source.read_text().replace("chain rule", "chain rule (imported)", 1))
    report = import_paths([tmp_path])
    assert report.updated == 1 and not report.conflicts, report  # live was not edited
    article = Article.objects.get(slug=CHAIN_RULE)
    assert article.draft.version != article.version  # the draft is stale now

    client_for(client, publisher)
    decide(client, article, "publish")
    assert Article.objects.get(pk=article.pk).answer != "A draft made before the import."
    # The editor saves the draft again, told of the import, and it can be published.
    client_for(client, editor)
    refused = edit_live(client, "A draft made before the import.")
    assert "an import changed" in str(refused.context["adminform"].form.non_field_errors())
    again = form_data(refused)
    assert client.post(change_url(article), again).status_code == 302
    client_for(client, publisher)
    decide(client, Article.objects.get(pk=article.pk), "publish")
    assert Article.objects.get(pk=article.pk).answer == "A draft made before the import."


def test_an_editor_cannot_add_a_link_to_a_live_article_on_the_links_page(
    client, editor, sample_site
):
    client_for(client, editor)
    live = Article.objects.get(slug=CHAIN_RULE)
    target = Article.objects.exclude(pk=live.pk).first()
    url = reverse("admin:articles_relatedlink_add")
    response = client.post(url, {"article": live.pk, "position": 5, "target": target.pk})
    assert response.status_code == 200
    assert "is live: its related links are changed by publishers" in response.content.decode()
    link = live.related_links.first()
    page = client.get(reverse("admin:articles_relatedlink_change", args=[link.pk]))
    assert 'name="title"' not in page.content.decode()  # read-only
