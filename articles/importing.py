"""Import front matter files into the database: an upsert keyed by each article's address.

Parsing and rendering (CPU-bound) run in worker processes; this module owns the writes.
Each batch of articles is written with its related links in one transaction, so an import
killed at any moment leaves whole articles only, and running it again completes it. The
management command and any admin view are thin wrappers over ``import_paths``.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from articles import canonical, newlines, rendering, search
from articles.caching import bump_content_version
from articles.frontmatter import URL_RE, ArticleRecord, FrontMatterError, parse_bytes
from articles.models import Article, RelatedLink, Subject
from articles.workers import parallel_map

logger = logging.getLogger(__name__)

#: Articles written per transaction.
BATCH_SIZE = 500
#: Below this many files, worker processes cost more than they save.
MIN_FILES_FOR_WORKERS = 200
ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")

#: Article fields an import sets from a file, compared to decide "updated" vs "unchanged".
IMPORTED_FIELDS = (
    "source_id",
    "title",
    "article_title",
    "question",
    "answer",
    "date",
    "date_format",
    "post_on_text",
    "author",
    "subject_name",
    "file_name",
    "seo_title",
    "seo_description",
    "seo_keywords",
    "score",
    "no_index",
    "extra_front_matter",
    "front_matter_keys",
    "body",
)
#: Written on every create or update, besides IMPORTED_FIELDS.
BOOKKEEPING_FIELDS = (
    "answer_html",
    "renderer_version",
    "source_hash",
    "source_path",
    "imported_at",
    "updated",
)
LINK_FIELDS = ("position", "title", "url", "subject_name", "source_id")


class _Rollback(Exception):
    """Raised inside the dry run's transaction to undo it."""


@dataclass(frozen=True)
class SourceFile:
    """A file to import: where to read it, and the path recorded on its article.

    ``source_path`` is the file's absolute path; for a member of an archive it is the
    archive's absolute path followed by the member's path inside it, as if the archive
    were a folder, so ``--prune`` can tell which articles came from it.
    """

    path: Path
    source_path: str


@dataclass(frozen=True)
class PreparedArticle:
    """A parsed file with its answer decoded and rendered, ready to write."""

    record: ArticleRecord
    source_path: str
    answer: str
    answer_html: str
    renderer_version: int

    def field_values(self):
        r = self.record
        return {
            "source_id": r.source_id,
            "title": r.title,
            "article_title": r.article_title,
            "question": r.question,
            "answer": self.answer,
            "date": r.date,
            "date_format": r.date_format,
            "post_on_text": r.post_on_text,
            "author": r.author,
            "subject_name": r.subject_name,
            "file_name": r.file_name,
            "seo_title": r.seo_title,
            "seo_description": r.seo_description,
            "seo_keywords": r.seo_keywords,
            "score": r.score,
            "no_index": r.no_index,
            # Dates and other YAML scalars must survive a JSON column.
            "extra_front_matter": json.loads(json.dumps(r.extra, default=str)),
            "front_matter_keys": list(r.keys),
            "body": r.body,
        }

    def link_values(self):
        return [tuple(getattr(link, name) for name in LINK_FIELDS) for link in self.record.related]


@dataclass
class ImportReport:
    """What an import did.

    ``errors``: one FrontMatterError per file that failed. ``conflicts``: messages for
    articles an editor changed since their last import whose file changed too (skipped
    unless forced). ``pruned``: articles removed or unpublished by ``prune``.
    """

    files: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)
    conflicts: list = field(default_factory=list)
    pruned: int = 0
    dangling_links: int = 0
    resolved_links: int = 0
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
        text += f"; {self.dangling_links} dangling related links; {self.elapsed:.1f} s"
        if self.dry_run:
            text = "Dry run, nothing written. Would have: " + text
        return text


# --- finding files -------------------------------------------------------------------


def _is_archive(path):
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _extract(archive, into):
    """Extract a .zip or .tar.gz safely into ``into``; members may not leave it."""
    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as zipped:
                for member in zipped.namelist():
                    target = (into / member).resolve()
                    if not target.is_relative_to(into.resolve()):
                        raise FrontMatterError(archive, f"member {member!r} leaves the archive")
                zipped.extractall(into)
        else:
            with tarfile.open(archive, "r:gz") as tarred:
                tarred.extractall(into, filter="data")
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as error:
        raise FrontMatterError(archive, f"cannot read the archive: {error}") from None


