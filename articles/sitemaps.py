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

from articles import modified
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


def _latest(posted_day, changed_at):
    """The latest modified time of articles whose latest posting date is ``posted_day`` and
    latest content change ``changed_at`` (either None): the latest of their
    articles.modified times, as max(max a, max b) == max over rows of max(a, b)."""
    if posted_day is None:
        return None
    return modified.modified_time(posted_day, changed_at)


def _latest_of(prefix=""):
    """Aggregates for _latest over published articles (``prefix``: the path to them)."""
    visible = published_q(prefix) if prefix else None
    return {
        "latest_date": Max(f"{prefix}date", filter=visible),
        "latest_change": Max(f"{prefix}content_changed_at", filter=visible),
    }


class SubjectSitemap(_SiteUrlSitemap):
    """Listed subjects; ``lastmod`` is the latest modified time of its published articles
    (articles.modified), or the subject's own last save when it has none."""

    def items(self):
        return (
            Subject.objects.listed()
            .annotate(**_latest_of("articles__"))
            .only("slug", "updated")
            .order_by("position", "pk")
        )

    def lastmod(self, subject):
        return _latest(subject.latest_date, subject.latest_change) or subject.updated

    def get_latest_lastmod(self):
        latest = Subject.objects.listed().aggregate(**_latest_of("articles__"))
        return _latest(latest["latest_date"], latest["latest_change"])


class ArticleSitemap(_SiteUrlSitemap):
    """Canonical, indexable articles of listed subjects; ``lastmod`` is the article's
    modified time (articles.modified): its file's date until its text changes."""

    def items(self):
        return (
            Article.objects.indexable()
            .select_related("subject")
            .only("slug", "date", "content_changed_at", "subject__slug")
            .order_by("pk")
        )

    def lastmod(self, article):
        return article.modified_at

    def get_latest_lastmod(self):
        latest = Article.objects.indexable().aggregate(**_latest_of())
        return _latest(latest["latest_date"], latest["latest_change"])


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
