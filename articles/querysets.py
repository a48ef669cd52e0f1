"""Who may see what: the one rule for "may a reader see this article now", as a Q for
queries and as a predicate for rows already loaded, and the querysets built on it.

Pages, related links, canonical choice, sitemaps, feeds, search and the admin's reports all
start from here; nothing else spells the rule out.
"""

from django.db import models
from django.db.models import Count, Q
from django.utils import timezone

from articles.caching import SITE, invalidate

#: Article.status of an article readers may see (once its publish_at, if any, has come).
PUBLISHED = "published"
DRAFT = "draft"


def published_q(prefix=""):
    """The rule as a Q: published, and not scheduled for later.

    ``prefix``: a relation path to apply it through, e.g. ``"articles__"`` from Subject.
    """
    return Q(**{f"{prefix}status": PUBLISHED}) & (
        Q(**{f"{prefix}publish_at__isnull": True})
        | Q(**{f"{prefix}publish_at__lte": timezone.now()})
    )


def is_published(status, publish_at, now=None):
    """The rule for one loaded row: ``status`` (str) and ``publish_at`` (aware datetime or
    None) at ``now`` (default: the current time). The same answer as published_q()."""
    if status != PUBLISHED:
        return False
    return publish_at is None or publish_at <= (now or timezone.now())


#: Names the cached pages showing rows of a model, registered by articles.changes (which
#: imports the models, which import this module) with @page_namer; until then (never once
#: the app is loaded) a bulk write marks every page stale.
_page_namer = None


def page_namer(function):
    """Register ``function(model, pks, objs=None)`` -> the page cache's tags (a set of str)
    of the pages showing rows ``pks`` of ``model``."""
    global _page_namer
    _page_namer = function
    return function


class ChangeTrackingQuerySet(models.QuerySet):
    """Bulk writes (which send no signals) mark stale the cached pages showing the rows
    they touch, as single saves do: articles.changes names the pages, from the rows'
    primary keys, before the write (their old addresses) and after it."""

    #: Fields whose change moves the rows' pages: their pages before the write are named too.
    moving_fields = frozenset()
    #: True when a change of a moving field shows on pages nobody can name cheaply (a
    #: subject's slug is in the address of every link to its articles): all are stale.
    moving_marks_everything = False

    def _before(self, pks, fields):
        if not self.moving_fields & set(fields):
            return set()
        if self.moving_marks_everything:
            return {SITE}
        return self._page_tags(pks)

    def _page_tags(self, pks, objs=None):
        if _page_namer is None:
            return {SITE}
        return _page_namer(self.model, pks, objs)

    def _pks(self):
        return list(self.order_by().values_list("pk", flat=True))

    def update(self, **kwargs):
        pks = self._pks()
        before = self._before(pks, kwargs)
        rows = super().update(**kwargs)
        if rows:
            invalidate(before | self._page_tags(pks))
        return rows

    def delete(self):
        tags = self._page_tags(self._pks())
        result = super().delete()
        if result[0]:
            invalidate(tags)
        return result

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            invalidate(self._page_tags([obj.pk for obj in created], created))
        return created

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        pks = [obj.pk for obj in objs]
        before = self._before(pks, fields)
        rows = super().bulk_update(objs, fields, *args, **kwargs)
        if rows:
            invalidate(before | self._page_tags(pks, objs))
        return rows


class RelatedLinkQuerySet(ChangeTrackingQuerySet):
    moving_fields = frozenset({"article", "article_id"})


class RedirectQuerySet(ChangeTrackingQuerySet):
    moving_fields = frozenset({"old_path"})


class SubjectQuerySet(ChangeTrackingQuerySet):
    moving_fields = frozenset({"slug"})
    moving_marks_everything = True

    def listed(self):
        return self.filter(listed=True)

    def with_article_counts(self):
        """Annotate ``article_count``: articles readers may see in each subject."""
        return self.annotate(article_count=Count("articles", filter=published_q("articles__")))


class ArticleQuerySet(ChangeTrackingQuerySet):
    moving_fields = frozenset({"subject", "subject_id", "slug", "source_id"})

    def published(self):
        """Articles readers may see: published, and not scheduled for later."""
        return self.filter(published_q())

    def unpublished(self):
        """Articles readers may not see (yet): drafts and scheduled ones."""
        return self.exclude(published_q())

    def scheduled(self):
        """Published articles whose time has not come yet."""
        return self.filter(status=PUBLISHED, publish_at__gt=timezone.now())

    def drafts(self):
        return self.filter(status=DRAFT)

    def indexable(self):
        """What search engines are offered: published, canonical (not a cross-posted copy
        pointing elsewhere), not noindex, in a listed subject. Sitemaps and the site-wide
        feed start from it."""
        return self.published().filter(canonical__isnull=True, no_index=False, subject__listed=True)

    def one_per_article(self):
        """Each cross-posted article once: without the copies whose canonical copy readers
        can see (articles.canonical prefers a copy in a listed subject, so an unlisted
        subject's copy never stands in for a listed one). Search starts from it."""
        return self.filter(Q(canonical__isnull=True) | ~published_q("canonical__"))

    def in_subject(self, subject):
        return self.filter(subject=subject)
