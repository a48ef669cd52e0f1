"""Review before publishing: editors submit an article for review; publishers (the
Publishers group, the ``articles.publish_article`` permission) publish it or ask for
changes on the review page, which lists what waits with what changed since the version last
published from review (or, before that, since the oldest version kept).

Only publishers publish, unpublish and schedule: for everyone else the form shows status
and publish time read-only and a new article is a draft. Every change goes through
Article.save() with the version the page was opened at (a change made meanwhile is
refused, never overwritten). A live article saved by someone who may not publish is not
changed: the save becomes its draft (ArticleDraft), submitted for review, and readers keep
the live version until a publisher publishes the draft. The live article's related links
are changed by publishers only (they are not part of the draft).
"""

import datetime

import reversion
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import localize
from django.utils.timezone import template_localtime
from reversion.models import Version

from articles.admin.history import (
    COMPARED_FIELDS,
    FieldChange,
    _line_diff,
    article_version_changes,
    record_baseline,
    value_as_text,
)
from articles.models import Article, ArticleDraft, StaleVersion

#: The comment of the revision a publisher's decision makes; the review page compares
#: with the newest revision so named.
PUBLISHED_COMMENT = "Published from review"
CHANGES_COMMENT = "Changes asked for in review"
#: Articles listed on one review page (the oldest submissions first).
REVIEW_PAGE_SIZE = 50
#: Fields only publishers change.
PUBLISHING_FIELDS = ("status", "publish_at")
#: What a draft of a live article holds: what the form changes, but when readers get it.
DRAFT_FIELDS = tuple(name for name in COMPARED_FIELDS if name not in PUBLISHING_FIELDS)


def draft_values(article):
    """``article``'s DRAFT_FIELDS as JSON values (dates as ISO text, foreign keys as ids)."""
    values = {}
    for name in DRAFT_FIELDS:
        value = Article._meta.get_field(name).value_from_object(article)
        values[name] = value.isoformat() if isinstance(value, datetime.date) else value
    return values


def apply_draft(article, draft):
    """Put ``draft``'s values on ``article`` (in memory, nothing saved)."""
    for name, value in draft.values.items():
        if name in DRAFT_FIELDS:
            field = Article._meta.get_field(name)
            setattr(article, field.attname, None if value is None else field.to_python(value))


def draft_changes(article, draft):
    """FieldChange for each field where ``draft`` differs from the live ``article``."""
    changes = []
    for name in DRAFT_FIELDS:
        field = Article._meta.get_field(name)
        live = getattr(article, field.attname)
        value = draft.values.get(name)
        drafted = None if value is None else field.to_python(value)
        if drafted == live:
            continue
        diff = _line_diff(live or "", drafted or "") if name == "answer" else ()
        changes.append(
            FieldChange(
                str(field.verbose_name),
                value_as_text(field, live),
                value_as_text(field, drafted),
                diff,
            )
        )
    return changes


def can_publish(user):
    return user.has_perm("articles.publish_article")


def compared_version(article):
    """The version the review compares ``article`` with: the newest one published from
    review, else the oldest one kept (as imported or first published); None for an article
    written in the admin and never published (all of it is new)."""
    versions = Version.objects.get_for_object(article).select_related("revision")
    published = versions.filter(revision__comment=PUBLISHED_COMMENT).first()
    if published is not None:
        return published
    if article.imported_at is None and article.status == Article.Status.DRAFT:
        return None
    return versions.last()


class DecisionForm(forms.Form):
    """A publisher's decision on one submitted article, at the version the page showed."""

    article = forms.IntegerField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[("publish", "Publish"), ("changes", "Ask for changes")])
    note = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="For the editor who submitted it (up to 500 characters).",
    )


def outcome_message(article):
    """What the article's editors are told on its change form, or None."""
    if article.review == Article.Review.SUBMITTED:
        who = article.submitted_by or "an editor"
        return messages.INFO, (
            f"Waiting for review: submitted by {who} on "
            f"{localize(template_localtime(article.submitted_at))}."
        )
    if article.review == Article.Review.APPROVED:
        state = "live" if article.is_published else "scheduled"
        note = f" Note: {article.review_note}" if article.review_note else ""
        return messages.SUCCESS, f"Published from review ({state}).{note}"
    if article.review == Article.Review.CHANGES:
        note = article.review_note or "(no note)"
        return messages.WARNING, f"A publisher asked for changes: {note}"
    return None


