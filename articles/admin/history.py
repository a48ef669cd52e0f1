"""History and revert: a baseline version before an editor's first change, deletions kept
for recovery, and the "what changed" summary shown on an article's revert page.

Writes django-reversion's versions; a revert or recovery restores one article's related
links and saves the article through its change form, like any edit.
"""

import difflib
from dataclasses import dataclass

import reversion
from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.formats import localize
from django.utils.timezone import template_localtime
from reversion.models import Version

from articles import changes
from articles.models import Article, RelatedLink

#: The comment of the version record_baseline writes.
BASELINE_COMMENT = "As it was before its first change in the admin."


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
        reversion.set_comment(BASELINE_COMMENT)
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


def value_as_text(field, value):
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
        then_text, now_text = value_as_text(field, then), value_as_text(field, now)
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


def restore_article_version(version, *, article_fields):
    """Put back what ``version`` (an Article's Version) holds of that one article: its own
    related links (none of another article's, whatever else the revision holds) and, with
    ``article_fields``, the article's row. A link whose target has been deleted since comes
    back dangling. Runs inside the caller's transaction; sends no save signals (the change
    form's save that follows does, once).
    """
    article_id = str(version.object_id)
    if article_fields:
        # The restored row keeps the current version number: a form shown from it
        # carries the version the article is at now, as any change form does.
        current = Article._base_manager.filter(pk=version.object_id).values_list(
            "version", flat=True
        )
        current = current.first()
        version.revert()
        if current is not None:
            Article._base_manager.filter(pk=version.object_id).update(version=current)
    links = [
        RelatedLink(**link_version.field_dict)
        for link_version in version.revision.version_set.get_for_model(RelatedLink)
        if str(link_version.field_dict.get("article_id")) == article_id
    ]
    targets = {link.target_id for link in links} - {None}
    existing = set(Article._base_manager.filter(pk__in=targets).values_list("pk", flat=True))
    for link in links:
        if link.target_id not in existing:
            link.target_id = None
    RelatedLink._base_manager.filter(article_id=version.object_id).delete()
    RelatedLink._base_manager.bulk_create(links)


class _Undo(Exception):
    """Raised inside a transaction to undo it, carrying the response to send."""

    def __init__(self, response):
        super().__init__()
        self.response = response


class ArticleHistoryMixin(HistoryMixin):
    """An article's history: the revert page lists what changed since the chosen version,
    and a revert or a recovery changes that one article and its own related links only.

    django-reversion reverts a whole revision, and one revision may hold many articles (a
    bulk action's, the baseline taken before one, a bulk deletion): reverting one of them
    would undo the others' later changes. Here only the article's own version is used, and
    the article is saved through the change form and ``Article.save()`` like any edit, so
    what follows a change (a 301 after a reverted move, canonical copies, the search
    index, the page cache) happens as for any other save (articles.changes).
    """

    def revision_view(self, request, object_id, version_id, extra_context=None):
        object_id = unquote(object_id)
        version = get_object_or_404(
            Version.objects.get_for_object_reference(self.model, object_id), pk=version_id
        )
        article = self.get_object(request, object_id)
        if article is None:
            raise Http404("No such article")
        context = {
            "title": f"Revert {version.object_repr}",
            "revert": True,
            "changes": article_version_changes(version, article),
            "compared": True,
            **(extra_context or {}),
        }
        template = self.revision_form_template or self._reversion_get_template_list(
            "revision_form.html"
        )
        # Saving restores the links only: the article's fields come from the form, saved
        # over the row as it stands, so a reverted move is seen as a move.
        return self._one_article_form(request, version, template, context, restore_row=False)

    def recover_view(self, request, version_id, extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        version = get_object_or_404(Version.objects.get_for_model(self.model), pk=version_id)
        context = {"title": f"Recover {version.object_repr}", "recover": True}
        template = self.recover_form_template or self._reversion_get_template_list(
            "recover_form.html"
        )
        context.update(extra_context or {})
        return self._one_article_form(request, version, template, context, restore_row=True)

    def _one_article_form(self, request, version, template, context, restore_row):
        """The change form of ``version``'s article as the version holds it; on a valid
        POST, saved as a revision of its own. Anything else is undone."""
        object_id = quote(version.object_id)
        try:
            with transaction.atomic():
                if request.method != "POST":
                    # Looking changes nothing: what follows a change is not run for these
                    # writes, which are rolled back (in this thread only: a process-wide
                    # mute would silence other requests' saves, and their history).
                    with changes.suppressed():
                        restore_article_version(version, article_fields=True)
                        response = self.changeform_view(request, object_id, request.path, context)
                        response.template_name = template
                        response.render()
                    raise _Undo(response)
                restore_article_version(version, article_fields=restore_row)
                with reversion.create_revision():
                    reversion.set_user(request.user)
                    response = self.changeform_view(request, object_id, request.path, context)
                    if response.status_code != 302:
                        response.template_name = template
                        response.render()
                        raise _Undo(response)
                    when = localize(template_localtime(version.revision.date_created))
                    reversion.set_comment(f"Reverted to previous version, saved on {when}")
        except _Undo as undo:
            return undo.response
        return response
