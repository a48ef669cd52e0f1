"""The article list's filters, which are the editors' reports, and ``visibility()``, the
label of what readers get, shown in the list, the form and the related links inline.

Changelist filters: each choice's query is bounded; none lists values from the table.
They only narrow a queryset and never write.
"""

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.db.models.functions import Length
from django.utils.formats import localize
from django.utils.timezone import template_localtime

from articles.admin.widgets import SEO_DESCRIPTION_LIMIT
from articles.models import Article, RelatedLink


def visibility(article):
    """ "Live", "Draft" or "Scheduled for <time>": what readers get, by the rule of
    articles.querysets (``Article.is_published``)."""
    if article.is_published:
        return "Live"
    if article.status != Article.Status.PUBLISHED:
        return "Draft"
    return f"Scheduled for {localize(template_localtime(article.publish_at))}"


class VisibilityFilter(admin.SimpleListFilter):
    title = "visibility"
    parameter_name = "visibility"

    def lookups(self, request, model_admin):
        return [
            ("live", "Live"),
            ("scheduled", "Scheduled"),
            ("draft", "Draft"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.published()
        if self.value() == "scheduled":
            return queryset.scheduled()
        if self.value() == "draft":
            return queryset.drafts()
        return queryset


class ReviewFilter(admin.SimpleListFilter):
    """Where articles stand in review (articles.admin.review)."""

    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [
            (Article.Review.SUBMITTED, "Waiting for review"),
            (Article.Review.CHANGES, "Changes asked for"),
            (Article.Review.APPROVED, "Published from review"),
        ]

    def queryset(self, request, queryset):
        if self.value() in Article.Review.values:
            return queryset.filter(review=self.value())
        return queryset


class RelatedLinksFilter(admin.SimpleListFilter):
    """Report: articles with a related link readers cannot follow, or with no link that
    leads anywhere at all (their page shows suggested related questions instead)."""

    title = "related links"
    parameter_name = "related_links"

    def lookups(self, request, model_admin):
        return [
            ("missing", "Link to a missing article"),
            ("hidden", "Link to a draft or scheduled article"),
            ("all_missing", "Every link to a missing article"),
        ]

    def queryset(self, request, queryset):
        # Semi-joins that start from the few links concerned (found through the target
        # index), not a per-article probe: IN never duplicates rows, so no DISTINCT.
        if self.value() == "missing":
            links = RelatedLink.objects.filter(target__isnull=True)
            return queryset.filter(pk__in=links.values("article_id"))
        if self.value() == "hidden":
            hidden = Article.objects.unpublished()
            links = RelatedLink.objects.filter(target__in=hidden.values("pk"))
            return queryset.filter(pk__in=links.values("article_id"))
        if self.value() == "all_missing":
            # Articles whose links (the file's, and any added since) all lead nowhere: a
            # dangling link, and no link that leads to an article (a probe per article
            # found, through the (article, position) index).
            links = RelatedLink.objects.filter(target__isnull=True)
            leading = RelatedLink.objects.filter(article=OuterRef("pk"), target__isnull=False)
            return queryset.filter(pk__in=links.values("article_id")).exclude(Exists(leading))
        return queryset


class CrossPostedFilter(admin.SimpleListFilter):
    """Report: copies of one source article cross-posted into several subjects."""

    title = "cross-posted"
    parameter_name = "cross_posted"

    def lookups(self, request, model_admin):
        return [
            ("yes", "Cross-posted copies"),
            ("no_canonical", "Copies with no canonical copy chosen"),
        ]

    def queryset(self, request, queryset):
        copies = Article.objects.filter(source_id=OuterRef("source_id")).exclude(
            subject=OuterRef("subject")
        )
        if self.value() == "yes":
            return queryset.filter(Exists(copies))
        if self.value() == "no_canonical":
            return queryset.filter(Exists(copies), canonical__isnull=True)
        return queryset


class SeoDescriptionFilter(admin.SimpleListFilter):
    """Report: articles whose meta description is missing or too long."""

    title = "SEO description"
    parameter_name = "seo_description"

    def lookups(self, request, model_admin):
        return [
            ("missing", "Missing"),
            ("too_long", f"Longer than {SEO_DESCRIPTION_LIMIT} characters"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "missing":
            return queryset.filter(seo_description="")
        if self.value() == "too_long":
            return queryset.alias(description_length=Length("seo_description")).filter(
                description_length__gt=SEO_DESCRIPTION_LIMIT
            )
        return queryset
