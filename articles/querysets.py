"""Who may see what: the one rule for visibility, used by pages, sitemaps, feeds and search."""
from django.db import models
from django.db.models import Count, Q
from django.utils import timezone

from articles.caching import bump_content_version


def published_q(prefix=""):
    """The one rule for what readers see, as a Q: published and not scheduled for later.

    ``prefix``: a relation path to apply it through, e.g. ``"articles__"`` from Subject.
    """
    return Q(**{f"{prefix}status": "published"}) & (
        Q(**{f"{prefix}publish_at__isnull": True})
        | Q(**{f"{prefix}publish_at__lte": timezone.now()})
    )


class ChangeTrackingQuerySet(models.QuerySet):
    """Bulk writes (which send no signals) mark cached pages stale, as single saves do."""

    def update(self, **kwargs):
        rows = super().update(**kwargs)
        if rows:
            bump_content_version()
        return rows

    def delete(self):
        result = super().delete()
        bump_content_version()
        return result

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            bump_content_version()
        return created

    def bulk_update(self, objs, *args, **kwargs):
        rows = super().bulk_update(objs, *args, **kwargs)
        if rows:
            bump_content_version()
        return rows


class SubjectQuerySet(ChangeTrackingQuerySet):
    def listed(self):
        return self.filter(listed=True)

    def with_article_counts(self):
        """Annotate ``article_count``: published articles in each subject."""
        return self.annotate(
            article_count=Count("articles", filter=published_q("articles__"))
        )


class ArticleQuerySet(ChangeTrackingQuerySet):
    def published(self):
        """Articles readers may see: published, and not scheduled for later."""
        return self.filter(published_q())

    def in_subject(self, subject):
        return self.filter(subject=subject)