def collect_files(paths, stack=None):
    """Expand files, folders (recursively, ``*.md``) and .zip / .tar.gz archives.

    Returns ``(files, roots)``: SourceFile objects in a stable order, and the
    source_path prefixes of the folders and archives given (for prune). Archives are
    extracted into temporary folders that live as long as ``stack`` (an ExitStack).
    Raises FrontMatterError for a path that does not exist or an unreadable archive.
    """
    files, roots = [], []
    for path in map(Path, paths):
        if path.is_dir():
            root = path.resolve()
            roots.append(f"{root}{os.sep}")
            files.extend(
                SourceFile(p, str(p.resolve()))
                for p in sorted(path.rglob("*.md"))
                if p.is_file()
            )
        elif _is_archive(path):
            if stack is None:
                raise FrontMatterError(path, "archives can only be imported by import_paths")
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="import-")))
            _extract(path, folder)
            logical = path.resolve()
            roots.append(f"{logical}{os.sep}")
            files.extend(
                SourceFile(p, f"{logical}{os.sep}{p.relative_to(folder)}")
                for p in sorted(folder.rglob("*.md"))
                if p.is_file()
            )
        elif path.is_file():
            files.append(SourceFile(path, str(path.resolve())))
        else:
            raise FrontMatterError(path, "no such file or folder")
    return files, roots


# --- worker side (no database) -------------------------------------------------------

_known_hashes: frozenset = frozenset()


def _init_worker(known_hashes):
    global _known_hashes
    _known_hashes = known_hashes


