"""Public pages: the subject index, a subject's questions, one article.

Views are thin: each page is one queryset from articles.querysets plus a fixed number of
queries whatever a subject's size. No rendering happens here: answers are stored as HTML.
"""
from django.http import Http404, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404
from django.views.generic import DetailView, ListView

from articles.models import Article, Subject

ARTICLES_PER_PAGE = 20


class SubjectListView(ListView):
    """``/learn``: the listed subjects in order, each with its article count."""

    template_name = "articles/subject_list.html"
    context_object_name = "subjects"

    def get_queryset(self):
        return Subject.objects.listed().with_article_counts()


class SubjectDetailView(ListView):
    """``/learn/<subject>``: a subject's questions, 20 a page (``?page=N``)."""

    template_name = "articles/subject_detail.html"
    context_object_name = "articles"
    paginate_by = ARTICLES_PER_PAGE

    def get_queryset(self):
        self.subject = get_object_or_404(Subject, slug=self.kwargs["subject"])
        return (
            Article.objects.published()
            .in_subject(self.subject)
            .only("slug", "question", "date", "subject_id")
        )

    def paginate_queryset(self, queryset, page_size):
        try:
            return super().paginate_queryset(queryset, page_size)
        except Http404:
            # A page number past the end or not a number is a missing page, not an error.
            raise Http404("No such page of this subject") from None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["subject"] = self.subject
        context["article_count"] = context["paginator"].count
        return context


class ArticleDetailView(DetailView):
    """``/learn/<subject>/questions/<slug>``: one question and its answer."""

    template_name = "articles/article_detail.html"
    context_object_name = "article"

    def get_object(self, queryset=None):
        return get_object_or_404(
            Article.objects.published().select_related("subject"),
            subject__slug=self.kwargs["subject"],
            slug=self.kwargs["slug"],
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["related_links"] = list(
            self.object.related_links.select_related("target__subject").only(
                "position",
                "title",
                "url",
                "article_id",
                "target__slug",
                "target__status",
                "target__subject__slug",
            )
        )
        return context


def strip_trailing_slash(request, path):
    """``/learn/…/`` answers 301 to the same path without the slash, query string kept."""
    location = "/" + path.rstrip("/")
    if request.META.get("QUERY_STRING"):
        location += "?" + request.META["QUERY_STRING"]
    return HttpResponsePermanentRedirect(location)
