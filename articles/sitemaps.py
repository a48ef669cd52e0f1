"""Sitemaps (django.contrib.sitemaps): listed subjects, and the articles search engines index.

Addresses are absolute, built from ``settings.SITE_URL``, never from the request's host or
the sites framework. Each section file holds at most 50,000 URLs (the protocol's limit) and
costs a fixed number of queries. What is indexable is articles.canonical's rule; this
module only lists it.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps.views import SitemapIndexItem, x_robots_tag
from django.db.models import Max
from django.template.response import TemplateResponse
from django.urls import reverse

from articles.models import Article, Subject
from articles.querysets import published_q


class _SiteUrlSitemap(Sitemap):
    """Builds every location on ``SITE_URL``'s scheme and host."""

    limit = 50_000

    @property
    def protocol(self):
        return urlsplit(settings.SITE_URL).scheme or "https"

    def get_domain(self, site=None):
        parts = urlsplit(settings.SITE_URL)
        return parts.netloc + parts.path.rstrip("/")


class SubjectSitemap(_SiteUrlSitemap):
    """Listed subjects; ``lastmod`` is the latest change to the subject or its articles."""

    def items(self):
        return (
            Subject.objects.listed()
            .annotate(articles_updated=Max("articles__updated", filter=published_q("articles__")))
            .only("slug", "updated")
            .order_by("position", "pk")
        )

    def lastmod(self, subject):
        return max(filter(None, (subject.updated, subject.articles_updated)))

    def get_latest_lastmod(self):
        return Subject.objects.listed().aggregate(
            latest=Max("articles__updated", filter=published_q("articles__"))
        )["latest"]


class ArticleSitemap(_SiteUrlSitemap):
    """Canonical, indexable articles of listed subjects; ``lastmod`` is the row's last change."""

    def items(self):
        return (
            Article.objects.indexable()
            .select_related("subject")
            .only("slug", "updated", "subject__slug")
            .order_by("pk")
        )

    def lastmod(self, article):
        return article.updated

    def get_latest_lastmod(self):
        return Article.objects.indexable().aggregate(latest=Max("updated"))["latest"]


SITEMAPS = {"subjects": SubjectSitemap, "articles": ArticleSitemap}


@x_robots_tag
def sitemap_index(request, sitemaps=SITEMAPS):
    """``/sitemap.xml``: one entry per page of each section, on ``SITE_URL``.

    Django's own index view builds section addresses from the request's host; this one
    renders the same template with addresses search engines may fetch.
    """
    entries = []
    for section, sitemap_class in sitemaps.items():
        sitemap = sitemap_class()
        location = settings.SITE_URL + reverse("sitemap-section", kwargs={"section": section})
        lastmod = sitemap.get_latest_lastmod()
        entries.append(SitemapIndexItem(location, lastmod))
        for page in range(2, sitemap.paginator.num_pages + 1):
            entries.append(SitemapIndexItem(f"{location}?p={page}", lastmod))
    return TemplateResponse(
        request, "sitemap_index.xml", {"sitemaps": entries}, content_type="application/xml"
    )
