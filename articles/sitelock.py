"""The site lock: imports and re-renders share it, a restore takes it alone.

Imports may run side by side (each writes whole batches; articles.importing), and so may a
re-render, but a restore replaces the whole database: run beside an import, the import's
early batches would vanish under the restored data and its later ones land on top of it.
So an import or a re-render holds the lock shared, waiting while a restore holds it; a
restore holds it exclusively and is refused at once while anything else holds it.

PostgreSQL: a session-level advisory lock (shared or exclusive), seen by every app server
and command connected to the database. SQLite: ``flock`` on a ``.lock`` file beside the
database file, seen by every process of the machine (an SQLite site is one machine).
"""

import contextlib
import fcntl
import hashlib
import os
import tempfile
import time
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, connections

#: pg_advisory_lock's key for the site lock (any constant; this one spells "QTLearn").
ADVISORY_KEY = 0x51544C6561726E


class SiteBusy(Exception):
    """The site lock is held by another writer; the message says which kind."""


def _lock_file(using):
    name = str(connections[using].settings_dict["NAME"])
    if name.startswith("file:") or name == ":memory:" or not name:
        # An in-memory database (the tests'): only its own process sees it, so the lock is
        # that process's alone (another test run on the machine never holds it).
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"quicktakes-site-{os.getpid()}-{digest}.lock"
    return Path(name).with_name(Path(name).name + ".lock")


@contextlib.contextmanager
def site_lock(*, exclusive, wait, using=DEFAULT_DB_ALIAS, timeout=None):
    """Hold the site lock for the block: ``exclusive`` for a restore, shared otherwise.

    ``wait``: block until the lock is free (``timeout`` seconds at most, None: no limit);
    otherwise raise SiteBusy at once when it is held in a conflicting way.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with _advisory(connection, exclusive, wait, timeout):
            yield
    else:
        with _flock(_lock_file(using), exclusive, wait, timeout):
            yield


def _busy_message(exclusive):
    if exclusive:
        return "an import or a re-render is running"
    return "a restore is running"


@contextlib.contextmanager
def _advisory(connection, exclusive, wait, timeout):
    suffix = "" if exclusive else "_shared"
    deadline = None if timeout is None else time.monotonic() + timeout
    connection.ensure_connection()
    with connection.cursor() as cursor:
        while True:
            cursor.execute(f"SELECT pg_try_advisory_lock{suffix}(%s)", [ADVISORY_KEY])
            if cursor.fetchone()[0]:
                break
            if not wait or (deadline is not None and time.monotonic() > deadline):
                raise SiteBusy(_busy_message(exclusive))
            time.sleep(0.2)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_unlock{suffix}(%s)", [ADVISORY_KEY])


@contextlib.contextmanager
def _flock(path, exclusive, wait, timeout):
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    deadline = None if timeout is None else time.monotonic() + timeout
    with open(path, "a+b") as handle:
        while True:
            try:
                fcntl.flock(handle, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait or (deadline is not None and time.monotonic() > deadline):
                    raise SiteBusy(_busy_message(exclusive)) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
