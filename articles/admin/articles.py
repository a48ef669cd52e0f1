"""The articles' admin: the sectioned change form with its related links inline, the
list with its reports and search by question, slug, source id or public address.

Bulk actions, history and the extra pages live in their own modules and are mixed in or
called from here; every save goes through Article.save(), never update().
"""

import re

from django.contrib import admin, messages
from django.contrib.admin.options import ShowFacets
from django.contrib.admin.views.main import ORDER_VAR
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import HttpResponseRedirect, QueryDict
from django.urls import path
from django.utils import formats, timezone
from django.utils.html import format_html
from reversion.admin import VersionAdmin

from articles import search
from articles.admin import previews
from articles.admin.actions import ArticleActionsMixin
from articles.admin.filters import (
    CrossPostedFilter,
    RelatedLinksFilter,
    ReviewFilter,
    SeoDescriptionFilter,
    VisibilityFilter,
    visibility,
)
from articles.admin.forms import PIN_SUGGESTION, ArticleAdminForm
from articles.admin.history import ArticleHistoryMixin
from articles.admin.paginator import ArticleChangeList, EstimatedCountPaginator
from articles.admin.related_links import RelatedLinkInline
from articles.admin.review import ArticleReviewMixin
from articles.admin.views import answer_preview
from articles.models import Article, RelatedLink, StaleVersion

#: A public address pasted into the search box: /learn/<subject>/questions/<slug>, with or
#: without the site's scheme and host.
ADDRESS = re.compile(r"(?:https?://[^/]+)?/learn/(?P<subject>[-\w]+)/questions/(?P<slug>[-\w]+)/?")


