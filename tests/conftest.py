"""Shared fixtures: the sample site imported from fixtures/, the shared corpus path, what
the migrations wrote, put back before each test that commits, and the browser tests' pages,
login and screenshots."""

import importlib
import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from django.apps import apps
from django.core.management import call_command
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connection
from django.test.testcases import LiveServerThread
from django_tasks_db.management.commands import db_worker

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT_ROOT / "fixtures"
#: The real corpus lives beside the project, never inside it; tests that need it skip
#: when it is absent.
CORPUS = PROJECT_ROOT.parent / "shared" / "corpus"


#: Debian's Chromium, driven by Playwright (never a browser Playwright downloads).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # This machine's network is closed: no background calls home.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: How long a browser test waits for a page or an element, in milliseconds.
BROWSER_TIMEOUT_MS = 15_000
#: Browser tests' screenshots (never committed).
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
#: The browser tests' users' password.
PASSWORD = "a-long-test-password"
#: An init script recording each Content-Security-Policy violation in window.__violations,
#: before any page script runs: the browser fires this event for every blocked load, inline
#: script, inline style or eval, whatever the page does with its console.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${where}`);
});
"""


class OneRequestAtATimeServer(ThreadedWSGIServer):
    """The live server, answering one request at a time when its threads share the test's
    in-memory SQLite connection.

    Each request runs in its own thread, but an in-memory database has a single connection,
    which they all borrow: two requests at once (a preview fetched while the form is saved)
    interleave their transactions on it and one fails with "no such savepoint". A real
    deployment gives each worker its own connection and needs no such lock.
    """

    def set_app(self, application):
        if not self.connections_override:
            super().set_app(application)
            return
        lock = threading.Lock()

        def one_at_a_time(environ, start_response):
            with lock:
                return application(environ, start_response)

        super().set_app(one_at_a_time)


LiveServerThread.server_class = OneRequestAtATimeServer


#: The data migrations: each writes rows that a committing test's flush removes.
DATA_MIGRATIONS = {
    "articles.migrations.0003_editors_group": "create_editors_group",
    "articles.migrations.0008_article_import": "grant_import_permission",
    "articles.migrations.0009_review_and_publishers": "create_publishers_group",
    "articles.migrations.0011_images": "grant_image_permissions",
}


def _commits(node, fixturenames):
    marker = node.get_closest_marker("django_db")
    transaction = marker is not None and marker.kwargs.get("transaction", False)
    return bool(transaction) or "live_server" in fixturenames or "transactional_db" in fixturenames


@pytest.fixture(autouse=True)
def _migration_data(request):
    """Before a test that commits, put back what the data migrations wrote (the Editors
    group), by running their own functions again (they are idempotent).

    A committing test (``transaction=True``, ``live_server``) ends by emptying every table;
    Django then recreates content types and permissions, but not the migrations' rows, so
    the next committing test would miss them. Tests that roll back instead run first and
    see the database exactly as ``migrate`` left it.
    """
    if not _commits(request.node, request.fixturenames):
        return
    request.getfixturevalue("transactional_db")
    for module, function in DATA_MIGRATIONS.items():
        migrate = getattr(importlib.import_module(module), function)
        migrate(apps, SimpleNamespace(connection=connection))


def pytest_collection_modifyitems(items):
    """Refuse ``serialized_rollback``: _migration_data does that job, in any order.

    Its reload collides with the content types a plain committing test's flush recreates
    (new ids, IntegrityError), and under Playwright's sync API (an event loop runs in the
    test's thread) Django hands the test another connection, which has no serialized data
    to reload, so the option silently does nothing there.
    """
    offenders = [
        item.nodeid
        for item in items
        if (marker := item.get_closest_marker("django_db")) is not None
        and marker.kwargs.get("serialized_rollback")
    ]
    if offenders:
        raise pytest.UsageError(
            "serialized_rollback makes tests depend on their order; tests/conftest.py "
            "puts back what the migrations wrote instead: " + ", ".join(offenders)
        )


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for one test module (browser tests skip without CHROMIUM)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own database
    # calls are still synchronous, so Django's async-safety check does not apply.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def new_page(browser):
    """new_page(width=1280, height=900, init_script=None, **context_options) -> a Page in a
    fresh browser context, so that tests share no cookies; closed after the test."""
    contexts = []

    def new_page(width=1280, height=900, init_script=None, **options):
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(BROWSER_TIMEOUT_MS)
        contexts.append(context)
        if init_script:
            context.add_init_script(init_script)
        return context.new_page()

    yield new_page
    for context in contexts:
        context.close()


def collect_errors(page):
    """Collect the page's script errors and console errors in ``page.errors``; returns it.

    The admin has no favicon, so that request's error does not count; any other (a script, a
    refused style) does.
    """
    page.errors = []

    def console(message):
        if message.type == "error" and not message.location.get("url", "").endswith("favicon.ico"):
            page.errors.append(message.text)

    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", console)
    return page


def log_in(page, base_url, username, password=PASSWORD):
    """Log in through the admin's login form; returns once the admin's index shows."""
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#reports-module")


@pytest.fixture
def admin_page(new_page, live_server):
    """admin_page(username, **new_page_options) -> a new page logged in to the admin as that
    user, collecting its errors (collect_errors)."""

    def admin_page(username, **options):
        page = collect_errors(new_page(**options))
        log_in(page, live_server.url, username)
        return page

    return admin_page


def screenshot(target, name, **options):
    """Save a page's or a locator's screenshot as SCREENSHOTS/name and check it is not empty."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    target.screenshot(path=str(path), **options)
    assert path.stat().st_size > 0


