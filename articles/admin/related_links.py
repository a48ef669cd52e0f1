"""Related links: the inline on the article form (at most five, in order, each showing
what readers get from it) and the links' own admin pages.

Validation lives in articles.admin.forms; the inline's rows are saved, in order, by
ArticleAdmin.save_formset, not here.
"""

from django.contrib import admin
from django.contrib.admin.options import ShowFacets
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from reversion.admin import VersionAdmin

from articles.admin.filters import visibility
from articles.admin.forms import RelatedLinkAdminForm, RelatedLinkForm, RelatedLinkFormSet
from articles.admin.history import HistoryMixin
from articles.admin.paginator import EstimatedCountPaginator
from articles.admin.review import can_publish
from articles.models import RelatedLink


class RelatedLinkInline(admin.TabularInline):
    model = RelatedLink
    form = RelatedLinkForm
    formset = RelatedLinkFormSet
    fk_name = "article"
    extra = 0
    max_num = 5
    fields = ("position", "target", "title", "link_status")
    readonly_fields = ("link_status",)
    autocomplete_fields = ("target",)
    ordering = ("position",)
    verbose_name = "related question"
    verbose_name_plural = "related questions (at most five, in order)"
    # The stock table, then the suggested related questions with their "Pin" buttons.
    template = "admin/articles/relatedlink_inline.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("target__subject")

    # A live article's links change at once, so only those who may publish change them
    # there; everyone else's changes to a live article wait in its draft, which holds no
    # links (articles.admin.review).

    def _live_for_non_publisher(self, request, obj):
        return obj is not None and obj.is_published and not can_publish(request.user)

    def has_add_permission(self, request, obj=None):
        return not self._live_for_non_publisher(request, obj) and super().has_add_permission(
            request, obj
        )

    def has_change_permission(self, request, obj=None):
        if self._live_for_non_publisher(request, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if self._live_for_non_publisher(request, obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_formset(self, request, obj=None, **kwargs):
        # At most five; a read-only inline (max_num 0 then) has nothing to validate.
        kwargs["validate_max"] = self.has_add_permission(request, obj)
        formset = super().get_formset(request, obj, **kwargs)
        formset.can_pin = not self._live_for_non_publisher(request, obj)
        return formset

    @admin.display(description="status")
    def link_status(self, link):
        if link.pk is None:
            return "—"
        if link.target_id is None:
            return format_html(
                '<span class="link-missing">Missing: no article at {}</span>', link.url
            )
        target = link.target
        state = visibility(target)
        return format_html(
            '<a href="{}">{}</a>{}',
            reverse("admin:articles_article_change", args=[target.pk]),
            target.get_absolute_url(),
            format_html(' <span class="link-hidden">({}: readers see no link)</span>', state)
            if state != "Live"
            else "",
        )


class RelatedLinkAdmin(HistoryMixin, VersionAdmin):
    form = RelatedLinkAdminForm
    list_display = ("title", "article", "position", "url", "leads_to")
    list_select_related = ("article", "target")
    list_filter = (("target", admin.EmptyFieldListFilter),)
    # The (article, position) unique index, not the articles' own order (a join and sort).
    ordering = ("article_id", "position")
    search_fields = ("title", "=url")
    autocomplete_fields = ("article", "target")
    fields = ("article", "position", "target", "title", "url")
    readonly_fields = ("url",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER

    # As in the article form's inline: a live article's links change at once, so only
    # those who may publish change or delete them, or add one to a live article.

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.article.is_published and not can_publish(request.user):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.article.is_published and not can_publish(request.user):
            return False
        return super().has_delete_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        may_publish = can_publish(request.user)

        class LiveArticleForm(form):
            def clean(self):
                cleaned = super().clean()
                article = cleaned.get("article")
                if article is not None and article.is_published and not may_publish:
                    raise ValidationError(
                        {
                            "article": f"“{article}” is live: its related links are changed "
                            "by publishers. Ask one, or choose an article that is not live."
                        }
                    )
                return cleaned

        return LiveArticleForm

    @admin.display(description="leads to", boolean=False)
    def leads_to(self, link):
        if link.target_id is None:
            return format_html('<span class="link-missing">{}</span>', "Missing")
        return str(link.target)