def prepare_file(source):
    """Read, parse, decode and render one SourceFile.

    Returns ``("unchanged", source, sha256)`` when its bytes match a file imported
    before (nothing is parsed), ``("ok", source, PreparedArticle)`` or
    ``("error", source, FrontMatterError)``.
    """
    try:
        data = source.path.read_bytes()
    except OSError as error:
        return "error", source, FrontMatterError(
            source.path, f"cannot read the file: {error.strerror}"
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest in _known_hashes:
        return "unchanged", source, digest
    try:
        record = parse_bytes(data, source.path)
        answer = newlines.decode_answer(record.answer_raw)
        result = rendering.render_markdown(answer)
    except FrontMatterError as error:
        return "error", source, error
    except Exception as error:  # a renderer bug must not stop the batch
        logger.exception("rendering %s failed", source.path)
        return "error", source, FrontMatterError(
            source.path, f"could not render the answer ({error!r}); please report this file"
        )
    prepared = PreparedArticle(
        record, source.source_path, answer, result.html, rendering.RENDERER_VERSION
    )
    return "ok", source, prepared


# --- database side -------------------------------------------------------------------


def load_subjects_file(path):
    """Read a subjects file: a JSON list of ``{"title": str, "slug": str}`` in display order.

    Returns that list. Raises FrontMatterError when it is not in that shape.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FrontMatterError(path, f"cannot read the subjects file: {error}") from None
    if not isinstance(data, list) or not all(
        isinstance(item, dict) and isinstance(item.get("slug"), str) and item.get("title")
        for item in data
    ):
        raise FrontMatterError(path, 'expected a JSON list of {"title": ..., "slug": ...}')
    return data


def apply_subjects(entries):
    """Make exactly the listed subjects listed, titled and ordered as ``entries`` says."""
    listed_slugs = []
    with transaction.atomic():
        for position, entry in enumerate(entries, start=1):
            Subject.objects.update_or_create(
                slug=entry["slug"],
                defaults={"title": entry["title"], "position": position, "listed": True},
            )
            listed_slugs.append(entry["slug"])
        Subject.objects.exclude(slug__in=listed_slugs).update(listed=False)


def _title_rank(name):
    # Several spellings of one subject occur ("Education studies" / "Education Studies");
    # the one with more capitals is the display title.
    return sum(1 for char in name if char.isupper())



class _Writer:
    """Accumulates prepared articles and writes them in batched transactions."""

    def __init__(self, report, subjects_fixed, force, batch_size):
        self.report = report
        self.subjects_fixed = subjects_fixed
        self.force = force
        self.batch_size = batch_size
        self.subjects = {s.slug: s for s in Subject.objects.all()}
        self.addresses = {
            (subject_slug, slug): pk
            for pk, subject_slug, slug in Article.objects.values_list(
                "pk", "subject__slug", "slug"
            )
        }
        self.seen = {}  # address -> path, to refuse two files with one url
        self.pending = []

    def add(self, prepared):
        record = prepared.record
        address = (record.subject_slug, record.slug)
        if address in self.seen:
            self.report.errors.append(
                FrontMatterError(
                    record.path, f"url {record.url} is also the url of {self.seen[address]}"
                )
            )
            return
        self.seen[address] = record.path
        self.pending.append(prepared)
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self):
        batch, self.pending = self.pending, []
        if not batch:
            return
        # Subjects and addresses learnt inside a transaction that rolls back are forgotten.
        subjects, addresses = dict(self.subjects), dict(self.addresses)
        try:
            self._write(batch)
        except DatabaseError as error:
            self.subjects, self.addresses = subjects, addresses
            if len(batch) == 1:
                prepared = batch[0]
                self.report.errors.append(
                    FrontMatterError(
                        prepared.record.path,
                        f"the database refused the article ({error}); nothing was written",
                    )
                )
                return
            # Find the article at fault: write the batch again one article at a time.
            for prepared in batch:
                self.pending = [prepared]
                self.flush()

    def _subject_for(self, record):
        subject = self.subjects.get(record.subject_slug)
        if subject is None:
            subject = Subject.objects.create(
                slug=record.subject_slug,
                title=record.subject_name,
                listed=not self.subjects_fixed,
            )
            self.subjects[subject.slug] = subject
        elif (
            not self.subjects_fixed
            and subject.title.lower() == record.subject_name.lower()
            and _title_rank(record.subject_name) > _title_rank(subject.title)
        ):
            subject.title = record.subject_name
            subject.save(update_fields=["title", "updated"])
        return subject

    def _write(self, batch):
        """Write one batch in one transaction; counts are added only once it commits."""
        now = timezone.now()
        created = updated = unchanged = 0
        conflicts = []
        with transaction.atomic():
            by_address = {}
            for prepared in batch:
                subject = self._subject_for(prepared.record)
                by_address[(subject.pk, prepared.record.slug)] = (subject, prepared)
            existing = {
                (a.subject_id, a.slug): a
                # Locked until the batch commits (PostgreSQL), so an editor's save cannot
                # fall between this read and the write; SQLite holds its write lock anyway.
                for a in Article.objects.filter(
                    subject_id__in={key[0] for key in by_address},
                    slug__in={key[1] for key in by_address},
                )
                .select_for_update(of=("self",))
                .prefetch_related("related_links")
            }
            to_create, to_update, relink = [], [], []
            for key, (subject, prepared) in by_address.items():
                values = prepared.field_values()
                article = existing.get(key)
                if article is None:
                    article = Article(
                        subject=subject,
                        slug=prepared.record.slug,
                        status=Article.Status.PUBLISHED,
                        **values,
                    )
                    to_create.append((article, prepared))
                    created += 1
                    continue
                links_now = [
                    tuple(getattr(link, name) for name in LINK_FIELDS)
                    for link in article.related_links.all()
                ]
                changed = links_now != prepared.link_values() or any(
                    getattr(article, name) != value for name, value in values.items()
                )
                if not changed:
                    # Same content in other bytes (or from another path): remember them,
                    # through the base manager since readers see no change.
                    bookkeeping = {
                        "source_hash": prepared.record.source_hash,
                        "source_path": prepared.source_path,
                    }
                    if article.status == Article.Status.DRAFT and not article.edited_since_import:
                        # Unpublished by --prune=unpublish and now back: publish it again.
                        bookkeeping["status"] = Article.Status.PUBLISHED
                        updated += 1
                    else:
                        unchanged += 1
                    Article._base_manager.filter(pk=article.pk).update(**bookkeeping)
                    continue
                if article.edited_since_import and not self.force:
                    conflicts.append(
                        f"{prepared.record.path}: {prepared.record.url} was changed in the "
                        f"admin on {article.edited_at:%Y-%m-%d %H:%M} UTC and its file "
                        "changed too; kept the editor's version (use --force to take the "
                        "file's)"
                    )
                    continue
                for name, value in values.items():
                    setattr(article, name, value)
                to_update.append((article, prepared))
                relink.append(article.pk)
                updated += 1
            for article, prepared in [*to_create, *to_update]:
                article.answer_html = prepared.answer_html
                article.renderer_version = prepared.renderer_version
                article.source_hash = prepared.record.source_hash
                article.source_path = prepared.source_path
                article.imported_at = now
                article.updated = now
            Article.objects.bulk_create([article for article, _ in to_create])
            if to_update:
                Article.objects.bulk_update(
                    [article for article, _ in to_update],
                    [*IMPORTED_FIELDS, *BOOKKEEPING_FIELDS],
                )
            # Bulk writes send no signals: index the batch in the same transaction.
            search.index_articles([article for article, _ in [*to_create, *to_update]])
            if relink:
                RelatedLink.objects.filter(article_id__in=relink).delete()
            for article, _ in to_create:
                self.addresses[(article.subject.slug, article.slug)] = article.pk
            RelatedLink.objects.bulk_create(
                RelatedLink(
                    article_id=article.pk,
                    target_id=self.resolve(link.url),
                    **{name: getattr(link, name) for name in LINK_FIELDS},
                )
                for article, prepared in [*to_create, *to_update]
                for link in prepared.record.related
            )
        self.report.created += created
        self.report.updated += updated
        self.report.unchanged += unchanged
        self.report.conflicts.extend(conflicts)

    def finish(self):
        """Write what is pending, then give dangling related links the targets that exist now.

        Links are written with their article, resolved against the articles known at that
        moment; a link to an article written later (in this run or a later one) is
        resolved here. The update goes through a temporary table: one statement whatever
        the number of links.
        """
        self.flush()
        resolved = []
        for pk, url in RelatedLink.objects.filter(target__isnull=True).values_list("pk", "url"):
            target_id = self.resolve(url)
            if target_id is not None:
                resolved.append((pk, target_id))
        if resolved:
            _set_link_targets(resolved)
        self.report.resolved_links = len(resolved)
        self.report.dangling_links = RelatedLink.objects.filter(target__isnull=True).count()

    def resolve(self, url):
        match = URL_RE.match(url.split("?")[0].split("#")[0].rstrip("/"))
        if not match:
            return None
        return self.addresses.get((match["subject"], match["slug"]))


def _set_link_targets(pairs):
    """Set ``target_id`` on many related links: ``pairs`` is ``[(link_pk, target_pk)]``."""
    table = RelatedLink._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE import_link_targets "
            "(link_id bigint PRIMARY KEY, target_id bigint NOT NULL)"
        )
        try:
            cursor.executemany("INSERT INTO import_link_targets VALUES (%s, %s)", pairs)
            cursor.execute(
                f"UPDATE {table} SET target_id = (SELECT t.target_id FROM import_link_targets t "
                f"WHERE t.link_id = {table}.id) "
                f"WHERE id IN (SELECT link_id FROM import_link_targets)"
            )
        finally:
            cursor.execute("DROP TABLE import_link_targets")


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
            status=Article.Status.DRAFT, source_hash="", updated=timezone.now()
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
    report = ImportReport(dry_run=dry_run)
    entries = load_subjects_file(subjects_file) if subjects_file else None
    with contextlib.ExitStack() as stack:
        files, roots = collect_files(paths, stack)
        report.files = len(files)
        if dry_run:
            stack.enter_context(_rolled_back())
        if entries is not None:
            apply_subjects(entries)
        known = frozenset(
            Article.objects.exclude(source_hash="").values_list("source_hash", flat=True)
        )
        writer = _Writer(report, entries is not None, force, batch_size)
        prepared = parallel_map(
            prepare_file,
            files,
            workers,
            min_items=MIN_FILES_FOR_WORKERS,
            initializer=_init_worker,
            initargs=(known,),
        )
        for outcome, source, payload in prepared:
            if outcome == "ok":
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
        if (report.changed or report.resolved_links) and not dry_run:
            bump_content_version()
        # Copies of cross-posted articles may have arrived, changed or gone.
        canonical.update_canonical()
    report.elapsed = time.perf_counter() - started
    return report


@contextlib.contextmanager
def _rolled_back():
    """A transaction that is always rolled back: the dry run's."""
    with contextlib.suppress(_Rollback), transaction.atomic():
        yield
        raise _Rollback
