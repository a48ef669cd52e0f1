"""Import front matter files into the database: an upsert keyed by each article's address.

Parsing and rendering (CPU-bound) run in worker processes; this package owns the writes.
Each batch of articles is written with its related links in one transaction, so an import
killed at any moment leaves whole articles only, and running it again completes it. The
management command and any admin view are thin wrappers over ``import_paths``.

Here: the public API (import_paths, ImportReport, prune), running files.py (what to read),
prepare.py (workers: parse and render), plan.py (what to do, no database) and write.py
(one transaction per batch) in turn. The rest of the project uses only this API.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from articles import changes
from articles.importing.files import collect_files
from articles.importing.images import add_images
from articles.importing.plan import UrlClaims
from articles.importing.prepare import init_worker, prepare_file
from articles.importing.subjects import apply_subjects, load_subjects_file
from articles.importing.write import Writer
from articles.models import Article
from articles.sitelock import site_lock
from articles.workers import parallel_map

__all__ = ["BATCH_SIZE", "MAX_BATCH_SIZE", "ImportReport", "import_paths", "prune"]

#: Articles written per transaction.
BATCH_SIZE = 500
#: The largest batch: a transaction holds SQLite's write lock, and an editor's save waits
#: for it (20 s at most, settings.DATABASES' timeout); 1,000 articles take well under that.
MAX_BATCH_SIZE = 1000
#: Below this many files, worker processes cost more than they save.
MIN_FILES_FOR_WORKERS = 200


class _Rollback(Exception):
    """Raised inside the dry run's transaction to undo it."""


@dataclass
class ImportReport:
    """What an import did.

    ``errors``: one FrontMatterError per file that failed. ``conflicts``: messages for
    articles an editor changed since their last import that differ from their file
    (skipped unless forced). ``pruned``: articles removed or unpublished by ``prune``.
    ``articles``: ``(action, url)`` for each article written or planned, ``action`` being
    an importing.plan.Action value ("create", "update", ...), in the order of the files.
    """

    files: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)
    conflicts: list = field(default_factory=list)
    pruned: int = 0
    articles: list = field(default_factory=list)
    dangling_links: int = 0
    resolved_links: int = 0
    #: Images of the import's ``uploads/`` folders added to the library (importing.images).
    images: int = 0
    #: Articles whose suggested related questions changed, and the seconds it took.
    suggestions_changed: int = 0
    suggestions_elapsed: float = 0.0
    elapsed: float = 0.0
    dry_run: bool = False

    @property
    def failed(self):
        return len(self.errors)

    @property
    def changed(self):
        return self.created + self.updated + self.pruned

    def summary(self):
        text = (
            f"{self.files} files: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {len(self.conflicts)} conflicts, "
            f"{self.failed} failed"
        )
        if self.pruned:
            text += f", {self.pruned} pruned"
        if self.images:
            text += f"; {self.images} images added"
        text += f"; {self.dangling_links} dangling related links"
        if self.suggestions_changed:
            text += (
                f"; suggested related questions changed for {self.suggestions_changed} "
                f"articles ({self.suggestions_elapsed:.1f} s)"
            )
        text += f"; {self.elapsed:.1f} s"
        if self.dry_run:
            text = "Dry run, nothing written. Would have: " + text
        return text


def prune(roots, seen_paths, mode="delete"):
    """Remove (``mode="delete"``) or unpublish (``"unpublish"``) articles whose file is gone.

    Only articles whose source_path lies under one of ``roots`` (folders or archives
    just imported) and is not in ``seen_paths`` are touched; articles written in the
    admin have no source_path and are never touched. Returns the number of articles.
    """
    if not roots:
        return 0
    gone = []
    for root in roots:
        candidates = Article.objects.filter(source_path__startswith=root).values_list(
            "pk", "source_path"
        )
        gone.extend(pk for pk, path in candidates if path not in seen_paths)
    if not gone:
        return 0
    queryset = Article.objects.filter(pk__in=gone)
    if mode == "unpublish":
        # Forget the file's hash: if the file comes back, it is read and republished.
        return queryset.exclude(status=Article.Status.DRAFT).update(
            status=Article.Status.DRAFT,
            source_hash="",
            updated=timezone.now(),
            version=F("version") + 1,
        )
    count = len(gone)
    queryset.delete()
    return count


def import_paths(
    paths,
    subjects_file=None,
    workers=None,
    progress=None,
    force=False,
    dry_run=False,
    prune_mode=None,
    batch_size=BATCH_SIZE,
):
    """Import files, folders and archives of front matter Markdown.

    ``paths``: files, folders (searched recursively for ``*.md``) or .zip / .tar.gz
    archives of them. ``subjects_file``: optional subjects JSON (see load_subjects_file);
    when given it decides the subjects' titles and order and which are listed.
    ``workers``: processes for parsing and rendering (default one per CPU).
    ``progress``: optional callable ``progress(done, total)`` called as files are
    handled (``done`` files since the last call, of ``total``). ``force``: take the
    file's version even where an editor changed the article since its last import.
    ``dry_run``: do everything, report it, then roll it all back. ``prune_mode``:
    None, ``"delete"`` or ``"unpublish"`` for articles whose files are gone (see prune).
    A file whose bytes match the last imported version is skipped without parsing.

    Returns an ImportReport; bad files are reported in it, never raised. Raises
    FrontMatterError when a path, an archive or the subjects file cannot be read.
    """
    started = time.perf_counter()
    batch_size = max(1, min(batch_size, MAX_BATCH_SIZE))
    report = ImportReport(dry_run=dry_run)
    entries = load_subjects_file(subjects_file) if subjects_file else None
    with contextlib.ExitStack() as stack:
        # Shared with other imports and re-renders; never beside a restore.
        stack.enter_context(site_lock(exclusive=False, wait=True))
        uploads = []
        files, roots = collect_files(paths, stack, report.errors, uploads)
        report.files = len(files)
        if dry_run:
            stack.enter_context(_rolled_back())
        # Before the answers are checked: they must find the images they show in storage.
        # (A dry run's rows are rolled back; the files stay, and a later import finds
        # them by name and content.)
        report.images = add_images(uploads, files, report.errors)
        if entries is not None:
            apply_subjects(entries)
        known = frozenset(
            Article.objects.exclude(source_hash="").values_list("source_hash", flat=True)
        )
        writer = Writer(report, entries is not None, force, batch_size)
        claims = UrlClaims()
        prepared = parallel_map(
            prepare_file,
            files,
            workers,
            min_items=MIN_FILES_FOR_WORKERS,
            initializer=init_worker,
            initargs=(known,),
        )
        for outcome, _source, payload in prepared:
            if outcome == "ok":
                refused = claims.refuse(payload.record)
                if refused is not None:
                    report.errors.append(refused)
                else:
                    writer.add(payload)
            elif outcome == "unchanged":
                report.unchanged += 1
            else:
                report.errors.append(payload)
            if progress is not None:
                progress(1, report.files)
        writer.finish()
        if prune_mode:
            report.pruned = prune(roots, {f.source_path for f in files}, prune_mode)
        suggestions = changes.import_finished(
            content_changed=bool(report.changed or report.resolved_links) and not dry_run
        )
        if suggestions is not None:
            report.suggestions_changed = suggestions.changed
            report.suggestions_elapsed = suggestions.elapsed
    report.elapsed = time.perf_counter() - started
    return report


@contextlib.contextmanager
def _rolled_back():
    """A transaction that is always rolled back: the dry run's."""
    with contextlib.suppress(_Rollback), transaction.atomic():
        yield
        raise _Rollback
