"""Who may see what: the one rule for "may a reader see this article now", as a Q for
queries and as a predicate for rows already loaded, and the querysets built on it.

Pages, related links, canonical choice, sitemaps, feeds, search and the admin's reports all
start from here; nothing else spells the rule out.
"""

import sqlite3

from django.db import connections, models
from django.db.models import Count, Q
from django.utils import timezone

from articles.caching import SITE, in_wide_change, invalidate

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
        if _page_namer is None or in_wide_change():
            return {SITE}
        return _page_namer(self.model, pks, objs)

    def _pks(self):
        return list(self.order_by().values_list("pk", flat=True))

    def update(self, **kwargs):
        if in_wide_change():
            return super().update(**kwargs)
        pks = self._pks()
        before = self._before(pks, kwargs)
        rows = super().update(**kwargs)
        if rows:
            invalidate(before | self._page_tags(pks))
        return rows

    def delete(self):
        if in_wide_change():
            return super().delete()
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

    def bulk_insert(self, objs):
        """bulk_create for many new rows, at a fraction of its cost: each value is prepared
        once by its field (``pre_save`` then ``get_db_prep_save``, so defaults, auto_now
        and JSON are as bulk_create writes them). On SQLite rows go in multi-row ``INSERT
        ... RETURNING`` statements of up to INSERT_ROWS rows, within the parameter limit;
        on PostgreSQL the keys are drawn from the table's sequence first and the rows go
        in one ``COPY``. Django's compiler spent most of an import's writing time on the
        same values, and psycopg its own parsing a multi-row INSERT's placeholders.

        ``objs``: unsaved instances of a model with an auto-increment primary key (a set
        ``pk`` raises ValueError), holding values, not expressions; each gets its ``pk``.
        A related object saved after it was assigned gives its key, as in bulk_create.
        Sends no signals and marks pages stale as bulk_create does. Database errors are
        Django's (IntegrityError, ...) on both databases. Returns ``objs`` as a list."""
        objs = list(objs)
        if not objs:
            return objs
        for obj in objs:
            if obj.pk is not None:
                raise ValueError(f"bulk_insert writes new rows only; {obj!r} has a key")
            obj._prepare_related_fields_for_save(operation_name="bulk_insert")
        connection = connections[self.db]
        fields = [f for f in self.model._meta.concrete_fields if not f.primary_key]
        table = self.model._meta.db_table
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        pk_column = self.model._meta.pk.column
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [quote(table), pk_column, len(objs)],
                )
                pks = [pk for (pk,) in cursor.fetchall()]
                # psycopg's own COPY: its errors are wrapped as Django's by hand.
                with (
                    connection.wrap_database_errors,
                    cursor.cursor.copy(
                        f"COPY {quote(table)} ({quote(pk_column)}, {columns}) FROM STDIN"
                    ) as copy,
                ):
                    for pk, obj in zip(pks, objs, strict=True):
                        copy.write_row([pk, *_db_values(obj, fields, connection)])
            else:
                pks = []
                step = max(1, min(INSERT_ROWS, _parameter_limit(connection) // len(fields)))
                row = "(" + ", ".join(["%s"] * len(fields)) + ")"
                for start in range(0, len(objs), step):
                    chunk = objs[start : start + step]
                    cursor.execute(
                        f"INSERT INTO {quote(table)} ({columns}) "
                        f"VALUES {', '.join([row] * len(chunk))} RETURNING {quote(pk_column)}",
                        [value for obj in chunk for value in _db_values(obj, fields, connection)],
                    )
                    # Rows come back in the order they were given, as bulk_create relies on.
                    pks.extend(pk for (pk,) in cursor.fetchall())
        for pk, obj in zip(pks, objs, strict=True):
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = self.db
        invalidate(self._page_tags(pks, objs))
        return objs

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        pks = [obj.pk for obj in objs]
        before = self._before(pks, fields)
        rows = super().bulk_update(objs, fields, *args, **kwargs)
        if rows:
            invalidate(before | self._page_tags(pks, objs))
        return rows


#: Rows a statement at most in ChangeTrackingQuerySet.bulk_insert.
INSERT_ROWS = 500


def _db_values(obj, fields, connection):
    """``obj``'s values of ``fields`` as bulk_create writes them (defaults, auto_now, JSON)."""
    return [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]


def _parameter_limit(connection):
    """How many parameters one statement may hold on ``connection``: SQLite's compiled-in
    limit (32,766 since 3.32; Django assumes the old 999), PostgreSQL's protocol's 65,535."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return connection.features.max_query_params or 65_535


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
