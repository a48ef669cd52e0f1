"""Back up and restore the whole database: SQLite through its online backup API, PostgreSQL
through pg_dump's custom format and pg_restore; and the image library's files (originals
and renditions) in a tar file beside it, ``<backup>.images.tar``.

Both work while the site is serving: a backup is one consistent snapshot and never blocks
readers; a restore replaces everything in one step. The management commands ``backup`` and
``restore`` are thin wrappers; nothing here knows about articles beyond the page cache.
"""

import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from articles.caching import invalidate_everything
from articles.rendering.images import FOLDER as IMAGES_FOLDER
from articles.sitelock import SiteBusy, site_lock

#: The first bytes of every SQLite database file (sqlite.org/fileformat.html, 1.3.1).
SQLITE_HEADER = b"SQLite format 3\x00"
#: The first bytes of a pg_dump custom-format archive (pg_dump's pg_backup_archiver.c).
PG_DUMP_HEADER = b"PGDMP"
SUFFIXES = {"sqlite": ".sqlite3", "postgresql": ".dump"}


class BackupError(Exception):
    """A backup or restore that could not be made; the message says why and what to do."""


#: Appended to a backup's file name to name the tar file of the image library's files.
IMAGES_SUFFIX = ".images.tar"


@dataclass(frozen=True)
class BackupResult:
    """What a backup or restore did: the file, its size in bytes, the database engine, and
    the number of image files written to (or brought back from) the images' tar file."""

    path: Path
    size: int
    vendor: str
    images: int = 0


def images_path(path):
    """The tar file of the image library beside the backup at ``path``: ``<path>.images.tar``."""
    path = Path(path)
    return path.with_name(path.name + IMAGES_SUFFIX)


def _storage_files(storage, folder):
    """Every file name under ``folder`` of ``storage``, recursively, sorted."""
    folders, files = storage.listdir(folder)
    names = [f"{folder}/{name}" for name in files]
    for sub in folders:
        names += _storage_files(storage, f"{folder}/{sub}")
    return sorted(names)


def backup_images(target, storage=None):
    """Write every file of the image library (``images/`` of ``storage``, the default
    storage unless given) to the tar file ``target``, under its storage name. Images are
    never overwritten nor renamed, so a tar made after the database's snapshot holds every
    file that snapshot names. The file appears only once complete. Returns the number of
    files written."""
    storage = storage or default_storage
    target = Path(target)
    partial = target.with_name(f".{target.name}.partial")
    try:
        names = _storage_files(storage, IMAGES_FOLDER)
    except FileNotFoundError:  # a folder storage with no image yet (object storage: [])
        names = []
    try:
        with tarfile.open(partial, "w") as tar:
            for name in names:
                with storage.open(name, "rb") as stream:
                    info = tarfile.TarInfo(name)
                    info.size = storage.size(name)
                    tar.addfile(info, stream)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return len(names)


def restore_images(source, storage=None):
    """Put back the files of the tar file ``source`` (made by backup_images) that
    ``storage`` does not hold; files it holds already are the same (an image's name is
    never reused) and are left alone, and files not in the tar stay. Members that are not
    plain files under ``images/`` are refused. Returns the number of files written; raises
    BackupError when the tar cannot be read or holds a member it should not."""
    storage = storage or default_storage
    written = 0
    try:
        with tarfile.open(source, "r") as tar:
            for info in tar:
                name = info.name
                parts = name.split("/")
                if (
                    not info.isfile()
                    or parts[0] != IMAGES_FOLDER
                    or any(part in ("", ".", "..") for part in parts)
                ):
                    raise BackupError(f"{source} holds {name!r}, which is not an image file")
                if storage.exists(name):
                    continue
                saved = storage.save(name, File(tar.extractfile(info), name=parts[-1]))
                if saved != name:
                    storage.delete(saved)
                    raise BackupError(f"{name} could not be written back to storage")
                written += 1
    except (tarfile.TarError, OSError) as error:
        raise BackupError(f"cannot read {source}: {error}") from None
    return written


