"""Which copy of a cross-posted article search engines index: sets ``Article.canonical``.

Copies of one article share a slug and either a source id (cross-posted: 2,402 source ids in
the full corpus, in two or three subjects each) or a move: the moved-questions file says the
article at the old address now lives at the new one, and both still stand (the file's old
copies sometimes carry their own source id). Exactly one copy of each group is canonical
(``canonical`` is empty); every other copy points at it. The rule, first difference wins:

1. a copy readers can see (published, not scheduled for later) over one they cannot;
2. an indexable copy (subject listed, article not noindex) over one that is not, because a
   canonical link to a noindex page tells search engines two contradicting things;
3. the copy the moved-questions file names as the article's current place (the new path of
   a ``Redirect`` row it wrote) over the others;
4. the copy in the subject that comes first on /learn (``Subject.position``);
5. the oldest row (lowest primary key).

This module decides and stores; it never serves pages. It writes only rows whose choice
changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from articles.addresses import article_path
from articles.caching import wide_change
from articles.models import Article, Redirect
from articles.querysets import is_published

#: Keys per query when clearing links or matching paths.
BATCH = 500


@dataclass
class CanonicalReport:
    """``groups``: groups of two or more copies; ``copies``: articles in them; ``changed``:
    articles whose ``canonical`` was rewritten (stale links cleared included)."""

    groups: int = 0
    copies: int = 0
    changed: int = 0


class _Groups:
    """Union-find over article primary keys."""

    def __init__(self):
        self.parent = {}

    def find(self, pk):
        self.parent.setdefault(pk, pk)
        while self.parent[pk] != pk:
            self.parent[pk] = self.parent[self.parent[pk]]
            pk = self.parent[pk]
        return pk

    def union(self, a, b):
        self.parent[self.find(a)] = self.find(b)


def update_canonical(source_ids=None, article_ids=()):
    """Recompute canonical copies by the module's rule, set-based.

    ``source_ids``: limit the work to the groups of articles with these source ids (an
    iterable or a ``values("source_id")`` queryset); None recomputes every group.
    ``article_ids``: articles whose group must be recomputed too (one whose slug or source
    id changed), with any article pointing at them. Costs a fixed number of queries plus
    one UPDATE per group whose choice changed. Returns a CanonicalReport.
    """
    if source_ids is None:
        slugs = (
            Article.objects.order_by()
            .values("slug")
            .annotate(copies=Count("pk"))
            .filter(copies__gt=1)
            .values("slug")
        )
    else:
        if not hasattr(source_ids, "query"):
            source_ids = [pk for pk in source_ids if pk is not None]
        article_ids = list(article_ids)
        slugs = (
            Article.objects.filter(
                Q(source_id__in=source_ids) | Q(pk__in=article_ids) | Q(canonical__in=article_ids)
            )
            .order_by()
            .values("slug")
        )
    rows = list(
        Article.objects.filter(slug__in=slugs)
        .order_by()
        .values_list(
            "pk",
            "source_id",
            "slug",
            "status",
            "publish_at",
            "no_index",
            "canonical_id",
            "subject__slug",
            "subject__listed",
            "subject__position",
        )
    )
    by_pk = {row[0]: row for row in rows}
    pk_at = {article_path(row[7], row[2]): row[0] for row in rows}

    moved = Redirect.objects.filter(source=Redirect.Source.MOVED_FILE)
    if source_ids is None:
        links = list(moved.values_list("old_path", "new_path"))
    else:
        links, paths = [], list(pk_at)
        for start in range(0, len(paths), BATCH):
            chunk = paths[start : start + BATCH]
            links.extend(
                moved.filter(Q(old_path__in=chunk) | Q(new_path__in=chunk)).values_list(
                    "old_path", "new_path"
                )
            )
    named = {pk_at[new] for _, new in links if new in pk_at}

    groups = _Groups()
    first_with = {}
    for row in rows:
        groups.find(row[0])
        if row[1] is not None:
            key = (row[1], row[2])
            if key in first_with:
                groups.union(row[0], first_with[key])
            else:
                first_with[key] = row[0]
    for old, new in links:
        if old in pk_at and new in pk_at:
            groups.union(pk_at[old], pk_at[new])
    members = {}
    for pk, row in by_pk.items():
        members.setdefault(groups.find(pk), []).append(row)
    members = [copies for copies in members.values() if len(copies) > 1]

    now = timezone.now()

    def rank(row):
        pk, _, _, status, publish_at, no_index, _, _, listed, position = row
        visible = is_published(status, publish_at, now)
        indexable = visible and listed and not no_index
        return (not visible, not indexable, pk not in named, position, pk)

    wanted = {pk: None for pk in by_pk}
    for copies in members:
        winner = min(copies, key=rank)[0]
        for row in copies:
            if row[0] != winner:
                wanted[row[0]] = winner
    changes = {pk: target for pk, target in wanted.items() if by_pk[pk][6] != target}
    # A link left on an article outside the rows looked at (its slug changed, or the full
    # run found no copy of it any more) is stale.
    stale = Article.objects.filter(canonical__isnull=False).order_by()
    if source_ids is not None:
        stale = stale.filter(Q(source_id__in=source_ids) | Q(pk__in=article_ids))
    for pk in stale.values_list("pk", flat=True):
        if pk not in wanted:
            changes[pk] = None

    by_target = {}
    for pk, target in changes.items():
        by_target.setdefault(target, []).append(pk)
    # One UPDATE per canonical copy whose followers changed: plain statements the database
    # runs faster than bulk_update's CASE over thousands of rows. Clearing goes first, so
    # no row is left pointing at a copy that itself points elsewhere.
    with transaction.atomic(), wide_change(len(changes)):
        cleared = by_target.pop(None, [])
        for start in range(0, len(cleared), BATCH):
            Article.objects.filter(pk__in=cleared[start : start + BATCH]).update(canonical=None)
        for target, pks in by_target.items():
            Article.objects.filter(pk__in=pks).update(canonical=target)
    return CanonicalReport(groups=len(members), copies=sum(map(len, members)), changed=len(changes))
