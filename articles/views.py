"""Public pages: the subject index, a subject's questions, one article.

Views are thin: each page is one queryset from articles.querysets plus a fixed number of
queries whatever a subject's size. No rendering happens here: answers are stored as HTML.
"""

from urllib.parse import urlencode

from django.core.validators import slug_re
from django.http import Http404, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.generic import DetailView, ListView

from articles import related, search, seo
from articles.models import Article, Subject

ARTICLES_PER_PAGE = 20
#: A subject page with this many questions or more offers a box that filters its list: a
#: reader scanning several hundred questions page by page needs one.
SUBJECT_FILTER_MIN_QUESTIONS = 100
#: Large columns of an article's canonical copy the page never prints.
CANONICAL_DEFERRED = ("answer", "answer_html", "extra_front_matter", "body", "seo_keywords")


class SubjectListView(ListView):
    """``/learn``: the listed subjects in order, each with its article count."""

    template_name = "articles/subject_list.html"
    context_object_name = "subjects"

    def get_queryset(self):
        # Meta.ordering is dropped from GROUP BY queries: without this, PostgreSQL returns
        # the subjects in hash order.
        return Subject.objects.listed().with_article_counts().order_by("position", "title")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["head"] = seo.index_head()
        return context


class SubjectDetailView(ListView):
    """``/learn/<subject>``: a subject's questions, 20 a page (``?page=N``).

    ``?q=words`` narrows the list to the subject's questions matching the words, best
    first (articles.search, the subject's own copies of cross-posted articles included);
    such a page is not cached and not indexed. Subjects of SUBJECT_FILTER_MIN_QUESTIONS
    or more offer the filter box.
    """

    template_name = "articles/subject_detail.html"
    context_object_name = "articles"
    paginate_by = ARTICLES_PER_PAGE

    def get_queryset(self):
        self.subject = get_object_or_404(Subject, slug=self.kwargs["subject"])
        self.query = search.clean_query(self.request.GET.get("q"))
        if self.query:
            return search.search(self.query, subject=self.subject.slug, copies=True)
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
        context["page_range"] = context["paginator"].get_elided_page_range(
            context["page_obj"].number, on_each_side=2
        )
        context["head"] = seo.subject_head(self.subject, context["page_obj"])
        context["query"] = self.query
        if self.query:
            results = self.object_list
            context["head"].update(noindex=True, prev_url=None, next_url=None)
            context["searchable"] = bool(results.clauses)
            context["suggestion"] = results.suggestion.text if results.suggestion else ""
            context["corrected"] = results.corrected
            context["filter_query_string"] = urlencode({"q": self.query})
            context["search_query_string"] = urlencode(
                {"q": self.query, "subject": self.subject.slug}
            )
            context["show_filter"] = True
        else:
            context["show_filter"] = context["article_count"] >= SUBJECT_FILTER_MIN_QUESTIONS
        return context


class ArticleDetailView(DetailView):
    """``/learn/<subject>/questions/<slug>``: one question and its answer."""

    template_name = "articles/article_detail.html"
    context_object_name = "article"

    def get_object(self, queryset=None):
        # Staff also get drafts and scheduled articles (with a banner); readers get 404.
        staff = self.request.user.is_staff
        articles = Article.objects.all() if staff else Article.objects.published()
        article = get_object_or_404(
            # The canonical copy comes in the same query, for the head's canonical link.
            articles.select_related("subject", "canonical__subject").defer(
                *(f"canonical__{name}" for name in CANONICAL_DEFERRED)
            ),
            subject__slug=self.kwargs["subject"],
            slug=self.kwargs["slug"],
        )
        self.readers_see_it = article.is_published
        return article

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if not self.readers_see_it:
            # A preview for staff: never stored by a cache a reader could hit.
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # An article readers cannot see yet, shown to staff: the page says so.
        context["staff_preview"] = not self.readers_see_it
        context["head"] = seo.article_head(self.object)
        links = list(
            self.object.related_links.select_related("target__subject").only(
                "position",
                "title",
                "url",
                "article_id",
                "target_id",
                "target__slug",
                "target__question",
                "target__status",
                "target__publish_at",
                "target__subject__slug",
            )
        )
        # Its own links readers can follow, filled up to five with the stored suggestions.
        context["related_questions"] = related.related_questions(self.object, links)
        return context


def strip_trailing_slash(request, path):
    """``/learn/…/`` answers 301 to the same path without the slash, query string kept."""
    location = "/" + path.rstrip("/")
    if request.META.get("QUERY_STRING"):
        location += "?" + request.META["QUERY_STRING"]
    return HttpResponsePermanentRedirect(location)


class SearchView(ListView):
    """``/search?q=…&subject=…&page=N``: published articles matching the words, best first.

    The query, ranking and snippets come from articles.search; a page costs a fixed
    number of queries (none when nothing searchable was typed). ``subject`` is a subject's
    slug; the select offers the subjects holding results, with their counts.
    """

    template_name = "articles/search_results.html"
    context_object_name = "hits"
    paginate_by = search.RESULTS_PER_PAGE

    def get_queryset(self):
        self.query = search.clean_query(self.request.GET.get("q"))
        slug = self.request.GET.get("subject", "").strip()
        # Not a slug (no subject can have it): search all subjects.
        self.subject_slug = slug if slug_re.fullmatch(slug) and len(slug) <= 200 else ""
        return search.search(self.query, subject=self.subject_slug or None)

    def paginate_queryset(self, queryset, page_size):
        try:
            return super().paginate_queryset(queryset, page_size)
        except Http404:
            raise Http404("No such page of results") from None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        results, page = self.object_list, context["page_obj"]
        counts = results.subject_counts
        chosen = next((row for row in counts if row.slug == self.subject_slug), None)
        subject_title = chosen.title if chosen else ""
        if self.subject_slug and chosen is None:
            # No results in the chosen subject: name it, if it exists, on the empty page.
            subject = Subject.objects.filter(slug=self.subject_slug).only("title").first()
            subject_title = subject.title if subject else ""
        params = {"q": self.query, **({"subject": self.subject_slug} if self.subject_slug else {})}
        suggestion = results.suggestion
        context.update(
            query=self.query,
            searchable=bool(results.clauses),
            suggestion=suggestion.text if suggestion else "",
            corrected=results.corrected,
            suggestion_query_string=urlencode({**params, "q": suggestion.text})
            if suggestion
            else "",
            subject_slug=self.subject_slug,
            subject_title=subject_title,
            subject_counts=counts,
            total=context["paginator"].count,
            total_all=sum(row.count for row in counts),
            query_string=urlencode(params),
            all_subjects_query_string=urlencode({"q": self.query}),
            page_range=context["paginator"].get_elided_page_range(page.number, on_each_side=2),
        )
        return context