class ArticleAdmin(ArticleActionsMixin, ArticleReviewMixin, ArticleHistoryMixin, VersionAdmin):
    form = ArticleAdminForm
    list_display = ("question", "subject", "date", "visibility", "no_index", "last_updated")
    list_filter = (
        VisibilityFilter,
        ReviewFilter,
        ("subject", admin.RelatedFieldListFilter),
        "no_index",
        RelatedLinksFilter,
        CrossPostedFilter,
        SeoDescriptionFilter,
    )
    list_select_related = ("subject",)
    # Matches the article_newest index, so the first page is read in index order.
    ordering = ("-date", "-id")
    search_fields = ("question",)
    search_help_text = (
        "Words of the question or the answer (best matches first), an exact slug, a "
        "source id, or a page address (/learn/<subject>/questions/<slug>)."
    )
    #: The full-text matches a search lists at most, best first.
    SEARCH_LIMIT = 500
    autocomplete_fields = ("subject", "canonical")
    prepopulated_fields = {"slug": ("question",)}
    readonly_fields = (
        "visibility",
        "search_result",
        "source_path",
        "source_hash",
        "renderer_version",
        "imported_at",
        "edited_at",
        "answer_edited_at",
        "created",
        "updated",
    )
    inlines = (RelatedLinkInline,)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facet counts scan the table once per filter choice.
    show_facets = ShowFacets.NEVER
    list_per_page = 50
    save_on_top = True
    history_latest_first = True
    revision_form_template = "admin/articles/article/revision_form.html"
    actions = (
        "publish",
        "unpublish",
        "set_no_index",
        "clear_no_index",
        "move_to_subject",
    )
    fieldsets = (
        (
            "Content",
            # base_version: hidden, the version the form was opened at (see forms.py).
            {
                "fields": (
                    "subject",
                    "question",
                    "slug",
                    "answer",
                    "base_version",
                )
            },
        ),
        (
            "Titles",
            {
                "classes": ("collapse",),
                "description": "The title (the browser tab and search results) and the "
                "article title follow the question. Type another here to set one apart.",
                "fields": ("title", "article_title"),
            },
        ),
        (
            "SEO",
            {
                "fields": (
                    "seo_title",
                    "seo_description",
                    "search_result",
                    "seo_keywords",
                    "no_index",
                    "canonical",
                )
            },
        ),
        (
            "Publishing",
            {
                "fields": (
                    "status",
                    "publish_at",
                    "visibility",
                    "date",
                    "date_format",
                    "post_on_text",
                    "author",
                )
            },
        ),
        (
            "Source file",
            {
                "classes": ("collapse",),
                "description": "Kept from the imported front matter.",
                "fields": (
                    "source_id",
                    "subject_name",
                    "file_name",
                    "score",
                    "extra_front_matter",
                    "body",
                    "source_path",
                    "source_hash",
                    "renderer_version",
                    "imported_at",
                    "edited_at",
                    "answer_edited_at",
                    "created",
                    "updated",
                ),
            },
        ),
    )

    def get_urls(self):
        preview = path(
            "preview/",
            self.admin_site.admin_view(self.preview_view),
            name="articles_article_preview",
        )
        review = path(
            "review/",
            self.admin_site.admin_view(self.review_view),
            name="articles_article_review",
        )
        return [preview, review, *super().get_urls()]

    def preview_view(self, request):
        return answer_preview(request, self)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        answer = form.base_fields.get("answer")
        if answer is not None and request.user.has_perm("articles.view_image"):
            # A class made for this request: the widget is its own copy.
            answer.widget.image_picker = True
        return form

    class Media:
        css = {"all": ("css/admin.css",)}
        js = ("js/admin_serp.js",)

    @admin.display(description="search result preview")
    def search_result(self, article):
        return previews.search_result(article)

    def changelist_view(self, request, extra_context=None):
        # The list needs the width: at 1280 px the navigation sidebar and the filters
        # left the question about 100 px. The sidebar stays on every other page.
        return super().changelist_view(
            request, {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        )

    @admin.display(description="updated", ordering="updated")
    def last_updated(self, article):
        """The day, with the exact time on hover: a whole date and time does not fit."""
        updated = timezone.localtime(article.updated)
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            updated.isoformat(),
            formats.localize(updated),
            formats.date_format(updated),
        )

    @admin.display(description="visibility", ordering="status")
    def visibility(self, article):
        return visibility(article) if article.pk else "—"

    def get_changeform_initial_data(self, request):
        """A new article starts as a draft dated today, in the subject the list was
        filtered on (the admin passes the list's filters along as _changelist_filters)."""
        initial = super().get_changeform_initial_data(request)
        initial.pop("_changelist_filters", None)
        initial.setdefault("status", Article.Status.DRAFT)
        initial.setdefault("date", timezone.localdate())
        filters = QueryDict(request.GET.get("_changelist_filters", ""))
        subject = filters.get("subject__id__exact", "")
        if "subject" not in initial and subject.isdigit() and len(subject) <= 18:
            initial["subject"] = subject
        return initial

    def get_search_results(self, request, queryset, search_term):
        """A page address finds its article. Otherwise the full-text index (question,
        titles, keywords and answer; articles.search) gives the SEARCH_LIMIT best matches,
        best first, after an exact slug or source id and before questions that merely
        hold the typed text (a word being typed in an autocomplete box, say). Costs one
        query more than the list itself, whatever the number of matches."""
        term = search_term.strip()
        address = ADDRESS.fullmatch(term)
        if address:
            return queryset.filter(subject__slug=address["subject"], slug=address["slug"]), False
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if not term:
            return results, may_have_duplicates
        ranked = search.ranked_ids(term, queryset, self.SEARCH_LIMIT, using=queryset.db)
        exact = Q(slug=term)
        if term.isdigit() and len(term) <= 18:
            exact |= Q(source_id=int(term))
        results = results | queryset.filter(exact | Q(pk__in=ranked))
        rank = Case(
            When(exact, then=Value(0)),
            *(When(pk=pk, then=Value(place)) for place, pk in enumerate(ranked, 1)),
            default=Value(len(ranked) + 1),
            output_field=IntegerField(),
        )
        results = results.annotate(search_rank=rank)
        if ORDER_VAR not in request.GET:
            # The changelist orders before it searches: best first, then its own order.
            results = results.order_by("search_rank", *queryset.query.order_by)
        return results, may_have_duplicates

    #: How many times a save is checked again when other changes keep committing between
    #: its check and its write.
    STALE_ATTEMPTS = 5

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        for _ in range(self.STALE_ATTEMPTS - 1):
            try:
                return super().changeform_view(request, object_id, form_url, extra_context)
            except StaleVersion:
                # Another change committed between the form's check and its save (the
                # save's transaction is rolled back): check the same input again, against
                # the version stored now, which refuses it with the form's message.
                continue
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleVersion as stale:
            self.message_user(
                request,
                f"“{stale.article}” is being changed by others right now (version "
                f"{stale.stored}); nothing was saved. Open it again to see their changes.",
                messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        if self.save_as_draft(request, obj, form, change):
            return
        self.apply_review_rules(request, obj, change)
        # The import compares edited_at with its own time to detect editors' changes.
        obj.edited_at = timezone.now()
        if not change or "subject" in form.changed_data:
            obj.subject_name = obj.subject.title
        super().save_model(request, obj, form, change)
        self.forget_draft(obj)  # the form showed the draft: it is saved now

    def save_formset(self, request, form, formset, change):
        if formset.model is not RelatedLink:
            return super().save_formset(request, form, formset, change)
        links = formset.save(commit=False)
        for link in formset.deleted_objects:
            link.delete()
        # (article, position) is unique and checked row by row, so a link that changes
        # place is removed first and inserted again once the others have moved.
        moving = [link for link, fields in formset.changed_objects if "position" in fields]
        RelatedLink.objects.filter(pk__in=[link.pk for link in moving]).delete()
        for link in moving:
            link.pk = None
            link._state.adding = True
        for link in sorted(links, key=lambda link: link in moving):
            link.save()
        formset.save_m2m()
        pin = formset.pin
        if pin is not None:
            if pin.replaces is not None:
                RelatedLink.objects.filter(pk=pin.replaces.pk).delete()
            target = pin.target
            RelatedLink.objects.create(
                article=form.instance,
                position=pin.position,
                target=target,
                title=target.question,
                url=target.get_absolute_url(),
                subject_name=target.subject.title,
                source_id=target.source_id,
            )

    def response_change(self, request, obj):
        if request.POST.get(PIN_SUGGESTION):
            # Pinning saves the form and stays on it, like "Save and continue editing".
            request.POST = request.POST.copy()
            request.POST["_continue"] = "1"
        return super().response_change(request, obj)

    def get_changelist(self, request, **kwargs):
        return ArticleChangeList