class ArticleReviewMixin:
    """The review flow on the article admin: who may publish, the submit button, the
    outcome shown on the change form and the review page (``review/``)."""

    def has_publish_permission(self, request):
        return can_publish(request.user)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if not self.has_publish_permission(request):
            fields = (*fields, *PUBLISHING_FIELDS)
        return fields

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        context = {
            "can_submit_for_review": not self.has_publish_permission(request),
            **(extra_context or {}),
        }
        # The change form shows an article's draft when it has one; the revert and
        # recover pages show the version they are for.
        request._editing_draft = not ({"revert", "recover"} & set(context))
        if request.method == "GET" and object_id and request._editing_draft:
            article = Article.objects.filter(pk=object_id).select_related("submitted_by").first()
            outcome = outcome_message(article) if article is not None else None
            if outcome is not None:
                self.message_user(request, outcome[1], outcome[0])
            draft = ArticleDraft.objects.filter(article_id=object_id).first()
            if draft is not None:
                self.message_user(request, self._draft_notice(request, draft), messages.WARNING)
        return super().changeform_view(request, object_id, form_url, context)

    def _draft_notice(self, request, draft):
        saved = f"saved by {draft.saved_by or 'an editor'} on " + localize(
            template_localtime(draft.saved_at)
        )
        if self.has_publish_permission(request):
            then = "saving publishes it."
        else:
            then = "readers get the live version until a publisher publishes it."
        return f"You are editing the draft of this live article ({saved}): {then}"

    def get_object(self, request, object_id, from_field=None):
        article = super().get_object(request, object_id, from_field)
        if article is not None and getattr(request, "_editing_draft", False):
            draft = ArticleDraft.objects.filter(article=article).first()
            if draft is not None:
                apply_draft(article, draft)
                # The form was opened at the draft's version: a change to the live
                # article since then is reported as any newer change is.
                article.version = article._loaded_version = draft.version
        return article

    def save_as_draft(self, request, article, form, change):
        """Save the form as the live ``article``'s draft instead of changing it, when the
        user may not publish; submitted for review. Returns False (nothing done) for
        anything else. Raises StaleVersion when the article moved on since the form was
        opened (the form then says who changed what)."""
        if not change or self.has_publish_permission(request) or not article.is_published:
            return False
        opened = form.cleaned_data.get("base_version")
        started = opened if opened is not None else article._loaded_version
        now = timezone.now()
        with transaction.atomic():
            stored = (
                Article._base_manager.select_for_update(no_key=True)
                .filter(pk=article.pk)
                .values_list("version", flat=True)
                .first()
            )
            if stored is None or (started is not None and started != stored):
                raise StaleVersion(article, started, stored)
            # The live row keeps its content: only its version (a draft is a change
            # others must not overwrite unknowingly) and its review state move.
            Article._base_manager.filter(pk=article.pk).update(
                version=stored + 1,
                review=Article.Review.SUBMITTED,
                review_note="",
                submitted_by=request.user,
                submitted_at=now,
            )
            ArticleDraft.objects.update_or_create(
                article_id=article.pk,
                defaults={
                    "values": draft_values(article),
                    "version": stored + 1,
                    "saved_by": request.user,
                    "saved_at": now,
                },
            )
        article.version = article._loaded_version = stored + 1
        request._saved_as_draft = True
        return True

    def forget_draft(self, article):
        """After the article's row was saved from a form that showed its draft."""
        ArticleDraft.objects.filter(article_id=article.pk).delete()

    def apply_review_rules(self, request, obj, change):
        """Before a form's save: a new article of a non-publisher is a draft; the submit
        button marks it as waiting for review."""
        if not change and not self.has_publish_permission(request):
            obj.status = Article.Status.DRAFT
        if change and self.has_publish_permission(request) and obj.review == "submitted":
            if ArticleDraft.objects.filter(article_id=obj.pk).exists():
                obj.review = Article.Review.APPROVED  # the draft goes live with this save
        if "_submit_for_review" in request.POST:
            obj.review = Article.Review.SUBMITTED
            obj.review_note = ""
            obj.submitted_by = request.user
            obj.submitted_at = timezone.now()

    def response_change(self, request, obj):
        if getattr(request, "_saved_as_draft", False):
            self.message_user(
                request,
                f"“{obj}” is saved as a draft and submitted for review: readers get the live "
                "version until a publisher publishes it.",
                messages.SUCCESS,
            )
            if "_continue" in request.POST:
                return HttpResponseRedirect(request.path)
            return HttpResponseRedirect(reverse("admin:articles_article_changelist"))
        if "_submit_for_review" in request.POST:
            self.message_user(request, f"“{obj}” is submitted for review.", messages.SUCCESS)
        return super().response_change(request, obj)

    def response_add(self, request, obj, post_url_continue=None):
        if "_submit_for_review" in request.POST:
            self.message_user(request, f"“{obj}” is submitted for review.", messages.SUCCESS)
        return super().response_add(request, obj, post_url_continue)

    def review_view(self, request):
        """The articles waiting for review, oldest submission first, each with what changed
        and (for publishers) a decision form. A POST applies one decision."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_publish_permission(request):
                raise PermissionDenied
            self._decide(request, DecisionForm(request.POST))
            return HttpResponseRedirect(reverse("admin:articles_article_review"))
        waiting = Article.objects.filter(review=Article.Review.SUBMITTED)
        articles = list(
            waiting.select_related("subject", "submitted_by", "draft__saved_by").order_by(
                "submitted_at", "pk"
            )[:REVIEW_PAGE_SIZE]
        )
        rows = []
        for article in articles:
            draft = getattr(article, "draft", None)
            version = None if draft is not None else compared_version(article)
            if draft is not None:
                changes = draft_changes(article, draft)
            else:
                changes = article_version_changes(version, article) if version else []
            rows.append(
                {
                    "article": article,
                    "draft": draft,
                    "stale": draft is not None and draft.version != article.version,
                    "compared": version,
                    "changes": changes,
                    "form": DecisionForm(
                        initial={"article": article.pk, "version": article.version},
                        auto_id=f"id_review_{article.pk}_%s",
                    ),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Waiting for review",
            "opts": self.model._meta,
            "rows": rows,
            "total": waiting.count() if len(articles) == REVIEW_PAGE_SIZE else len(articles),
            "can_publish": self.has_publish_permission(request),
            "media": self.media,
        }
        return TemplateResponse(request, "admin/articles/article/review.html", context)

    def _decide(self, request, form):
        if not form.is_valid():
            self.message_user(request, f"Nothing done: {form.errors.as_text()}", messages.ERROR)
            return
        data = form.cleaned_data
        try:
            with transaction.atomic():
                article = (
                    Article.objects.select_related("subject")
                    .select_for_update(of=("self",), no_key=True)
                    .filter(pk=data["article"])
                    .first()
                )
                if article is None or article.review != Article.Review.SUBMITTED:
                    self.message_user(
                        request, "Nothing done: that article no longer waits.", messages.WARNING
                    )
                    return
                draft = ArticleDraft.objects.select_for_update().filter(article=article).first()
                if draft is not None and data["decision"] == "publish":
                    if draft.version != article.version:
                        self.message_user(
                            request,
                            f"Nothing done: “{article}” changed (version {article.version}) "
                            f"after its draft was saved at version {draft.version}. The "
                            "editor opens the draft and saves it again, over the article as "
                            "it is now.",
                            messages.ERROR,
                        )
                        return
                    record_baseline([article])
                    subject_before = article.subject_id
                    apply_draft(article, draft)
                    if article.subject_id != subject_before:
                        article.subject_name = article.subject.title
                    draft.delete()
                else:
                    record_baseline([article])
                article.base_version = data["version"]
                article.review_note = data["note"]
                if data["decision"] == "publish":
                    article.status = Article.Status.PUBLISHED
                    article.review = Article.Review.APPROVED
                    comment, fields = PUBLISHED_COMMENT, ["Status", "Review"]
                else:
                    article.review = Article.Review.CHANGES
                    comment, fields = CHANGES_COMMENT, ["Review"]
                with reversion.create_revision():
                    reversion.set_user(request.user)
                    reversion.set_comment(comment)
                    article.save()
                self.log_change(request, article, [{"changed": {"fields": fields}}])
        except StaleVersion as stale:
            self.message_user(
                request,
                f"Nothing done: “{stale.article}” was changed (version {stale.stored}) after "
                f"this page showed version {stale.started_from}. Look at it again.",
                messages.ERROR,
            )
            return
        if data["decision"] == "publish":
            when = (
                "live now"
                if article.is_published
                else f"scheduled for {localize(template_localtime(article.publish_at))}"
            )
            self.message_user(request, f"“{article}” is published ({when}).", messages.SUCCESS)
        else:
            self.message_user(request, f"Changes asked for on “{article}”.", messages.SUCCESS)
