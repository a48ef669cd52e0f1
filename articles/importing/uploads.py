"""Imports uploaded in the admin (ArticleImport rows): save the files to storage, run the
dry run, then, once an editor confirms, the import itself. Both steps call import_paths,
the command's own function; articles.tasks starts them, inline for a small upload and as a
background job for a large one. Nothing here parses a file or knows about HTTP.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.text import get_valid_filename

from articles.frontmatter import FrontMatterError
from articles.importing import import_paths
from articles.models import ArticleImport

logger = logging.getLogger(__name__)

#: An upload of at most this many bytes is checked and imported inline, in the request
#: (a few hundred answers at most: well under a second); a larger one by a worker.
INLINE_BYTES = 256 * 1024
#: Seconds between two progress notes of a running step.
PROGRESS_SECONDS = 1.0
#: A step whose job has run this long without a progress note is taken for stopped (its
#: worker was killed): the page offers to run it again. The longest pause between two
#: notes is the end of a whole-corpus import (canonical copies, search vocabulary).
STALE_SECONDS = 15 * 60
#: A report keeps at most this many addresses per action and this many errors; the counts
#: are always whole.
REPORT_ITEMS = 500

Status = ArticleImport.Status
#: The command's advice at the end of a conflict's message (plan.conflict_message, write.py).
FORCE_ADVICE = re.compile(r" \(use --force to [^)]*\)$")


def create(files, user):
    """Save uploaded ``files`` (Django UploadedFile objects, sizes already checked) under a
    folder of their own in the default storage; returns the new ArticleImport (checking)."""
    folder = f"imports/{secrets.token_hex(8)}"
    saved = []
    for uploaded in files:
        name = get_valid_filename(Path(uploaded.name).name) or "upload.md"
        stored = default_storage.save(f"{folder}/{name}", uploaded)
        saved.append({"name": name, "stored": stored, "size": uploaded.size})
    return ArticleImport.objects.create(
        created_by=user, files=saved, size=sum(item["size"] for item in saved)
    )


def runs_inline(article_import):
    return article_import.size <= INLINE_BYTES


def forget_progress(pk):
    """Drop the progress note of ArticleImport ``pk`` (its step is being run again)."""
    cache.delete(_progress_key(pk))


def cancel(article_import):
    """Cancel an upload not yet being applied and delete its files. Returns False when it
    is being applied or done."""
    cancelled = ArticleImport.objects.filter(
        pk=article_import.pk, status__in=(Status.CHECKING, Status.CHECKED, Status.FAILED)
    ).update(status=Status.CANCELLED)
    if cancelled:
        article_import.refresh_from_db()
        delete_files(article_import)
    return bool(cancelled)


def run(pk, step, workers=None, raise_errors=False, snapshot=False):
    """Run one step of ArticleImport ``pk`` and store its outcome on the row.

    The row moves on only from the status the step expects (checking, applying), so a
    step whose upload was cancelled meanwhile stores nothing. A file or archive the import
    refuses as a whole, or any other error, marks the row failed with the reason;
    ``raise_errors`` raises the latter again (a background job then fails too, with its
    traceback). ``snapshot``: run a dry run on SQLite against a copy of the database (see
    sqlite_snapshot). Returns the report's summary line, or the failure.
    """
    expected = Status.CHECKING if step == "check" else Status.APPLYING
    article_import = ArticleImport.objects.get(pk=pk)
    if article_import.status != expected:
        return f"nothing to do: the import is {article_import.get_status_display()}"
    rows = ArticleImport.objects.filter(pk=pk, status=expected)
    cache.delete(_progress_key(pk))  # a note of an earlier step (or row of that id) is stale
    prefix = ""
    try:
        with contextlib.ExitStack() as stack:
            paths, prefix = _local_paths(article_import, stack)
            if snapshot and step == "check":
                stack.enter_context(sqlite_snapshot())
            report = import_paths(
                paths,
                workers=workers,
                progress=Progress(pk, step),
                dry_run=step == "check",
            )
    except FrontMatterError as error:
        reason = str(error).replace(prefix, "") if prefix else str(error)
        rows.update(status=Status.FAILED, error=reason, task_id="")
        return reason
    except Exception as error:
        logger.exception("import %s failed", pk)
        rows.update(status=Status.FAILED, error=f"{type(error).__name__}: {error}", task_id="")
        if raise_errors:
            raise
        return str(error)
    data = report_data(report, prefix)
    if step == "check":
        rows.update(status=Status.CHECKED, check_report=data, task_id="")
    elif rows.update(status=Status.APPLIED, apply_report=data, task_id=""):
        delete_files(article_import)
    return data["summary"]


@contextlib.contextmanager
def sqlite_snapshot(using=DEFAULT_DB_ALIAS):
    """Point this process's connection at a copy of the SQLite database for the block.

    A dry run writes, then rolls back, in one transaction, and SQLite lets one writer in at
    a time: on the site's own file, a dry run of a large upload would hold every editor's
    save for its whole length (20 s at most, then "database is locked"). On a copy made
    with SQLite's online backup (readers and writers go on meanwhile) it holds nobody. The
    copy sits beside the database and is deleted after. Only for a process that runs one
    thing at a time (a worker); does nothing on PostgreSQL or an in-memory database.
    """
    connection = connections[using]
    source = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" or source.startswith("file:") or source == ":memory:":
        yield
        return
    folder = tempfile.mkdtemp(prefix="dry-run-", dir=Path(source).parent)
    copy = Path(folder) / Path(source).name
    try:
        connection.ensure_connection()
        target = sqlite3.connect(copy)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        connection.close()
        connection.settings_dict["NAME"] = str(copy)
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict["NAME"] = source
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _local_paths(article_import, stack):
    """The uploaded files as paths import_paths can read, and the folder prefix to strip
    from messages. A storage without local paths (object storage) is copied into a
    temporary folder first."""
    names = [item["stored"] for item in article_import.files]
    try:
        paths = [Path(default_storage.path(name)) for name in names]
    except NotImplementedError:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="upload-")))
        paths = []
        for name in names:
            target = folder / Path(name).name
            with default_storage.open(name, "rb") as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            paths.append(target)
    prefix = f"{paths[0].parent}{os.sep}" if paths else ""
    return [str(path) for path in paths], prefix


def delete_files(article_import):
    """Delete an upload's files from storage; the row and its reports stay."""
    for item in article_import.files:
        if item.get("stored"):
            with contextlib.suppress(OSError):
                default_storage.delete(item["stored"])
    with contextlib.suppress(NotImplementedError, OSError):
        folder = Path(default_storage.path(article_import.files[0]["stored"])).parent
        folder.rmdir()
    ArticleImport.objects.filter(pk=article_import.pk).update(
        files=[{**item, "stored": ""} for item in article_import.files]
    )