def _vendor(using):
    vendor = connections[using].vendor
    if vendor not in SUFFIXES:
        raise BackupError(f"cannot back up a {vendor} database: only SQLite and PostgreSQL")
    return vendor


def default_path(using=DEFAULT_DB_ALIAS, now=None):
    """``backup-<database name>-<UTC YYYYmmdd-HHMMSS>.sqlite3`` (or ``.dump``), a Path in the
    current folder."""
    vendor = _vendor(using)
    name = Path(str(connections[using].settings_dict["NAME"])).stem or "database"
    stamp = (now or timezone.now()).strftime("%Y%m%d-%H%M%S")
    return Path(f"backup-{name}-{stamp}{SUFFIXES[vendor]}")


def backup(path, using=DEFAULT_DB_ALIAS):
    """Write a consistent copy of database ``using`` to ``path`` (str or Path).

    SQLite: the online backup API copies every page in one step, a snapshot taken while
    readers and writers go on (WAL); the copy is then checked with ``PRAGMA quick_check``.
    PostgreSQL: ``pg_dump --format=custom`` (one snapshot transaction), without owners or
    privileges so it restores into any database. The file appears only once complete (it
    is written beside ``path`` and renamed). Returns a BackupResult; raises BackupError.
    """
    vendor = _vendor(using)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        if vendor == "sqlite":
            _sqlite_backup(using, partial)
        else:
            command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges"]
            _run([*command, "--file", str(partial)], using)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    images = backup_images(images_path(path))
    return BackupResult(path, path.stat().st_size, vendor, images)


def restore(path, using=DEFAULT_DB_ALIAS):
    """Replace everything in database ``using`` with the backup at ``path``.

    The file must be a backup of this site made by this code or an older one, for the
    same engine: checked by its first bytes, then by its django_migrations rows (an
    older backup is migrated after the restore). The restore holds the site lock alone
    (articles.sitelock) and is refused while an import or a re-render runs. SQLite: the
    backup API copies the file over the live database in one step; other connections see
    the restored data on their next query. PostgreSQL: ``pg_restore --clean --if-exists
    --single-transaction`` into the existing database (create an empty one first for a new
    server): all of it or, on any error, nothing. Cached pages are made stale afterwards.
    When ``<path>.images.tar`` is beside it, the image files storage lacks are put back
    first (restore_images; only added, so a refused restore leaves nothing wrong).
    Returns a BackupResult; raises BackupError (the database is then unchanged).
    """
    vendor = _vendor(using)
    path = Path(path)
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_HEADER))
    except OSError as error:
        raise BackupError(f"cannot read {path}: {error.strerror}") from None
    expected = SQLITE_HEADER if vendor == "sqlite" else PG_DUMP_HEADER
    if not head.startswith(expected):
        kind = "an SQLite database" if vendor == "sqlite" else "a pg_dump custom-format file"
        raise BackupError(f"{path} is not {kind}; the database ({vendor}) was not touched")
    applied = _sqlite_migrations(path) if vendor == "sqlite" else _pg_migrations(path, using)
    missing = check_migrations(path, applied)
    tar = images_path(path)
    images = restore_images(tar) if tar.is_file() else 0
    try:
        with site_lock(exclusive=True, wait=False, using=using):
            if vendor == "sqlite":
                _sqlite_restore(path, using)
            else:
                _pg_restore(path, using)
            if missing:
                # An older backup of this site: bring its tables up to this code.
                call_command("migrate", database=using, interactive=False, verbosity=0)
    except SiteBusy as busy:
        raise BackupError(
            f"{busy}; the database was not touched: restore again once it has finished"
        ) from None
    invalidate_everything()
    return BackupResult(path, path.stat().st_size, vendor, images)


