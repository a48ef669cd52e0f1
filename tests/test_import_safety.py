"""The grown-up import: incremental, conflict-safe, dry run, prune, archives, crash-safe."""

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import psycopg
import pytest
from django.db import DatabaseError, connection

from articles.importing import import_paths, prepare, write
from articles.models import Article, RelatedLink, Subject
from tests.conftest import FIXTURES, PROJECT_ROOT, run_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(tmp_path):
    """A writable copy of the fixtures' articles."""
    copy = tmp_path / "learn"
    shutil.copytree(FIXTURES / "learn", copy)
    return copy


def edit_file(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


SQUARE = Path("mathematics") / "how-do-you-expand-a-perfect-square.md"


def test_unchanged_files_are_skipped_without_parsing(folder, monkeypatch):
    import_paths([folder], workers=1)
    parsed = []
    monkeypatch.setattr(prepare, "parse_bytes", lambda *a: parsed.append(a) or None)
    report = import_paths([folder], workers=1)
    assert report.unchanged == 12
    assert parsed == []


def test_a_changed_file_is_parsed_and_updated(folder):
    import_paths([folder], workers=1)
    edit_file(folder / SQUARE, "author: QuickTakes", "author: Ada")
    report = import_paths([folder], workers=1)
    assert (report.updated, report.unchanged) == (1, 11)
    assert Article.objects.get(slug=SQUARE.stem).author == "Ada"


def test_an_editor_change_is_not_overwritten_by_a_changed_file(folder):
    import_paths([folder], workers=1)
    article = Article.objects.get(slug=SQUARE.stem)
    article.answer = "The editor's answer."
    article.save()
    edit_file(folder / SQUARE, "author: QuickTakes", "author: Ada")
    report = import_paths([folder], workers=1)
    assert report.updated == 0
    assert len(report.conflicts) == 1
    assert "was changed in the admin" in report.conflicts[0]
    assert "--force" in report.conflicts[0]
    article.refresh_from_db()
    assert article.answer == "The editor's answer."
    assert article.author == "QuickTakes"


def test_force_takes_the_files_version(folder):
    import_paths([folder], workers=1)
    article = Article.objects.get(slug=SQUARE.stem)
    article.answer = "The editor's answer."
    article.save()
    edit_file(folder / SQUARE, "author: QuickTakes", "author: Ada")
    report = import_paths([folder], workers=1, force=True)
    assert report.updated == 1 and not report.conflicts
    article.refresh_from_db()
    assert article.author == "Ada"
    assert article.answer.startswith("Use the identity")


def test_an_editor_change_with_an_unchanged_file_is_kept_and_reported(folder):
    import_paths([folder], workers=1)
    article = Article.objects.get(slug=SQUARE.stem)
    article.answer = "The editor's answer."
    article.save()
    report = import_paths([folder], workers=1)
    # The editor's save made the file's hash unknown: the file is read, and it differs.
    assert report.unchanged == 11 and len(report.conflicts) == 1
    article.refresh_from_db()
    assert article.answer == "The editor's answer."


def test_the_conflict_is_printed_by_the_command(folder):
    import_paths([folder], workers=1)
    article = Article.objects.get(slug=SQUARE.stem)
    article.answer = "The editor's answer."
    article.save()
    edit_file(folder / SQUARE, "author: QuickTakes", "author: Ada")
    out, err, status = run_import(folder)
    assert status == 0
    assert "conflict: " in err and "how-do-you-expand-a-perfect-square" in err
    assert "1 conflicts" in out


def test_dry_run_reports_and_writes_nothing(folder):
    out, err, status = run_import(folder, dry_run=True)
    assert status == 0
    assert "Dry run, nothing written. Would have: 12 files: 12 created" in out
    assert Article.objects.count() == 0
    assert Subject.objects.count() == 0


def test_dry_run_of_a_change_reports_the_update(folder):
    import_paths([folder], workers=1)
    edit_file(folder / SQUARE, "author: QuickTakes", "author: Ada")
    report = import_paths([folder], workers=1, dry_run=True)
    assert report.updated == 1
    assert Article.objects.get(slug=SQUARE.stem).author == "QuickTakes"


def test_prune_deletes_articles_whose_files_are_gone(folder):
    import_paths([folder], workers=1)
    (folder / SQUARE).unlink()
    report = import_paths([folder], workers=1, prune_mode="delete")
    assert report.pruned == 1
    assert not Article.objects.filter(slug=SQUARE.stem).exists()
    assert Article.objects.count() == 11


def test_prune_unpublish_keeps_the_row_as_a_draft(folder):
    import_paths([folder], workers=1)
    (folder / SQUARE).unlink()
    report = import_paths([folder], workers=1, prune_mode="unpublish")
    assert report.pruned == 1
    assert Article.objects.get(slug=SQUARE.stem).status == "draft"


def test_prune_never_touches_admin_articles_or_other_folders(folder, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(FIXTURES / "learn" / "others", other)
    import_paths([folder, other], workers=1)
    admin_made = Article.objects.get(slug=SQUARE.stem)
    admin_made.pk = None
    admin_made.slug = "written-in-the-admin"
    admin_made.source_path = ""
    admin_made.save()
    report = import_paths([folder / "mathematics"], workers=1, prune_mode="delete")
    assert report.pruned == 0
    assert Article.objects.filter(slug="written-in-the-admin").exists()
    assert Article.objects.count() == 13


def test_a_zip_archive_imports_and_prunes_like_a_folder(folder, tmp_path):
    archive = tmp_path / "learn.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in folder.rglob("*.md"):
            zipped.write(path, path.relative_to(folder.parent).as_posix())
    report = import_paths([archive], workers=1)
    assert report.created == 12
    assert (
        Article.objects.get(slug=SQUARE.stem).source_path
        == f"{archive.resolve()}/learn/{SQUARE.as_posix()}"
    )
    assert import_paths([archive], workers=1).unchanged == 12


def test_a_tar_gz_archive_imports(folder, tmp_path):
    archive = tmp_path / "learn.tar.gz"
    with tarfile.open(archive, "w:gz") as tarred:
        tarred.add(folder, arcname="learn")
    report = import_paths([archive], workers=1)
    assert report.created == 12 and not report.errors


def test_an_archive_member_leaving_the_archive_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("../escape.md", "---\n---\n")
    out, err, status = run_import(archive)
    assert status == 1
    assert "leaves the archive" in err
    assert not (tmp_path.parent / "escape.md").exists()


def test_a_broken_archive_is_a_clear_error(tmp_path):
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"not a zip")
    out, err, status = run_import(archive)
    assert status == 1
    assert "cannot read the archive" in err


def test_a_database_error_fails_only_its_article(folder, monkeypatch):
    original = write.Writer._write

    def refuse_square(self, batch):
        if any(p.record.slug == SQUARE.stem for p in batch):
            raise DatabaseError("simulated")
        return original(self, batch)

    monkeypatch.setattr(write.Writer, "_write", refuse_square)
    report = import_paths([folder], workers=1)
    assert report.created == 11
    assert report.failed == 1
    assert "the database refused the article" in str(report.errors[0])
    assert not Article.objects.filter(slug=SQUARE.stem).exists()


def test_an_article_written_elsewhere_meanwhile_is_kept_and_its_file_reported(folder, monkeypatch):
    """Another writer puts an article at one of the batch's new addresses between the
    batch's read and its write: the database refuses that row (a real uniqueness error,
    raised as Django's on both databases, COPY included), the batch is written again one
    article at a time, which finds the other writer's article and reports that file as a
    conflict; the other writer's article stays and every other file is written."""
    plan_batch = write.plan_batch
    subject = Subject.objects.create(slug="mathematics", title="Mathematics")

    def another_writer_first(*args, **kwargs):
        plan = plan_batch(*args, **kwargs)
        if not Article.objects.filter(slug=SQUARE.stem).exists():
            Article.objects.create(
                subject=subject, slug=SQUARE.stem, question="Meanwhile?", answer="Meanwhile.",
                title="Meanwhile?", date="2024-01-01",
            )  # fmt: skip
        return plan

    monkeypatch.setattr(write, "plan_batch", another_writer_first)
    report = import_paths([folder], workers=1)
    assert (report.created, report.failed) == (11, 0)
    assert len(report.conflicts) == 1 and SQUARE.name in report.conflicts[0]
    assert Article.objects.get(slug=SQUARE.stem).question == "Meanwhile?"


@pytest.mark.django_db(transaction=True)
def test_an_import_killed_at_any_moment_completes_on_the_next_run(tmp_path):
    """kill -9 a real import mid-way, run it again: nothing duplicated, nothing lost."""
    if connection.vendor == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    else:
        settings_dict = connection.settings_dict
        database_url = (
            f"postgres://{settings_dict['USER'] or 'postgres'}@{settings_dict['HOST'] or '127.0.0.1'}:"
            f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
        )
    # Many small files so the kill lands between and inside batches.
    source = tmp_path / "learn"
    templates = sorted((FIXTURES / "learn").rglob("*.md"))
    for n in range(300):
        template = templates[n % len(templates)]
        slug = template.stem
        text = template.read_text().replace(slug, f"{slug}-{n}")
        target = source / template.parent.name / f"{slug}-{n}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(PROJECT_ROOT)}
    manage = [sys.executable, str(PROJECT_ROOT / "manage.py")]
    if connection.vendor == "sqlite":
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    command = [*manage, "import_articles", str(source), "--batch-size", "7", "--workers", "1"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    count = _count_articles_in(database_url, env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and count() < 60:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = count()
    assert 0 < partial < 300, "the kill must land mid-way"
    finished = subprocess.run(command, env=env, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert "0 failed" in finished.stdout
    assert count() == 300
    links = _query(
        database_url,
        env,
        "SELECT COUNT(*), COUNT(DISTINCT article_id || '-' || position) FROM articles_relatedlink",
    )
    assert links[0] == links[1] == 325  # 13 links in 12 fixtures, 25 copies of each file


def _query(database_url, env, sql):
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='quicktakes.settings'; django.setup();"
        "from django.db import connection; c = connection.cursor(); c.execute(os.environ['SQL']);"
        "print(*c.fetchone())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "SQL": sql},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [int(x) for x in out]


def _count_articles_in(database_url, env):
    """The number of articles in the import's database, read directly: a poll through a
    new process took longer than the whole import of the test's files now does, so the
    kill landed after the last batch. 0 before its tables exist."""
    sql = "SELECT COUNT(*) FROM articles_article"
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")

        def count():
            try:
                with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
                    return db.execute(sql).fetchone()[0]
            except sqlite3.OperationalError:
                return 0

    else:

        def count():
            with psycopg.connect(database_url) as db:
                return db.execute(sql).fetchone()[0]

    return count


def test_a_file_back_after_prune_unpublish_is_published_again(folder, tmp_path):
    import_paths([folder], workers=1)
    saved = tmp_path / "saved.md"
    shutil.move(folder / SQUARE, saved)
    import_paths([folder], workers=1, prune_mode="unpublish")
    assert Article.objects.get(slug=SQUARE.stem).status == "draft"
    shutil.move(saved, folder / SQUARE)
    report = import_paths([folder], workers=1)
    assert report.updated == 1
    assert Article.objects.get(slug=SQUARE.stem).status == "published"


def test_an_editors_unpublish_is_kept_when_the_file_is_unchanged(folder):
    import_paths([folder], workers=1)
    article = Article.objects.get(slug=SQUARE.stem)
    article.status = "draft"
    article.save()
    Article.objects.filter(pk=article.pk).update(source_hash="")  # force a re-read
    import_paths([folder], workers=1)
    assert Article.objects.get(slug=SQUARE.stem).status == "draft"


def test_a_rolled_back_batch_does_not_poison_a_new_subject(tmp_path, write_article, monkeypatch):
    """A failed batch that created a subject must not leave the writer pointing at it."""
    for n in range(3):
        write_article(slug=f"fresh-{n}", subject="brand-new", subject_name="Brand New")
    original = RelatedLink.objects.bulk_create
    calls = []

    def fail_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise DatabaseError("simulated")
        return original(*args, **kwargs)

    monkeypatch.setattr(RelatedLink.objects, "bulk_create", fail_once)
    report = import_paths([tmp_path / "learn"], workers=1)
    assert report.failed == 0
    assert report.created == 3
    assert Subject.objects.filter(slug="brand-new").exists()