def report_data(report, prefix=""):
    """An ImportReport as JSON-ready data, paths relative to the upload (``prefix`` cut).

    ``errors``: ``{file, line, message}`` (line None when unknown); ``articles``: the
    addresses per action ("create", "update", "republish", "unchanged"), REPORT_ITEMS at
    most each, the counts being in ``created``, ``updated`` and ``unchanged``.
    """

    def local(text):
        return text.replace(prefix, "") if prefix else text

    def conflict(message):
        # The command's advice (--force) has no button here: the editor's version is kept.
        return FORCE_ADVICE.sub("", local(message))

    articles = {}
    for action, url in report.articles:
        if action != "conflict":
            urls = articles.setdefault(action, [])
            if len(urls) < REPORT_ITEMS:
                urls.append(url)
    return {
        "summary": local(report.summary()),
        "dry_run": report.dry_run,
        "files": report.files,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "failed": report.failed,
        "conflicts": [conflict(message) for message in report.conflicts[:REPORT_ITEMS]],
        "conflict_count": len(report.conflicts),
        "errors": [
            {"file": local(error.path), "line": error.line, "message": error.message}
            for error in report.errors[:REPORT_ITEMS]
        ],
        "articles": articles,
        "dangling_links": report.dangling_links,
        "images": report.images,
        "elapsed": round(report.elapsed, 1),
    }


def _progress_key(pk):
    return f"article-import:{pk}:progress"


class Progress:
    """import_paths' ``progress(done, total)`` callback: notes files done in the shared
    cache, at most every PROGRESS_SECONDS. The cache, not the row: a dry run's writes stay
    inside its transaction until it is rolled back, and SQLite lets no other connection
    write meanwhile."""

    def __init__(self, pk, step):
        self.key = _progress_key(pk)
        self.step = step
        self.done = 0
        self.last = 0.0

    def __call__(self, done, total):
        self.done += done
        now = time.monotonic()
        if now - self.last < PROGRESS_SECONDS and self.done < total:
            return
        self.last = now
        note = {"step": self.step, "done": self.done, "total": total, "at": time.time()}
        cache.set(self.key, note, timeout=24 * 3600)


def progress(article_import):
    """The last progress note of a running step: ``{step, done, total, at}`` (``at`` in
    seconds since the epoch), or None before the first file."""
    note = cache.get(_progress_key(article_import.pk))
    if not note or not article_import.running:
        return None
    step = "check" if article_import.status == Status.CHECKING else "apply"
    return note if note["step"] == step else None
