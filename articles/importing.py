"""Import front matter files into the database: an upsert keyed by each article's address.

Parsing and rendering (CPU-bound) run in worker processes; this module owns the writes,
done in batched transactions so a failure never leaves a half-written article. The
management command and any admin view are thin wrappers over ``import_paths``.
"""
from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connections, transaction

from articles import rendering
from articles.frontmatter import URL_RE, ArticleRecord, FrontMatterError, parse_bytes
from articles.models import Article, RelatedLink, Subject

logger = logging.getLogger(__name__)

#: Articles written per transaction.
BATCH_SIZE = 500
#: Below this many files to parse, worker processes cost more than they save.
MIN_FILES_FOR_WORKERS = 200

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


@dataclass(frozen=True)
class PreparedArticle:
    """A parsed file with its answer decoded and rendered, ready to write."""

    record: ArticleRecord
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


@dataclass
class ImportReport:
    """What an import did. ``errors`` holds one FrontMatterError per failed file."""

    files: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)
    dangling_links: int = 0
    resolved_links: int = 0
    elapsed: float = 0.0

    @property
    def failed(self):
        return len(self.errors)

    @property
    def changed(self):
        return self.created + self.updated

    def summary(self):
        return (
            f"{self.files} files: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.failed} failed; "
            f"{self.dangling_links} dangling related links; {self.elapsed:.1f} s"
        )


def collect_files(paths):
    """Expand files and folders (recursively, ``*.md``) into a sorted list of Paths.

    Raises FrontMatterError for a path that does not exist.
    """
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.md") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise FrontMatterError(path, "no such file or folder")
    return files


# --- worker side (no database) -------------------------------------------------------

_known_hashes: frozenset = frozenset()


def _init_worker(known_hashes):
    global _known_hashes
    _known_hashes = known_hashes


