"""Bulk actions on the article list (publish, unpublish, set/clear noindex, move to
subject) as ArticleActionsMixin: methods, not action functions, since they log, message
and render through the ModelAdmin they are mixed into. Every change goes through
Article.save(), never update(); this module does not import the ModelAdmin modules.
"""

import copy

import reversion
from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone

from articles.admin.forms import MoveToSubjectForm
from articles.admin.history import record_baseline
from articles.admin.views import move_to_subject_page
from articles.models import Article


class ArticleActionsMixin:
    """The actions named in ArticleAdmin.actions. Goes before the history mixins in the
    bases: its changelist opens no revision around an action."""

    def changelist_view(self, request, extra_context=None):
        # Bulk actions open their own revisions (a baseline first, then the change), which
        # VersionAdmin's one revision around the whole list would swallow.
        context = {"has_change_permission": self.has_change_permission(request)}
        return admin.ModelAdmin.changelist_view(self, request, {**context, **(extra_context or {})})

    # Bulk actions: each article is saved on its own, so history, edited_at and redirects
    # are written as for a change made in the form.

    def _save_each(self, request, queryset, change, fields, label):
        """Apply ``change(article) -> bool`` to each article and save those it changed."""
        now = timezone.now()
        changed = 0
        pks = list(queryset.order_by().values_list("pk", flat=True))
        comment = f"{label} (bulk action on {len(pks)} article{'s' if len(pks) != 1 else ''})."
        for start in range(0, len(pks), 200):
            # Read and save under the rows' locks, so an editor's save cannot fall between
            # (it waits, then is refused: its form holds the version before this one).
            with transaction.atomic():
                batch = Article.objects.filter(pk__in=pks[start : start + 200])
                rows = list(
                    batch.select_related("subject")
                    .select_for_update(of=("self",), no_key=True)
                    .order_by("pk")
                )
                before = {article.pk: copy.copy(article) for article in rows}
                batch = [a for a in rows if change(a)]
                if not batch:
                    continue
                record_baseline([before[article.pk] for article in batch])
                with reversion.create_revision():
                    reversion.set_user(request.user)
                    for article in batch:
                        article.edited_at = now
                        article.save()
                        self.log_change(request, article, [{"changed": {"fields": list(fields)}}])
                    reversion.set_comment(comment)
            changed += len(batch)
        return changed

    def _report(self, request, changed, total, done):
        unchanged = total - changed
        message = f"{changed} article{'s' if changed != 1 else ''} {done}."
        if unchanged:
            message += f" {unchanged} already were."
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(permissions=["publish"], description="Publish now")
    def publish(self, request, queryset):
        def change(article):
            if article.is_published:
                return False
            article.status = Article.Status.PUBLISHED
            if article.review == Article.Review.SUBMITTED:
                article.review = Article.Review.APPROVED
            if not article.is_published:
                article.publish_at = None  # scheduled for later: publish now instead
            return True

        total = queryset.count()
        changed = self._save_each(request, queryset, change, ["Status", "Publish at"], "Published")
        self._report(request, changed, total, "published")

    @admin.action(permissions=["publish"], description="Unpublish (back to draft)")
    def unpublish(self, request, queryset):
        def change(article):
            if article.status == Article.Status.DRAFT:
                return False
            article.status = Article.Status.DRAFT
            return True

        total = queryset.count()
        changed = self._save_each(request, queryset, change, ["Status"], "Unpublished")
        self._report(request, changed, total, "moved back to draft")

    def _set_no_index(self, request, queryset, value):
        def change(article):
            if article.no_index == value:
                return False
            article.no_index = value
            return True

        total = queryset.count()
        label = "Set noindex" if value else "Cleared noindex"
        changed = self._save_each(request, queryset, change, ["noindex"], label)
        self._report(request, changed, total, "set to noindex" if value else "indexable again")

    @admin.action(permissions=["change"], description="Set noindex")
    def set_no_index(self, request, queryset):
        self._set_no_index(request, queryset, True)

    @admin.action(permissions=["change"], description="Clear noindex")
    def clear_no_index(self, request, queryset):
        self._set_no_index(request, queryset, False)

    @admin.action(permissions=["change"], description="Move to another subject…")
    def move_to_subject(self, request, queryset):
        form = MoveToSubjectForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            subject = form.cleaned_data["subject"]
            taken = set(
                Article.objects.filter(
                    subject=subject, slug__in=queryset.values("slug")
                ).values_list("slug", flat=True)
            )
            clashes = []

            def change(article):
                if article.subject_id == subject.pk:
                    return False
                if article.slug in taken:
                    clashes.append(article)
                    return False
                article.subject = subject
                article.subject_name = subject.title
                return True

            total = queryset.count()
            changed = self._save_each(
                request, queryset, change, ["Subject"], f"Moved to {subject.title}"
            )
            self.message_user(
                request,
                f"{changed} article{'s' if changed != 1 else ''} moved to {subject.title}; "
                "their old addresses redirect to the new ones.",
                messages.SUCCESS,
            )
            if clashes:
                self.message_user(
                    request,
                    f"{len(clashes)} not moved: {subject.title} already has an article with "
                    f"the same slug ({', '.join(a.slug for a in clashes[:5])}"
                    f"{', …' if len(clashes) > 5 else ''}).",
                    messages.WARNING,
                )
            if total - changed - len(clashes):
                self.message_user(
                    request, f"{total - changed - len(clashes)} already were there.", messages.INFO
                )
            return None

        return move_to_subject_page(request, self, queryset, form)
