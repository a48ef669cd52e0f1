"""Backups: ``manage.py backup`` and ``manage.py restore`` on the database the tests run on
(SQLite or PostgreSQL). A backup restored into a fresh database serves the same pages; a
restore replaces what changed since; a file that is not a backup changes nothing."""

import contextlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile

import PIL.Image
import psycopg
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from articles import images
from articles.backups import PG_DUMP_HEADER, SQLITE_HEADER, _pg_environment, images_path
from articles.models import Article, Image
from articles.rendering.images import parse_name
from articles.sitelock import ADVISORY_KEY, SiteBusy, site_lock
from tests.conftest import PROJECT_ROOT

# Committed rows: pg_dump reads the database from a connection of its own.
pytestmark = pytest.mark.django_db(transaction=True)

CHAIN_RULE = (
    "/learn/mathematics/questions/how-do-you-differentiate-a-composite-function-with-the-chain-rule"
)
PAGES = ["/learn", "/learn/mathematics", CHAIN_RULE, "/search?q=rule", "/feed.xml"]
SITE_URL = "https://learn.example.com"  # as tests/conftest.py sets it

# Renders PAGES from the database DATABASE_URL names, with the tests' static storage and
# site address, and writes {url: [status, html]} as JSON to the file named in PAGES_OUT.
FETCH_PAGES = f"""
import json, os, django
django.setup()
from django.conf import settings
from django.test import Client, override_settings
plain = {{"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with override_settings(STORAGES={{**settings.STORAGES, "staticfiles": plain}}, SITE_URL={SITE_URL!r}):
    client = Client()
    pages = {{url: [r.status_code, r.content.decode()] for url in {PAGES!r} for r in [client.get(url)]}}
with open(os.environ["PAGES_OUT"], "w", encoding="utf-8") as out:
    json.dump(pages, out)
"""


def pages_from(database_url, tmp_path):
    """PAGES as a fresh process serves them from ``database_url``: {url: [status, html]}."""
    out = tmp_path / "pages.json"
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "quicktakes.settings",
        "PAGES_OUT": str(out),
    }
    subprocess.run(
        [sys.executable, "-c", FETCH_PAGES], cwd=PROJECT_ROOT, env=environment, check=True
    )
    return json.loads(out.read_text(encoding="utf-8"))


