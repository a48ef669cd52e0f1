"""The subjects' admin: title, slug, listing and order, with each subject's article and
published counts taken by indexed subqueries.

Changing a slug moves every article in the subject; the redirects are written by
Subject.save(), not here.
"""

from django.contrib import admin
from django.contrib.admin.options import ShowFacets
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html
from reversion.admin import VersionAdmin

from articles.admin.history import HistoryMixin
from articles.models import Article


class SubjectAdmin(HistoryMixin, VersionAdmin):
    list_display = ("title", "slug", "listed", "position", "article_count", "published_count")
    list_editable = ("listed", "position")
    list_filter = ("listed",)
    search_fields = ("title", "slug")
    show_facets = ShowFacets.NEVER

    def get_queryset(self, request):
        # One counting subquery per subject, through the article_subject_listing index,
        # rather than joining every article and grouping (about 10x faster on SQLite).
        def count_of(articles):
            per_subject = (
                articles.filter(subject=OuterRef("pk"))
                .order_by()
                .values("subject")
                .annotate(n=Count("pk"))
                .values("n")
            )
            return Coalesce(Subquery(per_subject, output_field=IntegerField()), 0)

        return (
            super()
            .get_queryset(request)
            .annotate(
                article_count=count_of(Article.objects.all()),
                # As on /learn (SubjectQuerySet.with_article_counts).
                published_count=count_of(Article.objects.published()),
            )
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "slug" in form.base_fields:
            form.base_fields["slug"].help_text = (
                "Part of every address in this subject: changing it moves all its articles "
                "(their old addresses redirect to the new ones)."
            )
        return form

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None else {"slug": ("title",)}

    @admin.display(ordering="article_count", description="articles")
    def article_count(self, subject):
        url = reverse("admin:articles_article_changelist")
        return format_html(
            '<a href="{}?subject__id__exact={}">{}</a>', url, subject.pk, subject.article_count
        )

    @admin.display(ordering="published_count", description="published")
    def published_count(self, subject):
        return subject.published_count
