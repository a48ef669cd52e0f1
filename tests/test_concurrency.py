"""Concurrent writes: an import running while readers load pages and an editor saves
articles in the admin, all at once against one database (a file for SQLite) through a real
gunicorn. No request fails, nothing reports "database is locked", every editor's save stays.

Everything runs in processes of its own, as in production: gunicorn serves readers and the
editor over HTTP, ``manage.py import_articles`` writes beside it.
"""

import http.cookiejar
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

import psycopg
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.urls import reverse

from articles import importing
from articles.models import Article, StaleVersion
from tests.conftest import FIXTURES, PROJECT_ROOT

# Committed rows, seen by other processes.
pytestmark = pytest.mark.django_db(transaction=True)

GENERATED_FILES = 300
PASSWORD = "a-long-test-password"


def article_path(subject, slug):
    return f"/learn/{subject}/questions/{slug}"


#: Fixture articles the editor changes; the import never reads their files.
UNTOUCHED = [
    ("accounting-and-finance", "what-is-the-accounting-equation"),
    ("computer-science", "how-do-you-escape-html-in-a-web-page"),
    ("education-studies", "what-is-formative-assessment"),
    ("mathematics", "how-do-you-expand-a-perfect-square"),
]
#: A fixture article the editor changes and whose file the import brings back changed.
CONTESTED = ("mathematics", "what-does-it-mean-for-a-matrix-to-be-invertible")
READER_PATHS = [
    "/learn",
    "/learn/mathematics",
    "/learn/computer-science",
    article_path("computer-science", "how-do-momentum-based-optimizers-update-weights"),
    *(article_path(subject, slug) for subject, slug in [*UNTOUCHED, CONTESTED]),
    "/search?q=rule",
    "/feed.xml",
]


# --- the shared database and the server ----------------------------------------------------


