"""Who may see what: the one rule for visibility, used by pages, sitemaps, feeds and search."""
from django.db import models
from django.db.models import Count, Q
from django.utils import timezone


class SubjectQuerySet(models.QuerySet):
    def listed(self):
        return self.filter(listed=True)

    def with_article_counts(self):
        """Annotate ``article_count``: published articles in each subject."""
        return self.annotate(
            article_count=Count("articles", filter=Q(articles__status="published"))
        )


class ArticleQuerySet(models.QuerySet):
    def published(self):
        """Articles readers may see: published, and not scheduled for later."""
        return self.filter(status="published").filter(
            Q(publish_at__isnull=True) | Q(publish_at__lte=timezone.now())
        )

    def in_subject(self, subject):
        return self.filter(subject=subject)

    def at_address(self, subject_slug, slug):
        return self.filter(subject__slug=subject_slug, slug=slug)
