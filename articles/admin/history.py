"""History and revert: a baseline version before an editor's first change, deletions kept
for recovery, and the "what changed" summary shown on an article's revert page.

Writes only django-reversion's versions, and on a revert the redirect Article.save()
misses; the article itself is changed by django-reversion and the change form, not here.
"""
import difflib
from dataclasses import dataclass

import reversion
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db import transaction
from reversion.models import Version

from articles import redirects
from articles.models import Article, RelatedLink


def record_baseline(objects):
    """Give objects that have no history yet a first version: the state they are in now.

    Called before an editor's first change to an imported article, so that change can be
    reverted too. ``objects``: model instances registered with reversion. Opens its own
    revision, so it must run outside any other.
    """
    objects = [obj for obj in objects if obj.pk is not None]
    if not objects:
        return
    model = type(objects[0])
    known = set(
        Version.objects.get_for_model(model)
        .filter(object_id__in=[str(obj.pk) for obj in objects])
        .values_list("object_id", flat=True)
    )
    fresh = [obj for obj in objects if str(obj.pk) not in known]
    if not fresh:
        return
    with reversion.create_revision():
        reversion.set_comment("As it was before its first change in the admin.")
        for obj in fresh:
            reversion.add_to_revision(obj)


class HistoryMixin:
    """Every change recorded with who and when, including the state before the first one,
    and deletions too, so they can be recovered."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST":
            record_baseline(filter(None, [self.get_object(request, unquote(object_id))]))
        return super().change_view(request, object_id, form_url, extra_context)

    def _record_deletion(self, request, objects):
        with reversion.create_revision():
            reversion.set_user(request.user)
            reversion.set_comment("Deleted.")
            for obj in objects:
                reversion.add_to_revision(obj)

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST":  # actions and list_editable: one revision for all
            return super().changelist_view(request, extra_context)
        # Reading a list writes nothing: skip VersionAdmin's revision (two savepoints).
        context = {"has_change_permission": self.has_change_permission(request)}
        return admin.ModelAdmin.changelist_view(self, request, {**context, **(extra_context or {})})

    def delete_model(self, request, obj):
        with transaction.atomic():
            self._record_deletion(request, [obj])
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            # Whole rows: a changelist's queryset may defer columns the history needs.
            whole = self.model._default_manager.filter(pk__in=queryset.values("pk"))
            self._record_deletion(request, whole)
            super().delete_queryset(request, queryset)


@dataclass(frozen=True)
class FieldChange:
    label: str
    then: str  # the value in the chosen version, as text
    now: str  # the current value, as text
    diff: tuple[tuple[str, str], ...] = ()  # (css class, line) for long text fields


#: Fields compared before a revert: what an editor changes in the form, in its order.
COMPARED_FIELDS = (
    "subject",
    "question",
    "title",
    "article_title",
    "slug",
    "answer",
    "seo_title",
    "seo_description",
    "seo_keywords",
    "no_index",
    "canonical",
    "status",
    "publish_at",
    "date",
    "date_format",
    "post_on_text",
    "author",
)


def _as_text(field, value):
    if value is None or value == "":
        return "(empty)"
    if field.is_relation:
        target = field.related_model._default_manager.filter(pk=value).first()
        return str(target) if target is not None else f"(deleted, id {value})"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _line_diff(then, now):
    """Line-by-line diff of two texts as (css class, line) pairs, unchanged lines dropped."""
    lines = []
    for line in difflib.unified_diff(then.splitlines(), now.splitlines(), lineterm="", n=1):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            lines.append(("diff-hunk", "…"))
        elif line.startswith("-"):
            lines.append(("diff-then", line[1:]))
        elif line.startswith("+"):
            lines.append(("diff-now", line[1:]))
        else:
            lines.append(("diff-same", line[1:]))
    return tuple(lines)


def _links_text(links):
    return "\n".join(f"{link['position']}. {link['title']}" for link in links) or "(none)"


def article_version_changes(version, article):
    """What differs between a stored version of an article and the article as it is now.

    ``version`` is a reversion Version of an Article; ``article`` the current row. Returns
    a list of FieldChange, one per field of COMPARED_FIELDS that differs, then one for
    the related links when they differ; an empty list when the version matches.
    """
    stored = version.field_dict
    changes = []
    for name in COMPARED_FIELDS:
        field = Article._meta.get_field(name)
        then, now = stored.get(field.attname), getattr(article, field.attname)
        if then == now:
            continue
        then_text, now_text = _as_text(field, then), _as_text(field, now)
        diff = _line_diff(then or "", now or "") if name == "answer" else ()
        changes.append(FieldChange(str(field.verbose_name), then_text, now_text, diff))

    stored_links = sorted(
        (
            link_version.field_dict
            for link_version in version.revision.version_set.get_for_model(RelatedLink)
            if str(link_version.field_dict.get("article_id")) == str(article.pk)
        ),
        key=lambda link: link["position"],
    )
    current_links = list(article.related_links.values("position", "title").order_by("position"))
    then_links, now_links = _links_text(stored_links), _links_text(current_links)
    if then_links != now_links:
        changes.append(FieldChange("related links", then_links, now_links))
    return changes


class ArticleHistoryMixin(HistoryMixin):
    """An article's history: the revert page lists what changed since the chosen version,
    and a reverted move keeps the moved address redirecting."""

    def revision_view(self, request, object_id, version_id, extra_context=None):
        # Computed before VersionAdmin reverts inside its transaction: "now" is the row as
        # it stands, "then" the version the editor is about to restore.
        article = self.get_object(request, object_id)
        version = Version.objects.get_for_object_reference(Article, object_id).filter(
            pk=version_id
        ).first()
        changes = (
            article_version_changes(version, article)
            if article is not None and version is not None
            else []
        )
        context = {"changes": changes, "compared": version is not None, **(extra_context or {})}
        before = redirects.stored_article(article) if article is not None else None
        response = super().revision_view(request, object_id, version_id, context)
        if request.method == "POST" and response.status_code == 302 and before is not None:
            # django-reversion restores the row with a raw save before the form saves it
            # again, so Article.save() never sees a reverted move: record it here.
            reverted = Article.objects.select_related("subject").filter(pk=article.pk).first()
            if reverted is not None:
                redirects.article_saved(reverted, before)
        return response
