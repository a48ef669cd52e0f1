"""The editors' admin: articles with their related links, subjects, related links.

Built for the whole corpus loaded: no full-table counts on changelists, autocomplete for
foreign keys to large tables, select_related on every listed relation.
"""
from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Count
from django.utils.functional import cached_property

from articles.models import Article, RelatedLink, Subject


class EstimatedCountPaginator(Paginator):
    """A changelist paginator that never counts a whole large table.

    Filtered lists are counted as usual; the unfiltered list uses the database's own
    row estimate when it has one (PostgreSQL), and a cheap ``MAX(id)`` otherwise.
    """

    @cached_property
    def count(self):
        query = self.object_list.query
        if query.where:
            return super().count
        model = self.object_list.model
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s",
                    [model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > 0:
                return int(row[0])
        return model.objects.order_by().values_list("pk", flat=True).last() or 0


class RelatedLinkInline(admin.TabularInline):
    model = RelatedLink
    fk_name = "article"
    extra = 0
    max_num = 5
    fields = ("position", "title", "url", "target", "subject_name", "source_id")
    autocomplete_fields = ("target",)
    ordering = ("position",)


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("question", "subject", "date", "status", "no_index", "updated")
    list_filter = ("status", "no_index", "subject")
    list_select_related = ("subject",)
    search_fields = ("question", "=slug", "=source_id")
    autocomplete_fields = ("subject",)
    prepopulated_fields = {"slug": ("question",)}
    readonly_fields = ("source_hash", "renderer_version", "created", "updated")
    inlines = (RelatedLinkInline,)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    date_hierarchy = None
    fieldsets = (
        ("Content", {"fields": ("subject", "question", "title", "article_title", "slug", "answer")}),
        ("SEO", {"fields": ("seo_title", "seo_description", "seo_keywords", "no_index")}),
        (
            "Publishing",
            {"fields": ("status", "date", "date_format", "post_on_text", "author", "score")},
        ),
        (
            "Source file",
            {
                "classes": ("collapse",),
                "fields": (
                    "source_id",
                    "subject_name",
                    "file_name",
                    "extra_front_matter",
                    "body",
                    "source_hash",
                    "renderer_version",
                    "created",
                    "updated",
                ),
            },
        ),
    )


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "listed", "position", "article_count")
    list_editable = ("listed", "position")
    list_filter = ("listed",)
    search_fields = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(article_count=Count("articles"))

    @admin.display(ordering="article_count", description="articles")
    def article_count(self, obj):
        return obj.article_count


@admin.register(RelatedLink)
class RelatedLinkAdmin(admin.ModelAdmin):
    list_display = ("title", "article", "position", "url", "target")
    list_select_related = ("article", "target")
    list_filter = (("target", admin.EmptyFieldListFilter),)
    search_fields = ("title", "=url")
    autocomplete_fields = ("article", "target")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
