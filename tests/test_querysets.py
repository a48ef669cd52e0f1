"""The one visibility rule: the queryset and the row predicate agree on every case."""

import datetime

import pytest
from django.utils import timezone

from articles.models import Article

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


@pytest.mark.parametrize(
    "status, offset, readers_see_it",
    [
        ("published", None, True),
        ("published", -HOUR, True),
        ("published", HOUR, False),
        ("draft", None, False),
        ("draft", -HOUR, False),
        ("draft", HOUR, False),
    ],
)
def test_published_queryset_and_is_published_agree(sample_site, status, offset, readers_see_it):
    article = Article.objects.order_by("pk").first()
    publish_at = None if offset is None else timezone.now() + offset
    Article.objects.filter(pk=article.pk).update(status=status, publish_at=publish_at)
    article.refresh_from_db()
    assert article.is_published is readers_see_it
    assert Article.objects.published().filter(pk=article.pk).exists() is readers_see_it
    assert Article.objects.unpublished().filter(pk=article.pk).exists() is not readers_see_it
    assert Article.objects.scheduled().filter(pk=article.pk).exists() is (
        status == "published" and offset == HOUR
    )
