"""The one visibility rule: the queryset and the row predicate agree on every case."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles import querysets
from articles.models import Article, Subject

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


# --- bulk_insert: bulk_create's rows, written without Django's per-value compiler ----------


def new_articles(subject, prefix, count):
    return [
        Article(
            subject=subject,
            slug=f"{prefix}-{n}",
            title=f"Question {n}",
            question=f"Question {n}?",
            answer=f"Answer {n}: $x^{n}$",
            date=datetime.date(2024, 2, 9),
            score=0.5 if n % 2 else None,
            no_index=bool(n % 3),
            status=Article.Status.PUBLISHED if n % 2 else "draft",
            publish_at=datetime.datetime(2031, 5, 1, 9, 30, tzinfo=datetime.UTC)
            if n == 4
            else None,
            extra_front_matter={"layout": "qa", "when": "2024-02-09", "n": n},
            front_matter_keys=["title", "question", "answer"],
            source_id=9_000_000_000 + n,
            renderer_version=True if n == 5 else 3,  # a bool in an integer field: converted
        )
        for n in range(count)
    ]


def stored(prefix):
    rows = Article.objects.filter(slug__startswith=f"{prefix}-").order_by("slug").values()
    skip = {"id", "slug", "created", "updated"}
    return [{k: v for k, v in row.items() if k not in skip} for row in rows]


def test_bulk_insert_writes_what_bulk_create_writes(sample_site):
    subject = Article.objects.first().subject
    made = Article.objects.bulk_create(new_articles(subject, "made", 7))
    inserted = Article.objects.bulk_insert(new_articles(subject, "inserted", 7))
    assert stored("inserted") == stored("made")
    assert len(stored("inserted")) == 7
    assert [a.pk for a in inserted] == list(
        Article.objects.filter(slug__startswith="inserted-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    assert all(not a._state.adding for a in inserted) and made[0].created is not None
    assert all(a.created is not None and a.updated is not None for a in inserted)


def test_bulk_insert_splits_rows_over_statements(sample_site, monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL writes every row in one COPY")
    monkeypatch.setattr(querysets, "INSERT_ROWS", 3)
    subject = Article.objects.first().subject
    with CaptureQueriesContext(connection) as queries:
        inserted = Article.objects.bulk_insert(new_articles(subject, "split", 7))
    inserts = [q for q in queries if q["sql"].startswith("INSERT INTO")]
    assert len(inserts) == 3
    assert sorted(a.slug for a in Article.objects.filter(pk__in=[a.pk for a in inserted])) == [
        f"split-{n}" for n in range(7)
    ]


def test_bulk_insert_raises_djangos_errors(sample_site):
    """A refused row is Django's IntegrityError on both databases (the import's writer
    catches DatabaseError to find the article at fault)."""
    subject = Article.objects.first().subject
    Article.objects.bulk_insert(new_articles(subject, "twice", 2))
    with pytest.raises(IntegrityError), transaction.atomic():
        Article.objects.bulk_insert(new_articles(subject, "twice", 2))


def test_bulk_insert_takes_the_key_of_a_related_object_saved_after_it_was_assigned(sample_site):
    subject = Subject(slug="saved-later", title="Saved later")
    articles = new_articles(subject, "later", 2)
    subject.save()
    Article.objects.bulk_insert(articles)
    assert set(
        Article.objects.filter(slug__startswith="later-").values_list("subject", flat=True)
    ) == {subject.pk}


def test_bulk_insert_refuses_rows_that_have_a_key(sample_site):
    article = Article.objects.first()
    with pytest.raises(ValueError, match="new rows only"):
        Article.objects.bulk_insert([article])