def manage(database_url, *args):
    """``manage.py *args`` against ``database_url`` in a fresh process; returns its result."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def fresh_database(tmp_path):
    """The URL of a new, empty database on the tests' server (SQLite: a new file)."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return

    params = connection.settings_dict
    name = f"{params['NAME']}_restored"
    server = {
        "host": params.get("HOST") or None,
        "port": params.get("PORT") or None,
        "user": params.get("USER") or None,
        "password": params.get("PASSWORD") or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "localhost"
    port = params.get("PORT") or 5432
    yield f"postgres://{params['USER']}{password}@{host}:{port}/{name}"
    with psycopg.connect(**server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def original_pages():
    client = Client()
    responses = {url: client.get(url) for url in PAGES}
    return {url: [r.status_code, r.content.decode()] for url, r in responses.items()}


def test_a_restored_backup_serves_the_same_pages(sample_site, tmp_path, fresh_database):
    backup = tmp_path / "site.backup"
    call_command("backup", str(backup), verbosity=0)
    header = SQLITE_HEADER if connection.vendor == "sqlite" else PG_DUMP_HEADER
    assert backup.read_bytes().startswith(header)

    restored = manage(fresh_database, "restore", str(backup), "--noinput")
    assert restored.returncode == 0, restored.stderr
    assert "Restored the" in restored.stdout

    expected = original_pages()
    assert all(status == 200 for status, _ in expected.values()), expected.keys()
    assert pages_from(fresh_database, tmp_path) == expected


def test_a_restore_puts_back_what_changed_since_the_backup(sample_site, tmp_path):
    backup = tmp_path / "site.backup"
    call_command("backup", str(backup), verbosity=0)
    before = original_pages()
    article = Article.objects.get(slug=CHAIN_RULE.rsplit("/", 1)[1])
    Article.objects.exclude(pk=article.pk).filter(subject__slug="mathematics").first().delete()
    article.answer = "Changed after the backup."
    article.save()
    assert original_pages() != before

    call_command("restore", str(backup), interactive=False, verbosity=0)
    assert original_pages() == before  # cached pages were made stale too


def test_a_file_that_is_not_a_backup_is_refused_and_changes_nothing(sample_site, tmp_path):
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello", encoding="utf-8")
    count = Article.objects.count()
    with pytest.raises(CommandError, match="was not touched"):
        call_command("restore", str(not_a_backup), interactive=False)
    assert Article.objects.count() == count


def test_a_backup_without_a_path_is_named_for_the_database(sample_site, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    call_command("backup", verbosity=0)
    written, images_tar = sorted(p for p in tmp_path.iterdir() if p.name.startswith("backup-"))
    suffix = ".sqlite3" if connection.vendor == "sqlite" else ".dump"
    assert written.suffix == suffix and written.stat().st_size > 0
    assert images_tar.name == written.name + ".images.tar"


# --- a restore cannot destroy ---------------------------------------------------------------


def unrelated_backup(tmp_path):
    """A valid backup file of the right engine that is not a backup of this site."""
    if connection.vendor == "sqlite":
        path = tmp_path / "other.sqlite3"
        other = sqlite3.connect(path)
        other.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        other.execute("INSERT INTO notes (text) VALUES ('hello')")
        other.commit()
        other.close()
        return path

    name = "qt_unrelated_for_restore"
    env = {**os.environ, **_pg_environment("default")}
    subprocess.run(["dropdb", "--if-exists", name], env=env, check=True)
    subprocess.run(["createdb", name], env=env, check=True)
    subprocess.run(
        ["psql", "-q", "-d", name, "-c", "CREATE TABLE notes (id int)"], env=env, check=True
    )
    path = tmp_path / "other.dump"
    subprocess.run(["pg_dump", "--format=custom", "--file", str(path), name], env=env, check=True)
    subprocess.run(["dropdb", name], env=env, check=True)
    return path


def test_a_backup_of_another_database_is_refused_and_changes_nothing(sample_site, tmp_path):
    path = unrelated_backup(tmp_path)
    count = Article.objects.count()
    with pytest.raises(CommandError, match="not a backup of this site.*not touched"):
        call_command("restore", str(path), interactive=False)
    assert Article.objects.count() == count


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_a_backup_made_by_newer_code_is_refused(sample_site, tmp_path):
    path = tmp_path / "backup.sqlite3"
    call_command("backup", str(path), verbosity=0)
    newer = sqlite3.connect(path)
    newer.execute(
        "INSERT INTO django_migrations (app, name, applied) VALUES "
        "('articles', '0999_from_the_future', '2030-01-01')"
    )
    newer.commit()
    newer.close()
    with pytest.raises(CommandError, match="newer version of the site.*0999_from_the_future"):
        call_command("restore", str(path), interactive=False)


def test_a_restore_while_an_import_runs_is_refused(sample_site, tmp_path):
    path = tmp_path / ("backup.sqlite3" if connection.vendor == "sqlite" else "backup.dump")
    call_command("backup", str(path), verbosity=0)
    Article.objects.update(author="After the backup")
    if connection.vendor == "postgresql":
        # The import runs in another session: hold its shared lock from a connection of
        # its own (a session always gets the locks it already holds).
        settings = connection.settings_dict
        other = psycopg.connect(
            dbname=settings["NAME"],
            user=settings["USER"],
            host=settings["HOST"],
            port=settings["PORT"] or 5432,
        )
        other.execute("SELECT pg_advisory_lock_shared(%s)", [ADVISORY_KEY])
        holder = contextlib.closing(other)
    else:
        holder = site_lock(exclusive=False, wait=False)
    with holder, pytest.raises(CommandError, match="an import or a re-render is running"):
        call_command("restore", str(path), interactive=False)
    assert set(Article.objects.values_list("author", flat=True)) == {"After the backup"}


def test_an_import_waits_for_a_restore(sample_site, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("one PostgreSQL session always gets the advisory locks it holds")
    with site_lock(exclusive=True, wait=False):  # a second holder: a file handle of its own
        with pytest.raises(SiteBusy, match="a restore is running"):
            with site_lock(exclusive=False, wait=True, timeout=0.5):
                pass


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _library_image():
    """One image of the library, stored with its renditions: (row, storage names)."""
    out = io.BytesIO()
    PIL.Image.linear_gradient("L").resize((1000, 600)).save(out, "PNG")
    checked = images.check_upload(SimpleUploadedFile("graph.png", out.getvalue()))
    image = Image.objects.create(
        file=images.store(checked), alt_text="A graph", width=1000, height=600
    )
    images.store_renditions(image.file.name)
    own = parse_name(image.file.name)
    return image, [own.name, *(own.rendition_name(w) for w in own.rendition_widths)]


def test_a_backup_holds_the_image_files_and_a_restore_puts_them_back(
    sample_site, tmp_path, media_root, settings
):
    image, names = _library_image()
    contents = {name: default_storage.open(name).read() for name in names}
    backup = tmp_path / "site.backup"
    call_command("backup", str(backup), verbosity=0)
    assert images_path(backup).is_file()

    # The files are lost, and the row too.
    shutil.rmtree(media_root)
    image.delete()
    call_command("restore", str(backup), interactive=False, verbosity=0)
    assert Image.objects.get().file.name == names[0]
    assert {name: default_storage.open(name).read() for name in names} == contents
    assert len(names) == 3  # the original and two renditions


def test_a_restore_refuses_an_images_tar_that_holds_other_files(sample_site, tmp_path, media_root):
    backup = tmp_path / "site.backup"
    call_command("backup", str(backup), verbosity=0)
    with tarfile.open(images_path(backup), "w") as tar:
        info = tarfile.TarInfo("images/../../settings.py")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    Article.objects.all().delete()
    with pytest.raises(CommandError, match="not an image file"):
        call_command("restore", str(backup), interactive=False, verbosity=0)
    assert not Article.objects.exists()  # the database was not touched