def prepare_file(path):
    """Read, parse, decode and render one file.

    Returns ``("unchanged", path, sha256)`` when its bytes match a file imported before,
    ``("ok", path, PreparedArticle)`` or ``("error", path, FrontMatterError)``.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        return "error", path, FrontMatterError(path, f"cannot read the file: {error.strerror}")
    digest = hashlib.sha256(data).hexdigest()
    if digest in _known_hashes:
        return "unchanged", path, digest
    try:
        record = parse_bytes(data, path)
        answer = rendering.decode_answer(record.answer_raw)
        result = rendering.render_markdown(answer)
    except FrontMatterError as error:
        return "error", path, error
    except Exception as error:  # a renderer bug must not stop the batch
        logger.exception("rendering %s failed", path)
        return "error", path, FrontMatterError(path, f"could not render the answer: {error!r}")
    return "ok", path, PreparedArticle(record, answer, result.html, rendering.RENDERER_VERSION)


def _prepare_all(files, known_hashes, workers):
    """Yield prepare_file results in file order, using worker processes when worth it."""
    if workers is None:
        workers = os.cpu_count() or 1
    if workers <= 1 or len(files) < MIN_FILES_FOR_WORKERS:
        _init_worker(known_hashes)
        yield from map(prepare_file, files)
        return
    # Forked children must not share the parent's database connections.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_init_worker, initargs=(known_hashes,)) as pool:
        yield from pool.imap(prepare_file, files, chunksize=32)


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
    """Accumulates prepared articles and writes them in batches."""

    def __init__(self, report, subjects_fixed):
        self.report = report
        self.subjects_fixed = subjects_fixed
        self.subjects = {s.slug: s for s in Subject.objects.all()}
        self.addresses = {
            (subject_slug, slug): pk
            for pk, subject_slug, slug in Article.objects.values_list(
                "pk", "subject__slug", "slug"
            )
        }
        self.seen = {}  # address -> path, to refuse two files with one url
        self.pending = []
        self.pending_links = []  # (article_id, RelatedRecord), written once all are in

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
        if len(self.pending) >= BATCH_SIZE:
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
        elif not self.subjects_fixed and _title_rank(record.subject_name) > _title_rank(
            subject.title
        ) and subject.title.lower() == record.subject_name.lower():
            subject.title = record.subject_name
            subject.save(update_fields=["title", "updated"])
        return subject

    def flush(self):
        batch, self.pending = self.pending, []
        if not batch:
            return
        with transaction.atomic():
            by_address = {}
            for prepared in batch:
                subject = self._subject_for(prepared.record)
                by_address[(subject.pk, prepared.record.slug)] = (subject, prepared)
            existing = {
                (a.subject_id, a.slug): a
                for a in Article.objects.filter(
                    subject_id__in={key[0] for key in by_address},
                    slug__in={key[1] for key in by_address},
                ).prefetch_related("related_links")
            }
            to_create, to_update, relink = [], [], []
            for key, (subject, prepared) in by_address.items():
                values = prepared.field_values()
                article = existing.get(key)
                if article is None:
                    article = Article(
                        subject=subject,
                        slug=prepared.record.slug,
                        answer_html=prepared.answer_html,
                        renderer_version=prepared.renderer_version,
                        source_hash=prepared.record.source_hash,
                        status=Article.Status.PUBLISHED,
                        **values,
                    )
                    to_create.append((article, prepared))
                    continue
                links_now = [
                    (l.position, l.title, l.url, l.subject_name, l.source_id)
                    for l in article.related_links.all()
                ]
                links_new = [
                    (l.position, l.title, l.url, l.subject_name, l.source_id)
                    for l in prepared.record.related
                ]
                changed = [f for f, v in values.items() if getattr(article, f) != v]
                if changed or links_now != links_new:
                    for name, value in values.items():
                        setattr(article, name, value)
                    article.answer_html = prepared.answer_html
                    article.renderer_version = prepared.renderer_version
                    article.source_hash = prepared.record.source_hash
                    to_update.append(article)
                    if links_now != links_new:
                        relink.append((article, prepared))
                    self.report.updated += 1
                else:
                    if article.source_hash != prepared.record.source_hash:
                        # Same content in different bytes: remember the new bytes.
                        article.source_hash = prepared.record.source_hash
                        to_update.append(article)
                    self.report.unchanged += 1
            Article.objects.bulk_create([a for a, _ in to_create])
            self.report.created += len(to_create)
            if to_update:
                Article.objects.bulk_update(
                    to_update,
                    [*IMPORTED_FIELDS, "answer_html", "renderer_version", "source_hash", "updated"],
                )
            if relink:
                RelatedLink.objects.filter(article__in=[a for a, _ in relink]).delete()
            for article, prepared in [*to_create, *relink]:
                self.addresses[(article.subject.slug, article.slug)] = article.pk
                self.pending_links.extend((article.pk, link) for link in prepared.record.related)

    def finish(self):
        """Write the related links of every changed article, then resolve dangling ones."""
        self.flush()
        for start in range(0, len(self.pending_links), 2000):
            chunk = self.pending_links[start : start + 2000]
            RelatedLink.objects.bulk_create(
                RelatedLink(
                    article_id=article_id,
                    position=link.position,
                    title=link.title,
                    url=link.url,
                    subject_name=link.subject_name,
                    source_id=link.source_id,
                    target_id=self.resolve(link.url),
                )
                for article_id, link in chunk
            )
        self.pending_links = []
        # Links written by earlier runs may now have a target imported by this one.
        resolved = []
        for link in RelatedLink.objects.filter(target__isnull=True).only("pk", "url"):
            target_id = self.resolve(link.url)
            if target_id is not None:
                link.target_id = target_id
                resolved.append(link)
        RelatedLink.objects.bulk_update(resolved, ["target"], batch_size=500)
        self.report.resolved_links = len(resolved)
        self.report.dangling_links = RelatedLink.objects.filter(target__isnull=True).count()

    def resolve(self, url):
        match = URL_RE.match(url.split("?")[0].split("#")[0].rstrip("/"))
        if not match:
            return None
        return self.addresses.get((match["subject"], match["slug"]))


def import_paths(paths, subjects_file=None, workers=None, progress=None):
    """Import files and folders of front matter Markdown.

    ``paths``: files or folders (folders are searched recursively for ``*.md``).
    ``subjects_file``: optional subjects JSON (see load_subjects_file); when given, it
    decides the subjects' titles and order and which are listed.
    ``workers``: processes for parsing and rendering (default: one per CPU).
    ``progress``: optional callable taking a count of files done, for a progress bar.
    Returns an ImportReport; bad files are reported in it, never raised.
    Raises FrontMatterError when a path or the subjects file cannot be read.
    """
    started = time.perf_counter()
    report = ImportReport()
    entries = load_subjects_file(subjects_file) if subjects_file else None
    files = collect_files(paths)
    report.files = len(files)
    if entries is not None:
        apply_subjects(entries)
    known = frozenset(
        Article.objects.exclude(source_hash="").values_list("source_hash", flat=True)
    )
    writer = _Writer(report, subjects_fixed=entries is not None)
    for outcome, path, payload in _prepare_all(files, known, workers):
        if outcome == "ok":
            writer.add(payload)
        elif outcome == "unchanged":
            report.unchanged += 1
        else:
            report.errors.append(payload)
        if progress is not None:
            progress(1)
    writer.finish()
    report.elapsed = time.perf_counter() - started
    return report
