"""``manage.py bench_crafted``: what crafted input costs, in figures.

- An archive bomb: a zip of about 1 MB holding one 1 GiB member, imported in a fresh
  process: the time until it is refused and the process's peak memory.
- Junk query strings: 1,000 requests of cached pages with made-up parameters, and the
  number of page-cache entries they added (the file-based cache's files).
- One truth across workers: with no Redis, gunicorn with two workers serves an article;
  it is unpublished by another process; the time until no worker serves it any more.

Figures are printed; nothing here decides pass or fail (the tests do).
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

PROJECT_ROOT = Path(settings.BASE_DIR)
FIXTURES = PROJECT_ROOT / "fixtures"
ARTICLE = "/learn/mathematics/questions/how-do-you-expand-a-perfect-square"

_MEASURE_IMPORT = """
import resource, sys, time
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from articles.importing import import_paths
started = time.perf_counter()
report = import_paths([sys.argv[1]], workers=1)
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{elapsed:.3f} {peak} {len(report.errors)} {report.created}")
print(report.errors[0] if report.errors else "")
"""


class Command(BaseCommand):
    help = "Measure archive-bomb refusal, junk-query cache growth and cross-worker invalidation."

    def handle(self, *args, **options):
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            self.bomb(folder)
            env = self.site(folder)
            self.serving(folder, env)

    def bomb(self, folder):
        archive = folder / "bomb.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            zipped.write(next((FIXTURES / "learn" / "mathematics").glob("*.md")), "learn/good.md")
            with zipped.open("learn/bomb.md", "w", force_zip64=True) as member:
                block = b"\0" * (1 << 20)
                for _ in range(1024):
                    member.write(block)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "quicktakes.settings",
            "DATABASE_URL": f"sqlite:///{folder / 'bomb.sqlite3'}",
        }
        result = subprocess.run(
            [sys.executable, "-c", _MEASURE_IMPORT, str(archive)],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        figures, message = result.stdout.strip().split("\n", 1)
        elapsed, peak_kb, errors, created = figures.split()
        self.stdout.write(
            f"Archive bomb ({archive.stat().st_size / 1e6:.1f} MB zip, one 1 GiB member): "
            f"refused in {float(elapsed):.3f} s, peak memory {int(peak_kb) / 1024:.0f} MiB "
            f"(the whole process, Django included); {errors} error, {created} good file "
            f"imported beside it.\n  {message.strip()}"
        )

    def site(self, folder):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "quicktakes.settings",
            "DATABASE_URL": f"sqlite:///{folder / 'site.sqlite3'}",
            "FILE_CACHE_DIR": str(folder / "cache"),
            "STATIC_ROOT": str(folder / "static"),
            "ALLOWED_HOSTS": "127.0.0.1",
            "DEBUG": "0",
        }
        env.pop("REDIS_URL", None)
        for args in (
            ["migrate", "-v0"],
            ["collectstatic", "--noinput", "-v0"],
            ["import_articles", str(FIXTURES / "learn"), "-v0"],
        ):
            subprocess.run(
                [sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=env, check=True
            )
        return env

    def serving(self, folder, env):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:quicktakes.gunicorn",
             "--bind", f"127.0.0.1:{port}", "--workers", "2", "quicktakes.wsgi"],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            _wait_for(port)
            for _ in range(20):  # both workers hold the page (the cache is shared anyway)
                _status(base + ARTICLE)
            cache = folder / "cache"
            before = sum(1 for _ in cache.rglob("*.djcache"))
            for number in range(1000):
                _status(f"{base}{ARTICLE}?p=zzz&n={number}")
            after = sum(1 for _ in cache.rglob("*.djcache"))
            self.stdout.write(
                f"1,000 requests with junk parameters: {after - before} new cache entries "
                f"({before} before, {after} after)."
            )
            unpublish = (
                "import django; django.setup(); from articles.models import Article; "
                "a = Article.objects.get(slug='how-do-you-expand-a-perfect-square'); "
                "a.status = Article.Status.DRAFT; a.save()"
            )
            subprocess.run([sys.executable, "-c", unpublish], cwd=PROJECT_ROOT, env=env, check=True)
            unpublished = time.perf_counter()
            served = 0
            last_public = unpublished
            while time.perf_counter() - unpublished < 5:
                if _status(base + ARTICLE) == 200:
                    served += 1
                    last_public = time.perf_counter()
            self.stdout.write(
                "Unpublished through another process, two gunicorn workers, no Redis: "
                f"{served} requests served it afterwards; last one "
                f"{(last_public - unpublished) * 1000:.0f} ms after the save."
            )
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_for(port):
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _status(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
