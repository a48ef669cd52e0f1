"""Moved addresses: the ``Redirect`` rows written by editor moves and the moved-questions file.

Owns the table's invariant: every row's ``new_path`` is an address no row starts from, so a
reader is sent on at most once and never round a loop. It does not serve redirects (that is
articles.middleware, for addresses where no article answers) and does not choose canonical
copies (articles.canonical), though loading the moved-questions file asks for them to be
recomputed, since the file names each moved article's current copy.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from articles import canonical, related
from articles.addresses import article_path, subject_feed_path, subject_path
from articles.models import Article, Redirect, Subject

#: Rows fetched or filtered per query, well under SQLite's bound-parameter limit.
CHUNK = 500

_SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
_ARTICLE_PATH_RE = re.compile(r"^/learn/(?P<subject>[-a-zA-Z0-9_]+)/questions/[-a-zA-Z0-9_]+$")


def _chunks(items, size=CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- moves ------------------------------------------------------------------------------


def record_moves(moves, source=None):
    """Record that the content at each key of ``moves`` now lives at its value.

    ``moves``: ``{old path: new path}``, site-relative; no path may be both a key and a
    value. ``source``: a ``Redirect.Source`` (default: an editor's move).
    Keeps the table collapsed: rows that led to an old path now lead to its new one (A→B,
    then B→C gives A→C and B→C), and rows starting at a new path are dropped, since an
    article answers there now; that is also why moving back (X→Y, then Y→X) leaves only
    Y→X and never a loop. Runs in one transaction. Returns the number of rows written.
    """
    source = source or Redirect.Source.EDITOR
    moves = {old: new for old, new in moves.items() if old != new}
    if not moves:
        return 0
    with transaction.atomic():
        for chunk in _chunks(set(moves.values())):
            Redirect.objects.filter(old_path__in=chunk).delete()
        repointed = []
        for chunk in _chunks(moves):
            for row in Redirect.objects.filter(new_path__in=chunk):
                row.new_path = moves[row.new_path]
                repointed.append(row)
        Redirect.objects.bulk_update(repointed, ["new_path"], batch_size=CHUNK)
        Redirect.objects.bulk_create(
            [Redirect(old_path=old, new_path=new, source=source) for old, new in moves.items()],
            batch_size=CHUNK,
            update_conflicts=True,
            unique_fields=["old_path"],
            update_fields=["new_path", "source"],
        )
    return len(moves) + len(repointed)


# --- the moved-questions file ----------------------------------------------------------


class MovedFileError(ValueError):
    """The moved-questions file cannot be read or is not in its format."""


@dataclass
class MovedReport:
    """What loading a moved-questions file did.

    ``entries``: items in the file. ``duplicates``: items repeating an earlier item.
    ``conflicting``: old addresses listed with more than one new place. ``chains``: distinct
    moves whose new place is itself a moved address (collapsed). ``cycles``: addresses
    chosen as the end of a loop of moves. ``loaded``: rows written. ``served_in_place``:
    old addresses where an article still answers and nothing better is known, so no row.
    ``unresolved``: rows whose new place holds no published article or page.
    ``to_other_copy`` / ``to_subject_page``: moves whose new place holds no article, sent to
    another copy of the same question / to the new place's subject page instead.
    ``editor_rows_repointed``: editor rows changed to keep the table collapsed.
    """

    entries: int = 0
    duplicates: int = 0
    conflicting: int = 0
    chains: int = 0
    cycles: int = 0
    loaded: int = 0
    served_in_place: int = 0
    unresolved: int = 0
    to_other_copy: int = 0
    to_subject_page: int = 0
    editor_rows_repointed: int = 0
    canonical: object = None  # the CanonicalReport of the recomputation that followed
    suggestions: object = None  # articles.related's SuggestionReport, when groups changed

    def summary(self):
        text = (
            f"{self.entries} entries: {self.loaded} redirects loaded, {self.duplicates} "
            f"duplicates, {self.conflicting} conflicting, {self.chains} chains collapsed, "
            f"{self.cycles} loops broken, {self.served_in_place} served in place; new place "
            f"missing: {self.to_other_copy} sent to another copy of the question, "
            f"{self.to_subject_page} to the subject page, {self.unresolved} unresolved"
        )
        if self.editor_rows_repointed:
            text += f"; {self.editor_rows_repointed} editor redirects repointed or dropped"
        if self.canonical is not None:
            text += (
                f"; canonical copies: {self.canonical.groups} cross-posted groups, "
                f"{self.canonical.changed} articles changed"
            )
        if self.suggestions is not None:
            text += f"; suggested related questions changed for {self.suggestions.changed}"
        return text


def load_moved_file(path):
    """Read a moved-questions file: a JSON list of ``{"previous_subject", "slug",
    "current_subject"}`` (subject and article slugs), as the live site kept it.

    Returns ``[(old path, new path), …]`` in file order, duplicates and all.
    Raises MovedFileError naming the first bad item.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise MovedFileError(f"{path}: cannot read the moved-questions file: {error}") from None
    if not isinstance(data, list):
        raise MovedFileError(f"{path}: expected a JSON list")
    moves = []
    for index, item in enumerate(data):
        keys = ("previous_subject", "slug", "current_subject")
        if not isinstance(item, dict) or not all(
            isinstance(item.get(key), str) and _SLUG_RE.match(item[key]) for key in keys
        ):
            raise MovedFileError(
                f"{path}: item {index} must have the slugs previous_subject, slug and "
                f"current_subject; got {item!r}"
            )
        moves.append(
            (
                article_path(item["previous_subject"], item["slug"]),
                article_path(item["current_subject"], item["slug"]),
            )
        )
    return moves


def count_warts(moves):
    """A MovedReport with ``entries``, ``duplicates``, ``conflicting`` and ``chains`` of
    ``moves`` (``[(old path, new path), …]``) counted."""
    pairs = set(moves)
    news_of = {}
    for old, new in pairs:
        if old != new:
            news_of.setdefault(old, set()).add(new)
    return MovedReport(
        entries=len(moves),
        duplicates=len(moves) - len(pairs),
        conflicting=sum(1 for news in news_of.values() if len(news) > 1),
        chains=sum(1 for old, new in pairs if new in news_of and new != old),
    )


def plan_redirects(moves, live, rank):
    """Collapse a list of moves into one target per old address. Pure: no database.

    ``moves``: ``[(old path, new path), …]`` in order of authority (a later move of the
    same address is the more recent). ``live``: the set of paths where an article answers.
    ``rank``: path -> sort key, lower is better (used to break ties and loops).
    Returns ``(targets, report)``: ``targets`` maps each old address to a path no key starts
    from, preferring one that is live, then the most recent move, then ``rank``; ``report``
    is a MovedReport with the file's warts counted (entries, duplicates, conflicting,
    chains, cycles, served_in_place, unresolved).

    Rules, in order: a closed loop of moves (every address in it moved on) ends at its best
    address by (live, rank); an old address where an article answers and from which no live
    address can be reached keeps no row (its article is served, and a redirect could only
    lead to a missing page).
    """
    report = count_warts(moves)
    edges = {}
    for index, (old, new) in enumerate(moves):
        if old != new:
            edges.setdefault(old, {})[new] = index
    sources = set(edges)

    def reach(start):
        """Addresses reachable from ``start`` through moved addresses, and the terminals
        among them (not moved on) with the index of the latest move into each."""
        seen, terminals, stack = set(), {}, [start]
        while stack:
            for nxt, index in edges[stack.pop()].items():
                if nxt == start:
                    continue
                if nxt not in sources:
                    terminals[nxt] = max(terminals.get(nxt, -1), index)
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen, terminals

    def home_key(path):
        return (path not in live, rank(path), path)

    while True:
        reached = {old: reach(old) for old in sorted(sources)}
        closed = [old for old, (_, terminals) in reached.items() if not terminals]
        if closed:
            # A loop with no way out: its best address keeps its content; the rest lead there.
            old = closed[0]
            sources.discard(min({old, *reached[old][0]}, key=home_key))
            report.cycles += 1
            continue
        in_place = [
            old
            for old, (_, terminals) in reached.items()
            if old in live and not live.intersection(terminals)
        ]
        if not in_place:
            break
        sources.difference_update(in_place)
        report.served_in_place += len(in_place)

    targets = {}
    for old, (_, terminals) in reached.items():
        targets[old] = min(
            terminals, key=lambda path: (path not in live, -terminals[path], rank(path), path)
        )
    report.unresolved = sum(1 for new in targets.values() if new not in live)
    return targets, report


def import_moved(moves):
    """Load moves from a moved-questions file (see load_moved_file) into the table.

    Replaces every row the file wrote before; editor rows are kept and take precedence for
    their old address (an editor's move is more recent than the file), and are repointed
    where needed to keep the table collapsed. A move whose new place holds no article (the
    corpus at hand may lack it) leads instead to another published copy of the same slug
    (the same question) or, failing that, to the new place's subject page, so an old link
    never ends on a 404; loading the file again after importing the article points the
    row at it. Then recomputes canonical copies, since the file names each moved
    article's current copy. One transaction.
    Returns a MovedReport (see plan_redirects) with ``loaded``, ``to_other_copy``,
    ``to_subject_page`` and ``editor_rows_repointed`` set.
    """
    subjects = {
        slug: (not listed, position)
        for slug, listed, position in Subject.objects.values_list("slug", "listed", "position")
    }
    copies = {}  # slug -> published addresses, canonical copies first
    for subject_slug, slug, canonical_id in (
        Article.objects.published().order_by().values_list("subject__slug", "slug", "canonical_id")
    ):
        copies.setdefault(slug, []).append((canonical_id is not None, subject_slug))
    live = {article_path(subject, slug) for slug, found in copies.items() for _, subject in found}
    live.update(subject_path(slug) for slug in subjects)
    live.update(subject_feed_path(slug) for slug in subjects)

    def rank(path):
        match = _ARTICLE_PATH_RE.match(path)
        return subjects.get(match["subject"], (True, 1 << 30)) if match else (True, 1 << 30)

    with transaction.atomic():
        editor_rows = {
            row.old_path: row for row in Redirect.objects.filter(source=Redirect.Source.EDITOR)
        }
        file_moves = [(old, new) for old, new in moves if old not in editor_rows]
        editor_moves = [(row.old_path, row.new_path) for row in editor_rows.values()]
        targets, report = plan_redirects(file_moves + editor_moves, live, rank)
        warts = count_warts(moves)
        report.entries, report.duplicates = warts.entries, warts.duplicates
        report.conflicting, report.chains = warts.conflicting, warts.chains

        for old, new in targets.items():
            match = _ARTICLE_PATH_RE.match(new)
            if new in live or not match:
                continue
            slug = new.rsplit("/", 1)[1]
            found = sorted(
                (is_copy, rank(article_path(subject, slug)), subject)
                for is_copy, subject in copies.get(slug, [])
            )
            others = [article_path(subject, slug) for *_, subject in found]
            others = [path for path in others if path not in targets and path != old]
            page = subject_path(match["subject"])
            if others:
                targets[old] = others[0]
                report.to_other_copy += 1
            elif match["subject"] in subjects:
                targets[old] = targets.get(page, page)
                report.to_subject_page += 1
        report.unresolved = sum(1 for new in targets.values() if new not in live)

        Redirect.objects.filter(source=Redirect.Source.MOVED_FILE).delete()
        repointed, dropped = [], []
        for old, row in editor_rows.items():
            if old not in targets:
                dropped.append(row.pk)
            elif targets[old] != row.new_path:
                row.new_path = targets[old]
                repointed.append(row)
        Redirect.objects.filter(pk__in=dropped).delete()
        Redirect.objects.bulk_update(repointed, ["new_path"], batch_size=CHUNK)
        rows = [
            Redirect(old_path=old, new_path=new, source=Redirect.Source.MOVED_FILE)
            for old, new in sorted(targets.items())
            if old not in editor_rows
        ]
        Redirect.objects.bulk_create(rows, batch_size=CHUNK)
        report.loaded = len(rows)
        report.editor_rows_repointed = len(repointed) + len(dropped)
        report.canonical = canonical.update_canonical()
        if report.canonical.changed:
            # New groups of copies: no article may be suggested to a copy of itself.
            report.suggestions = related.compute_all()
    return report
