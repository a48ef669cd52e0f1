"""The article admin's extra pages: the live answer preview and the move-to-subject page
of the bulk action. Rendering stays in articles.rendering; nothing here writes to the
database (the move itself is made in articles.admin.actions, through Article.save()).
"""

from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from articles import rendering
from articles.frontmatter import MAX_ANSWER_CHARS


@require_POST
def answer_preview(request, model_admin):
    """Render the unsaved answer in ``request.POST["answer"]`` (Markdown with math).

    Returns the sanitised HTML fragment the article page would print (text/html), with the
    number of formulas left as source in the ``X-Formula-Fallbacks`` header. Raises
    PermissionDenied for a user who may neither add nor change articles; answers 413 past
    MAX_ANSWER_CHARS (the limit of a saved answer too). The caller wraps it in
    ``admin_site.admin_view`` (staff only, CSRF).
    """
    if not (model_admin.has_change_permission(request) or model_admin.has_add_permission(request)):
        raise PermissionDenied
    answer = request.POST.get("answer", "")
    if len(answer) > MAX_ANSWER_CHARS:
        return HttpResponse(
            f"The answer is {len(answer):,} characters long; the limit is "
            f"{MAX_ANSWER_CHARS:,}. It cannot be previewed or saved.",
            status=413,
        )
    result = rendering.render_markdown(answer)
    response = HttpResponse(result.html, content_type="text/html; charset=utf-8")
    response["X-Formula-Fallbacks"] = str(result.fallbacks)
    return response


def move_to_subject_page(request, model_admin, queryset, form):
    """The intermediate page of the "move to another subject" bulk action: the chosen
    articles (the first 50, and how many in all) and ``form`` to pick their subject. It
    posts the action again, with the same selection and ``apply``.
    """
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Move articles to another subject",
        "opts": model_admin.model._meta,
        "form": form,
        "articles": list(queryset.select_related("subject")[:50]),
        "total": queryset.count(),
        "select_across": request.POST.get("select_across", "0"),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": model_admin.media,
    }
    return TemplateResponse(request, "admin/articles/article/move_to_subject.html", context)