@pytest.fixture(autouse=True, scope="session")
def _cache_folder(tmp_path_factory):
    """The test run's own file-based cache folder (for this process and the servers it
    starts), never the development server's."""
    from django.conf import settings
    from django.test import override_settings

    default = settings.CACHES["default"]
    if default["BACKEND"] != "quicktakes.cache.FolderCache":
        yield
        return
    folder = str(tmp_path_factory.mktemp("cache"))
    os.environ["FILE_CACHE_DIR"] = folder
    with override_settings(CACHES={"default": {**default, "LOCATION": folder}}):
        yield


@pytest.fixture(autouse=True)
def _empty_cache():
    # Cached pages must not leak from one test into the next.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def _media_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _plain_static_storage(settings, _media_folder):
    # Manifest storage needs collectstatic; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.SITE_URL = "https://learn.example.com"
    # Files saved through storage (share images drawn at subject saves) stay out of the
    # project's own media folder.
    settings.MEDIA_ROOT = _media_folder


MANIFEST_STORAGE = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}


@pytest.fixture(scope="session")
def static_root(tmp_path_factory):
    """collectstatic run once, as a deploy runs it, into a temporary STATIC_ROOT."""
    from django.conf import settings
    from django.core.management import call_command
    from django.test import override_settings

    root = tmp_path_factory.mktemp("static")
    storages = {**settings.STORAGES, "staticfiles": MANIFEST_STORAGE}
    with override_settings(STATIC_ROOT=root, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root


@pytest.fixture
def corpus():
    if not (CORPUS / "learn").is_dir():
        pytest.skip("the shared corpus is absent")
    return CORPUS


def corpus_answers(step=1):
    """Yield ``(path, answer as written)`` for every ``step``-th corpus file, in path order.

    Skips the calling test when the corpus is absent.
    """
    if not (CORPUS / "learn").is_dir():
        pytest.skip("the shared corpus is absent")
    for path in sorted((CORPUS / "learn").rglob("*.md"))[::step]:
        lines = path.read_text(encoding="utf-8").split("\n")
        # Only the `answer:` entry is loaded: parsing whole front matter costs 4x more.
        start = next(i for i, line in enumerate(lines) if line.startswith("answer:"))
        end = next(
            i for i in range(start + 1, len(lines)) if lines[i] and not lines[i][0].isspace()
        )
        yield path, yaml.load("\n".join(lines[start:end]), Loader=yaml.CSafeLoader)["answer"]


@pytest.fixture
def sample_site(db):
    """The fixtures/ articles imported with their subjects file; returns the report."""
    from articles.importing import import_paths

    report = import_paths([FIXTURES / "learn"], subjects_file=FIXTURES / "subjects.json", workers=1)
    assert not report.errors, report.errors
    return report


@pytest.fixture
def write_article(tmp_path):
    """Write a front matter file from keyword overrides; returns its Path."""

    def write(slug="a-question", subject="mathematics", subject_name="Mathematics", **fields):
        values = {
            "_schema": "default",
            "id": 1,
            "date": "2024-11-29",
            "title": "A question?",
            "article_title": "A question?",
            "date_format": "MMM DD, YYYY",
            "post_on_text": "Posted on",
            "author": "QuickTakes",
            "question": "A question?",
            "answer": "An answer.",
            "subject": subject_name,
            "file_name": f"{slug}.md",
            "url": f"/learn/{subject}/questions/{slug}",
        }
        values.update(fields)
        lines = ["---"]
        for key, value in values.items():
            if value is None:
                continue
            if isinstance(value, dict):
                lines.append(f"{key}:")
                lines.extend(f"    {k}: {v}" for k, v in value.items())
            elif key in {"title", "article_title", "question", "answer"}:
                lines.append(f"{key}: >-\n    {value}")
            else:
                lines.append(f"{key}: {value}")
        lines += ["---", "", "&nbsp;"]
        folder = tmp_path / "learn" / subject
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{slug}.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    return write


def run_import(*paths, **options):
    """Call the import command; returns (stdout, stderr, exit status)."""
    from io import StringIO

    from django.core.management.base import CommandError

    out, err = StringIO(), StringIO()
    status = 0
    try:
        call_command("import_articles", *map(str, paths), stdout=out, stderr=err, **options)
    except CommandError as error:
        status = error.returncode
        err.write(str(error))
    return out.getvalue(), err.getvalue(), status


@pytest.fixture
def worker(monkeypatch):
    """Run the queued jobs with the real ``db_worker`` command, in this process, then stop.

    The worker closes its connection between jobs (close_old_connections); inside a test's
    transaction that would end the test's own, so that one call is made a no-op here."""
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    def run():
        call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)

    return run
