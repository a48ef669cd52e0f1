"""Counting the admin's lists without a full-table COUNT(*): the estimating paginator and
the article changelist that reads only the columns it shows.

Owns pagination and the changelist's queryset only; filters, search and ordering stay on
the ModelAdmins and in articles.admin.filters.
"""

from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property


class EstimatedCountPaginator(Paginator):
    """A changelist paginator that never counts a large table to the end.

    The unfiltered list takes the table's size from the database's statistics
    (PostgreSQL's ``pg_class.reltuples`` once the table was analysed) or else from the
    highest id, a one-row read of the primary key index. A filtered or searched list is
    counted up to COUNT_CAP rows and no further. ``count_label`` says which it was
    ("1,204", "about 32,327", "more than 10,000") for the changelist templates.
    """

    COUNT_CAP = 10_000

    @cached_property
    def _counted(self):
        queryset = self.object_list
        if not queryset.query.where:
            return self._estimate(queryset), "about"
        counted = queryset.order_by().values("pk")[: self.COUNT_CAP + 1].count()
        if counted > self.COUNT_CAP:
            return self.COUNT_CAP, "more than"
        return counted, ""

    @staticmethod
    def _estimate(queryset):
        model, db = queryset.model, queryset.db
        connection = connections[db]
        if connection.vendor == "postgresql":
            # One query either way: reltuples is -1 (or 0) until the table is analysed.
            table = connection.ops.quote_name(model._meta.db_table)
            pk = connection.ops.quote_name(model._meta.pk.column)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT CASE WHEN reltuples > 0 THEN reltuples::bigint "
                    f"ELSE (SELECT MAX({pk}) FROM {table}) END "
                    "FROM pg_class WHERE oid = %s::regclass",
                    [table],
                )
                row = cursor.fetchone()
            return int(row[0] or 0) if row else 0
        highest = model._default_manager.using(db).order_by("-pk").values_list("pk", flat=True)
        return highest.first() or 0

    @property
    def count(self):
        return self._counted[0]

    @property
    def count_is_exact(self):
        return not self._counted[1]

    @property
    def count_label(self):
        number, qualifier = self._counted
        return f"{qualifier} {number:,}".strip()


class ArticleChangeList(ChangeList):
    """The article list reads only the columns it shows: answers and their HTML are
    the bulk of a row (up to 16 KB) and a page holds 50 rows."""

    LIST_COLUMNS = (
        "question",
        "subject",
        "date",
        "status",
        "publish_at",
        "no_index",
        "updated",
    )

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.only(*self.LIST_COLUMNS)
