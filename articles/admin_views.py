"""Views and helpers behind the editors' admin: the live answer preview, the move-to-subject
page of the bulk action, and the "what changed" summary shown before a revert.

Rendering stays in articles.rendering and redirects in Article.save(); nothing here writes
to the database except through Article.save().
"""
import difflib
from dataclasses import dataclass

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.views.decorators.http import require_POST

from articles import rendering
from articles.models import Article, RelatedLink, Subject

#: The largest answer the preview renders, in characters. The corpus's largest file is
#: 7.8 KB, so this only stops abuse, never an editor.
PREVIEW_MAX_CHARS = 100_000


@require_POST
def answer_preview(request, model_admin):
    """Render the unsaved answer in ``request.POST["answer"]`` (Markdown with math).

    Returns the sanitised HTML fragment the article page would print (text/html), with the
    number of formulas left as source in the ``X-Formula-Fallbacks`` header. Raises
    PermissionDenied for a user who may neither add nor change articles; answers 413 past
    PREVIEW_MAX_CHARS. The caller wraps it in ``admin_site.admin_view`` (staff only, CSRF).
    """
    if not (model_admin.has_change_permission(request) or model_admin.has_add_permission(request)):
        raise PermissionDenied
    answer = request.POST.get("answer", "")
    if len(answer) > PREVIEW_MAX_CHARS:
        return HttpResponse("The answer is too long to preview.", status=413)
    result = rendering.render_markdown(answer)
    response = HttpResponse(result.html, content_type="text/html; charset=utf-8")
    response["X-Formula-Fallbacks"] = str(result.fallbacks)
    return response


class MoveToSubjectForm(forms.Form):
    """The intermediate page of the "move to another subject" bulk action."""

    subject = forms.ModelChoiceField(
        queryset=Subject.objects.all(),
        help_text=(
            "Each article's address changes to /learn/<new subject>/questions/<slug>; "
            "its old address keeps answering with a permanent redirect."
        ),
    )


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