def check_migrations(path, applied):
    """Refuse a backup that is not of this site or is newer than this code.

    ``applied``: the (app, migration) pairs the backup's django_migrations table holds, or
    None when it has no such table. Returns the number of this code's migrations the
    backup lacks (an older backup: migrated after the restore). Raises BackupError.
    """
    if not applied or not any(app == "articles" for app, _ in applied):
        raise BackupError(
            f"{path} is not a backup of this site (it holds no articles migrations); "
            "the database was not touched"
        )
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = sorted(applied - known)
    if unknown:
        names = ", ".join(f"{app}.{name}" for app, name in unknown[:5])
        raise BackupError(
            f"{path} was made by a newer version of the site ({len(unknown)} migrations this "
            f"code does not know: {names}); the database was not touched"
        )
    return len(known - applied)


def _sqlite_migrations(path):
    try:
        source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise BackupError(f"cannot open {path}: {error}") from None
    try:
        return set(source.execute("SELECT app, name FROM django_migrations").fetchall())
    except sqlite3.DatabaseError:
        return None  # no such table, or not a database at all
    finally:
        source.close()


def _pg_migrations(path, using):
    """The django_migrations rows of a pg_dump archive, read with pg_restore (no server
    needed): its data section as COPY text."""
    output = _run(
        ["pg_restore", "--data-only", "--table=django_migrations", "--file=-", str(path)],
        using,
        capture=True,
    )
    rows, inside = set(), False
    for line in output.splitlines():
        if line.startswith("COPY ") and "django_migrations" in line:
            inside = True
        elif inside and line == "\\.":
            break
        elif inside:
            columns = line.split("\t")
            if len(columns) >= 3:
                rows.add((columns[1], columns[2]))
    return rows or None


def _pg_restore(path, using):
    _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            _pg_environment(using)["PGDATABASE"],
            str(path),
        ],
        using,
    )


def _sqlite_backup(using, target):
    connection = connections[using]
    connection.ensure_connection()
    destination = sqlite3.connect(target)
    try:
        # pages=-1: all at once, so the copy is one snapshot even while others write.
        connection.connection.backup(destination, pages=-1)
        (result,) = destination.execute("PRAGMA quick_check").fetchone()
    finally:
        destination.close()
    if result != "ok":
        raise BackupError(f"the copy failed its integrity check: {result}")


def _sqlite_restore(path, using):
    source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        try:
            (result,) = source.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as error:
            raise BackupError(
                f"{path} is damaged ({error}); the database was not touched"
            ) from None
        if result != "ok":
            raise BackupError(f"{path} failed its integrity check ({result}); not restored")
        connection = connections[using]
        connection.ensure_connection()
        source.backup(connection.connection, pages=-1)
    finally:
        source.close()


def _pg_environment(using):
    """libpq's variables for database ``using``: the password never appears in argv."""
    settings = connections[using].settings_dict
    values = {
        "PGDATABASE": settings["NAME"],
        "PGUSER": settings.get("USER"),
        "PGPASSWORD": settings.get("PASSWORD"),
        "PGHOST": settings.get("HOST"),
        "PGPORT": str(settings.get("PORT") or ""),
    }
    return {name: str(value) for name, value in values.items() if value}


def _run(command, using, capture=False):
    if shutil.which(command[0]) is None:
        raise BackupError(
            f"{command[0]} is not installed: install PostgreSQL's client tools "
            "(Debian: apt-get install postgresql-client) of the server's major version"
        )
    environment = {**os.environ, **_pg_environment(using)}
    with tempfile.TemporaryFile(mode="w+") as errors, tempfile.TemporaryFile(mode="w+") as out:
        result = subprocess.run(
            command, env=environment, stderr=errors, stdout=out if capture else subprocess.DEVNULL
        )
        if result.returncode != 0:
            errors.seek(0)
            raise BackupError(f"{command[0]} failed: {errors.read().strip()}")
        out.seek(0)
        return out.read()