@pytest.fixture
def site(tmp_path, transactional_db):
    """A database other processes reach, holding the sample site and a staff user, and
    gunicorn serving it; yields ``(base_url, database_url, env, server_log_path)``."""
    if connection.vendor == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    else:
        params = connection.settings_dict
        password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
        database_url = (
            f"postgres://{params['USER']}{password}@{params.get('HOST') or 'localhost'}:"
            f"{params.get('PORT') or 5432}/{params['NAME']}"
        )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "STATIC_ROOT": str(tmp_path / "static"),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "0",
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
    }
    manage = [sys.executable, "manage.py"]

    def run(*args):
        subprocess.run([*manage, *args], cwd=PROJECT_ROOT, env=env, check=True)

    run("migrate", "-v0")
    run("collectstatic", "--noinput", "-v0")
    run("import_articles", str(FIXTURES / "learn"), "--subjects", str(FIXTURES / "subjects.json"))
    run("createsuperuser", "--noinput", "--username", "edna", "--email", "edna@example.com")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log_path = tmp_path / "gunicorn.log"
    server_env = {**env, "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "4"}
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*manage[:1], "-m", "gunicorn", "-c", "python:quicktakes.gunicorn",
             "--bind", f"127.0.0.1:{port}", "quicktakes.wsgi"],
            cwd=PROJECT_ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", database_url, env, log_path
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def query(database_url, sql, params=()):
    """Rows of ``sql`` read from the shared database, with a connection of its own."""
    if database_url.startswith("sqlite:"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
            return db.execute(sql.replace("%s", "?"), params).fetchall()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def files_to_import(folder):
    """GENERATED_FILES new articles (copies of the fixtures under new slugs) and the
    contested article's file with a changed answer, sorted to come last."""
    templates = sorted((FIXTURES / "learn").rglob("*.md"))
    for number in range(GENERATED_FILES):
        template = templates[number % len(templates)]
        text = template.read_text(encoding="utf-8")
        text = text.replace(template.stem, f"{template.stem}-{number}")
        target = folder / template.parent.name / f"{template.stem}-{number}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    subject, slug = CONTESTED
    source = (FIXTURES / "learn" / subject / f"{slug}.md").read_text(encoding="utf-8")
    changed = source.replace("answer: ", "answer: The file's new version. ", 1)
    assert changed != source
    last = folder / "zz-changed" / f"{slug}.md"
    last.parent.mkdir(parents=True)
    last.write_text(changed, encoding="utf-8")


# --- a browser, reduced to what an editor does ----------------------------------------------


class FormFields(HTMLParser):
    """The name/value pairs a browser submits from the form with id ``form_id``."""

    def __init__(self, html, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id, self.fields = form_id, []
        self._inside = False
        self._textarea = self._select = None
        self._options = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._inside = attrs.get("id") == self.form_id
        if not self._inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and "disabled" not in attrs:
            kind = attrs.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in attrs:
                    self.fields.append((name, attrs.get("value") or "on"))
            elif kind not in {"submit", "button", "image", "reset", "file"}:
                self.fields.append((name, attrs.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea = [name, ""]
        elif tag == "select" and name:
            self._select, self._options = name, []
        elif tag == "option" and self._select:
            self._options.append((attrs.get("value", ""), "selected" in attrs))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._inside = False
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            # A browser drops the newline that follows <textarea>.
            self.fields.append((name, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "select" and self._select:
            chosen = [value for value, selected in self._options if selected]
            if not chosen and self._options:
                chosen = [self._options[0][0]]
            self.fields += [(self._select, value) for value in chosen]
            self._select = None


class Editor:
    """A staff member in the admin over HTTP: logs in, then saves answers."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.statuses = []

    def request(self, path, fields=None):
        data = urllib.parse.urlencode(fields).encode() if fields is not None else None
        try:
            with self.opener.open(self.base_url + path, data=data, timeout=60) as response:
                status, body, final = response.status, response.read().decode(), response.url
        except urllib.error.HTTPError as error:
            status, body, final = error.code, error.read().decode(errors="replace"), path
        self.statuses.append((path, status))
        return status, body, final

    def log_in(self):
        _, page, _ = self.request("/admin/login/?next=/admin/")
        fields = dict(FormFields(page, "login-form").fields)
        fields.update(username="edna", password=PASSWORD, next="/admin/")
        status, _, final = self.request("/admin/login/?next=/admin/", fields)
        assert status == 200 and final.endswith("/admin/"), final

    def save_answer(self, article_id, answer):
        """Open the article's change form, replace the answer, save; True when saved."""
        path = f"/admin/articles/article/{article_id}/change/"
        status, page, _ = self.request(path)
        assert status == 200, (path, status)
        fields = [(name, value) for name, value in FormFields(page, "article_form").fields]
        fields = [(n, answer if n == "answer" else v) for n, v in fields] + [("_save", "Save")]
        status, page, final = self.request(path, fields)
        # A saved form redirects to the changelist; a refused one shows the form again.
        return status == 200 and final.endswith("/admin/articles/article/")


# --- the test -----------------------------------------------------------------------------


def test_an_import_readers_and_an_editor_at_once_lose_nothing(site, tmp_path):
    base_url, database_url, env, server_log = site
    ids = {
        (subject, slug): query(
            database_url,
            "SELECT a.id FROM articles_article a JOIN articles_subject s ON s.id = a.subject_id "
            "WHERE s.slug = %s AND a.slug = %s",
            (subject, slug),
        )[0][0]
        for subject, slug in [*UNTOUCHED, CONTESTED]
    }
    folder = tmp_path / "incoming"
    files_to_import(folder)

    editor = Editor(base_url)
    editor.log_in()
    stop = threading.Event()
    reader_statuses, failures = [], []

    def read():
        while not stop.is_set():
            for path in READER_PATHS:
                try:
                    with urllib.request.urlopen(base_url + path, timeout=60) as response:
                        response.read()
                        reader_statuses.append((path, response.status))
                        during_import["reads"] += importer.poll() is None
                except urllib.error.HTTPError as error:
                    reader_statuses.append((path, error.code))
                except OSError as error:
                    failures.append(f"reader {path}: {error}")

    saved = {}
    during_import = {"reads": 0, "saves": 0}

    def edit():
        # Keep saving while the import runs (at least two rounds); the contested article
        # is saved first of all, while the import is still early in its files.
        round_number = 0
        while round_number < 2 or not stop.is_set():
            round_number += 1
            for key in [CONTESTED, *UNTOUCHED]:
                answer = f"Saved by the editor, round {round_number}, for {key[1]}."
                try:
                    if editor.save_answer(ids[key], answer):
                        saved[key] = answer
                        during_import["saves"] += importer.poll() is None
                    else:
                        failures.append(f"editor: the form for {key[1]} was refused")
                except (AssertionError, OSError) as error:
                    failures.append(f"editor {key[1]}: {error!r}")

    importer = subprocess.Popen(
        [sys.executable, "manage.py", "import_articles", str(folder), "--batch-size", "20"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    threads = [threading.Thread(target=read) for _ in range(3)] + [threading.Thread(target=edit)]
    for thread in threads:
        thread.start()
    try:
        out, err = importer.communicate(timeout=300)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=300)

    everything = out + err + server_log.read_text(encoding="utf-8", errors="replace")
    assert "database is locked" not in everything
    assert "Traceback" not in everything, everything[-3000:]
    assert importer.returncode == 0, err
    assert f"{GENERATED_FILES + 1} files: {GENERATED_FILES} created" in out, out
    assert "0 failed" in out
    assert failures == []
    assert reader_statuses and {status for _, status in reader_statuses} == {200}
    assert {status for _, status in editor.statuses} <= {200, 302}
    # They really ran at the same time: saves and reads finished while the import ran.
    assert during_import["saves"] >= 1 and during_import["reads"] >= 10, during_import

    # No lost edit: every article holds the editor's last saved answer.
    assert set(saved) == {*UNTOUCHED, CONTESTED}
    for key, answer in saved.items():
        sql = "SELECT answer FROM articles_article WHERE id = %s"
        assert query(database_url, sql, (ids[key],)) == [(answer,)], key

    # The contested article: the import either found it edited and kept the editor's
    # version (reported as a conflict), or wrote it before the editor's later save.
    conflict = f"{article_path(*CONTESTED)} was changed in the admin"
    if conflict not in err:
        (row,) = query(
            database_url,
            "SELECT imported_at, edited_at FROM articles_article WHERE id = %s",
            (ids[CONTESTED],),
        )
        imported_at, edited_at = row
        assert imported_at is not None and edited_at > imported_at
    total = query(database_url, "SELECT COUNT(*) FROM articles_article")
    assert total == [(12 + GENERATED_FILES,)]


def test_an_editors_save_between_the_imports_read_and_write_is_kept(tmp_path, monkeypatch):
    """The narrowest race: the editor saves an article after the import has read it and
    before the import writes it. Neither change is lost silently: the editor's save waits
    for the import's row lock, then is refused (it started from the version before the
    import's), and the import's version stays."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite: the import holds the write lock from its read to its write")

    subject, slug = CONTESTED
    folder = tmp_path / "learn"
    shutil.copytree(FIXTURES / "learn", folder)
    importing.import_paths([folder], workers=1)
    path = folder / subject / f"{slug}.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("answer: ", "answer: Changed file. ", 1),
        encoding="utf-8",
    )
    article_id = Article.objects.get(subject__slug=subject, slug=slug).pk
    decide = Article.edited_since_import.fget

    refusals = []

    def editor_saves():
        article = Article.objects.get(pk=article_id)
        article.answer = "The editor's answer."
        try:
            article.save()
        except StaleVersion as refusal:
            refusals.append(refusal)
        finally:
            connection.close()

    def editor_saves_meanwhile(article):
        if article.pk == article_id:
            editor = threading.Thread(target=editor_saves)
            editor.start()
            # The save either commits now or waits for the import's lock on the row.
            editor.join(timeout=3)
            decide_later.append(editor)
        return decide(article)

    decide_later = []
    monkeypatch.setattr(Article, "edited_since_import", property(editor_saves_meanwhile))
    importing.import_paths([folder], workers=1)
    for editor in decide_later:
        editor.join(timeout=30)
    assert decide_later, "the editor did not save between the import's read and write"
    stored = Article.objects.get(pk=article_id)
    assert stored.answer.startswith("Changed file.")
    assert len(refusals) == 1
    assert (refusals[0].started_from, refusals[0].stored) == (1, 2) and stored.version == 2


def test_a_reference_to_an_article_held_elsewhere_never_blocks_an_editors_save():
    """PostgreSQL checks a foreign key when its transaction commits, by taking a key-share
    lock on the row referred to: the import's related suggestions refer to thousands of
    articles at once. The locks a save, a bulk action and a revert take to check versions
    must not wait for that one, or the two wait for each other ("deadlock detected", an
    import that fails at its end)."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has no row locks: one writer at a time")
    importing.import_paths([FIXTURES / "learn"], workers=1)
    subject, slug = UNTOUCHED[0]
    article = Article.objects.get(subject__slug=subject, slug=slug)
    params = connection.get_connection_params()
    other = psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"})
    try:
        other.execute("SELECT 1 FROM articles_article WHERE id = %s FOR KEY SHARE", [article.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")
        article.answer = "Saved while another transaction refers to this article."
        article.save()
        client = Client()
        client.force_login(User.objects.create_superuser("bulk", "bulk@x.example", PASSWORD))
        response = client.post(
            reverse("admin:articles_article_changelist"),
            {"action": "set_no_index", "_selected_action": [article.pk]},
        )
        assert response.status_code == 302
    finally:
        other.rollback()
        other.close()
    article.refresh_from_db()
    assert article.no_index and article.version == 3
    assert article.answer.startswith("Saved while another")
