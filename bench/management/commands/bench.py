"""``manage.py bench``: the benchmark anyone can run over the shared corpus.

For each database (SQLite and PostgreSQL) it builds a fresh database, times the first
import and the unchanged re-import (seconds, files/s, peak memory of the process tree),
measures server-side page latency and SQL queries per page, then serves the site with
gunicorn and loads it with wrk: cached and uncached article pages next to a static file
of the same size served by whitenoise. Hugo builds the same files in the same run.
With ``--long-tail N`` it runs the long-tail phase instead (bench.longtail): N articles of
the corpus imported and built into the page cache, read once each and then in a Zipf mix
with an editor's save every second, on each database (PostgreSQL with Redis), next to
whitenoise serving Hugo's build of the same files. Figures are printed; nothing here
decides pass or fail.
"""

import argparse
import http.cookiejar
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import psycopg
import redis
from django.conf import settings
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from articles.models import Article, Subject
from bench import longtail

PROJECT_ROOT = Path(settings.BASE_DIR)
DEFAULT_CORPUS = PROJECT_ROOT.parent / "shared" / "corpus"
DEFAULT_HUGO_SITE = PROJECT_ROOT.parent / "shared" / "bench" / "hugo-site"
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/quicktakes_bench"


class TreeMemory:
    """Samples the resident memory of a process and its descendants (Linux /proc).

    ``peak_mb`` is the largest sum seen, in MB. Sampling every 0.1 s can miss a spike
    shorter than that; the processes here grow and shrink slowly.
    """

    def __init__(self, pid):
        self.pid = pid
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _tree(self):
        children = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
        pids, stack = [], [self.pid]
        while stack:
            pid = stack.pop()
            pids.append(pid)
            stack.extend(children.get(pid, []))
        return pids

    def _rss_mb(self, pid):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def _run(self):
        while not self._stop.is_set():
            total = sum(self._rss_mb(pid) for pid in self._tree())
            self.peak_mb = max(self.peak_mb, total)
            self._stop.wait(0.1)


def run_timed(command, env=None, cwd=None):
    """Run ``command``; returns (seconds, peak MB of its process tree, stdout)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with TreeMemory(process.pid) as memory:
        stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise CommandError(f"{' '.join(map(str, command))} failed:\n{stderr[-2000:]}")
    return seconds, memory.peak_mb, stdout


def percentile(values, share):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Command(BaseCommand):
    help = (
        "Benchmark import, pages and serving over the shared corpus on SQLite and "
        "PostgreSQL, with Hugo side by side. Prints figures; takes several minutes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="Corpus folder.")
        parser.add_argument(
            "--databases", default="sqlite,postgresql", help="Comma-separated: sqlite, postgresql."
        )
        parser.add_argument(
            "--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL database to (re)create."
        )
        parser.add_argument("--hugo-site", default=str(DEFAULT_HUGO_SITE))
        parser.add_argument("--load-seconds", type=int, default=10, help="wrk duration per target.")
        parser.add_argument("--connections", type=int, default=16, help="wrk connections.")
        parser.add_argument(
            "--skip-import", action="store_true", help="Reuse the databases as they are."
        )
        parser.add_argument("--skip-load", action="store_true", help="No gunicorn/wrk phase.")
        parser.add_argument(
            "--redis-url",
            default="redis://127.0.0.1:6379/0",
            help="Shared cache for the two-app-server run on PostgreSQL ('' to skip it).",
        )
        parser.add_argument(
            "--long-tail",
            type=int,
            default=0,
            metavar="N",
            help="Run the long-tail phase only, on N articles drawn from the corpus.",
        )
        parser.add_argument(
            "--long-tail-seconds", type=int, default=15, help="Length of each Zipf phase."
        )
        parser.add_argument("--readers", type=int, default=8, help="Long-tail reader threads.")
        parser.add_argument("--json", metavar="FILE", help="Also write the figures as JSON.")
        parser.add_argument("--pages-phase", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if options["pages_phase"]:
            # Run inside a child whose DATABASE_URL is the benchmark database.
            self.stdout.write(json.dumps(measure_pages()))
            return
        corpus = Path(options["corpus"])
        if not (corpus / "learn").is_dir():
            self.stdout.write(f"The corpus is absent ({corpus}/learn): nothing to benchmark.")
            return
        results = {}
        workdir = Path(tempfile.mkdtemp(prefix="quicktakes-bench-"))
        if options["long_tail"]:
            try:
                results = self.bench_long_tail(corpus, workdir, options)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            self.report_long_tail(results)
            if options["json"]:
                Path(options["json"]).write_text(json.dumps(results, indent=2))
            return
        try:
            if not options["skip_import"]:
                results["hugo"] = self.bench_hugo(corpus, Path(options["hugo_site"]), workdir)
            for vendor in [v.strip() for v in options["databases"].split(",") if v.strip()]:
                url = self.database_url(vendor, options["pg_url"], workdir)
                results[vendor] = self.bench_database(vendor, url, corpus, workdir, options)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        self.report(results)
        if options["json"]:
            Path(options["json"]).write_text(json.dumps(results, indent=2))

    # --- databases --------------------------------------------------------------

    def database_url(self, vendor, pg_url, workdir):
        if vendor == "sqlite":
            return f"sqlite:///{PROJECT_ROOT / 'bench.sqlite3'}"
        if vendor == "postgresql":
            return pg_url
        raise CommandError(f"unknown database {vendor!r}: use sqlite or postgresql")

    def env_for(self, url, **extra):
        return {**os.environ, "DATABASE_URL": url, "DEBUG": "0", **extra}

    def recreate(self, vendor, url):
        if vendor == "sqlite":
            path = Path(url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return
        name = url.rsplit("/", 1)[1]
        admin_url = url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')

    def manage(self, *arguments):
        return [sys.executable, str(PROJECT_ROOT / "manage.py"), *map(str, arguments)]

    def bench_database(self, vendor, url, corpus, workdir, options):
        self.stderr.write(f"== {vendor}")
        static_root = workdir / "static"
        env = self.env_for(url, STATIC_ROOT=str(static_root))
        if not static_root.is_dir():
            run_timed(self.manage("collectstatic", "--noinput", "-v0"), env=env)
        figures = {}
        files = sum(1 for _ in (corpus / "learn").rglob("*.md"))
        if not options["skip_import"]:
            self.recreate(vendor, url)
            run_timed(self.manage("migrate", "--noinput", "-v0"), env=env)
            subjects = corpus / "subjects.json"
            command = self.manage("import_articles", corpus / "learn", "--subjects", subjects)
            self.stderr.write("   first import ...")
            seconds, peak, out = run_timed(command, env=env)
            figures["first_import"] = {
                "seconds": seconds,
                "files": files,
                "files_per_s": files / seconds,
                "peak_mb": peak,
                "summary": out.strip().splitlines()[-1],
            }
            self.stderr.write("   re-import ...")
            seconds, peak, out = run_timed(command, env=env)
            figures["reimport"] = {
                "seconds": seconds,
                "files": files,
                "files_per_s": files / seconds,
                "peak_mb": peak,
                "summary": out.strip().splitlines()[-1],
            }
            moved = corpus / "moved-questions.json"
            if moved.is_file():
                run_timed(self.manage("import_redirects", moved), env=env)
            run_timed(self.manage("rebuild_search_index"), env=env)
        self.stderr.write("   pages ...")
        _, _, out = run_timed(self.manage("bench", "--pages-phase"), env=env)
        figures["pages"] = json.loads(out.strip().splitlines()[-1])
        if not options["skip_load"]:
            figures["load"] = self.bench_load(url, workdir, options)
            if vendor == "postgresql" and options["redis_url"]:
                try:
                    figures["two_servers"] = self.bench_two_servers(url, workdir, options)
                except CommandError as error:
                    self.stderr.write(f"two-server run failed: {error}")
        return figures

    # --- long tail --------------------------------------------------------------

    def bench_long_tail(self, corpus, workdir, options):
        count = options["long_tail"]
        subset = workdir / "subset"
        files = sorted((corpus / "learn").rglob("*.md"))
        chosen = random.Random(5).sample(files, min(count, len(files)))
        for path in chosen:
            target = subset / "learn" / path.relative_to(corpus / "learn")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        shutil.copyfile(corpus / "subjects.json", subset / "subjects.json")
        results = {"articles": len(chosen)}
        hugo = self.bench_hugo(subset, Path(options["hugo_site"]), workdir)
        if hugo is None:
            raise CommandError("the long-tail run needs Hugo (apt-get install hugo)")
        results["hugo"] = hugo
        static_port = free_port()
        static = self.start_server(
            static_port,
            {**os.environ, "HUGO_PUBLIC": str(workdir / "hugo" / "public")},
            "bench.static_site",
        )
        try:
            for vendor in [v.strip() for v in options["databases"].split(",") if v.strip()]:
                url = self.database_url(vendor, options["pg_url"], workdir)
                results[vendor] = self.long_tail_database(
                    vendor, url, subset, workdir, static_port, options
                )
        finally:
            static.send_signal(signal.SIGTERM)
            static.wait(timeout=30)
        return results

    def long_tail_database(self, vendor, url, subset, workdir, static_port, options):
        self.stderr.write(f"== long tail, {vendor}")
        extra = {"STATIC_ROOT": str(workdir / "static")}
        prefix = f"bench-longtail-{os.getpid()}"
        if vendor == "postgresql":
            extra.update(REDIS_URL=options["redis_url"], CACHE_KEY_PREFIX=prefix)
        else:
            extra["FILE_CACHE_DIR"] = str(workdir / f"cache-{vendor}")
        env = self.env_for(url, **extra)
        if not (workdir / "static").is_dir():
            run_timed(self.manage("collectstatic", "--noinput", "-v0"), env=env)
        self.recreate(vendor, url)
        run_timed(self.manage("migrate", "--noinput", "-v0"), env=env)
        figures = {}
        command = self.manage(
            "import_articles", subset / "learn", "--subjects", subset / "subjects.json"
        )
        self.stderr.write("   import ...")
        seconds, _, _ = run_timed(command, env=env)
        figures["import_seconds"] = seconds
        self.stderr.write("   building pages ...")
        seconds, _, out = run_timed(self.manage("prerender_pages"), env=env)
        figures["prerender_seconds"] = seconds
        figures["prerender_summary"] = out.strip().splitlines()[-1]
        password = "bench-" + os.urandom(8).hex()
        run_timed(
            self.manage(
                "createsuperuser",
                "--noinput",
                "--username",
                "bench",
                "--email",
                "b@example.invalid",
            ),
            env={**env, "DJANGO_SUPERUSER_PASSWORD": password},
        )
        code = (
            "import django, json, os;"
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'quicktakes.settings');"
            "django.setup(); from articles.models import Article;"
            "qs = Article.objects.published().select_related('subject').order_by('pk');"
            "print(json.dumps([[a.get_absolute_url(), a.pk] for a in qs]))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        articles = [tuple(row) for row in json.loads(out)]
        port = free_port()
        server = self.start_gunicorn(port, env)
        try:
            session = AdminSession(port, "bench", password)
            self.stderr.write(f"   readers on {len(articles)} articles ...")
            figures.update(
                longtail.run(
                    port,
                    static_port,
                    articles,
                    session,
                    options["long_tail_seconds"],
                    options["readers"],
                )
            )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            if vendor == "postgresql":
                client = redis.Redis.from_url(options["redis_url"])
                for key in client.scan_iter(f"{prefix}:*", count=1000):
                    client.delete(key)
        return figures

    def report_long_tail(self, results):
        write = self.stdout.write
        hugo = results["hugo"]
        write(
            f"Long tail: {results['articles']} articles; Hugo build {hugo['seconds']:.1f} s; "
            "static reference: whitenoise serving Hugo's pages through gunicorn"
        )
        for vendor in ("sqlite", "postgresql"):
            figures = results.get(vendor)
            if not figures:
                continue
            cache_name = "Redis" if vendor == "postgresql" else "diskcache"
            write(
                f"\n{vendor} + {cache_name}: import {figures['import_seconds']:.1f} s, "
                f"pages built {figures['prerender_seconds']:.1f} s "
                f"({figures['prerender_summary']})"
            )
            for phase, label in (("once", "every article once"), ("zipf", "Zipf mix + saves")):
                for side in ("app", "static"):
                    data = figures[f"{side}_{phase}"]
                    line = (
                        f"  {label:<18} {side:<6} {data['requests_per_s']:7.0f} req/s  "
                        f"p50 {data['p50_ms']:6.2f} ms  p99 {data['p99_ms']:6.2f} ms  "
                        f"errors {data['errors']}"
                    )
                    if side == "app":
                        line += f"  hit rate {data['hit_rate']:.3f}"
                        if phase == "zipf":
                            line += f"  stale {data['stale']}"
                    write(line)
                write(f"  {label:<18} ratio to static {figures[f'ratio_{phase}']:.2f}")
            write(f"  editor saves through the admin: {figures['saves']}")
            if figures["save_errors"]:
                write(f"  save errors: {figures['save_errors']}")

    # --- Hugo -------------------------------------------------------------------

    def bench_hugo(self, corpus, hugo_site, workdir):
        hugo = shutil.which("hugo")
        if not hugo or not hugo_site.is_dir():
            self.stderr.write("Hugo or its site is absent: no Hugo reference in this run.")
            return None
        self.stderr.write("== hugo")
        site = workdir / "hugo"
        shutil.copytree(hugo_site, site)
        (site / "content").mkdir(exist_ok=True)
        (site / "content" / "learn").symlink_to((corpus / "learn").resolve())
        seconds, peak, _ = run_timed([hugo, "--quiet"], cwd=site)
        files = sum(1 for _ in (corpus / "learn").rglob("*.md"))
        return {"seconds": seconds, "files": files, "files_per_s": files / seconds, "peak_mb": peak}

    # --- load -------------------------------------------------------------------

    def bench_load(self, url, workdir, options):
        wrk = shutil.which("wrk")
        if not wrk:
            self.stderr.write("wrk is absent (apt-get install wrk): no load figures.")
            return None
        static_root = workdir / "static"
        env = self.env_for(url, STATIC_ROOT=str(static_root))
        article = self.pick_article(url)
        figures = {"article": article}
        servers = {}
        try:
            for name, cache_seconds in (("cached", "600"), ("uncached", "0")):
                port = free_port()
                servers[name] = self.start_gunicorn(
                    port, {**env, "PAGE_CACHE_SECONDS": cache_seconds}
                )
                figures[f"port_{name}"] = port
            body = self.fetch(figures["port_cached"], article)
            # A static file of the same size, served by whitenoise from the same server.
            (static_root / "bench-page.html").write_bytes(body)
            port = free_port()
            servers["static"] = self.start_gunicorn(port, env)
            figures["page_bytes"] = len(body)
            targets = {
                "cached_article": (figures["port_cached"], article),
                "uncached_article": (figures["port_uncached"], article),
                "static_file": (port, "/static/bench-page.html"),
            }
            for name, (target_port, path) in targets.items():
                self.stderr.write(f"   wrk {name} ...")
                figures[name] = self.run_wrk(wrk, target_port, path, options)
            static_rps = figures["static_file"]["requests_per_s"]
            figures["ratio_cached"] = figures["cached_article"]["requests_per_s"] / static_rps
            figures["ratio_uncached"] = figures["uncached_article"]["requests_per_s"] / static_rps
        finally:
            for process in servers.values():
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
        return figures

    def pick_article(self, url):
        code = (
            "import django, os;"
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'quicktakes.settings');"
            "django.setup(); from articles.models import Article;"
            "qs = Article.objects.published().select_related('subject').order_by('pk');"
            "a = qs[min(100, qs.count() - 1)];"
            "print(a.get_absolute_url())"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            env=self.env_for(url),
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    def start_gunicorn(self, port, env):
        return self.start_server(port, env, "quicktakes.wsgi")

    def start_server(self, port, env, application):
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:quicktakes.gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            application,
        ]
        log = tempfile.TemporaryFile()
        process = subprocess.Popen(
            command,
            env={**env, "ALLOWED_HOSTS": "127.0.0.1,localhost"},
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return process
            except OSError:
                time.sleep(0.2)
        process.kill()
        log.seek(0)
        raise CommandError(f"gunicorn did not start:\n{log.read().decode()[-2000:]}")

    def fetch(self, port, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.read()

    def run_wrk(self, wrk, port, path, options):
        # Warm up (fills the page cache and the workers' connections), then measure.
        self.fetch(port, path)
        command = [
            wrk,
            "-t2",
            f"-c{options['connections']}",
            f"-d{options['load_seconds']}s",
            "--latency",
            f"http://127.0.0.1:{port}{path}",
        ]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        return parse_wrk(out)

    def bench_two_servers(self, url, workdir, options):
        """Two app servers on different ports sharing one PostgreSQL and one Redis: wrk
        against both at once, then an edit saved through A's admin read back through B."""
        wrk = shutil.which("wrk")
        try:
            redis.Redis.from_url(options["redis_url"]).ping()
        except Exception as error:  # no Redis here: say so and go on
            self.stderr.write(f"Redis unreachable ({error}): no two-server run.")
            return None
        self.stderr.write("   two app servers sharing PostgreSQL and Redis ...")
        env = self.env_for(
            url,
            STATIC_ROOT=str(workdir / "static"),
            REDIS_URL=options["redis_url"],
            CACHE_KEY_PREFIX=f"bench-{os.getpid()}",
        )
        password = "bench-" + os.urandom(8).hex()
        run_timed(
            self.manage(
                "createsuperuser",
                "--noinput",
                "--username",
                "bench",
                "--email",
                "bench@example.invalid",
            ),
            env={**env, "DJANGO_SUPERUSER_PASSWORD": password},
        )
        article = self.pick_article(url)
        ports = [free_port(), free_port()]
        servers = [self.start_gunicorn(port, env) for port in ports]
        figures = {"ports": ports, "article": article}
        try:
            for port in ports:
                self.fetch(port, article)
            if wrk:
                runs = [
                    subprocess.Popen(
                        [
                            wrk,
                            "-t1",
                            f"-c{options['connections'] // 2}",
                            f"-d{options['load_seconds']}s",
                            "--latency",
                            f"http://127.0.0.1:{port}{article}",
                        ],
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                    for port in ports
                ]
                outputs = [run.communicate()[0] for run in runs]
                figures["wrk"] = [parse_wrk(out) for out in outputs]
                figures["requests_per_s"] = sum(r["requests_per_s"] for r in figures["wrk"])
            marker = f"Edited through server A at {time.time_ns()}."
            session = AdminSession(ports[0], "bench", password)
            article_id = self.article_id(url, article)
            started = time.perf_counter()
            session.change_article(article_id, answer_suffix=marker)
            seen = marker.encode() in self.fetch(ports[1], article)
            figures["edit_visible_on_b"] = seen
            figures["edit_to_read_ms"] = (time.perf_counter() - started) * 1000
        finally:
            for process in servers:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
        return figures

    def article_id(self, url, path):
        code = (
            "import django, os, sys;"
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'quicktakes.settings');"
            "django.setup(); from articles.models import Article;"
            "_, _, subject, _, slug = sys.argv[1].split('/');"
            "print(Article.objects.get(subject__slug=subject, slug=slug).pk)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, path],
            env=self.env_for(url),
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return int(out.stdout.strip())

    # --- report -----------------------------------------------------------------

    def report(self, results):
        write = self.stdout.write
        hugo = results.get("hugo")
        if hugo:
            write(
                f"Hugo build: {hugo['seconds']:.1f} s, {hugo['files_per_s']:.0f} files/s, "
                f"peak {hugo['peak_mb']:.0f} MB"
            )
        for vendor in ("sqlite", "postgresql"):
            figures = results.get(vendor)
            if not figures:
                continue
            write(f"\n{vendor}")
            for phase in ("first_import", "reimport"):
                data = figures.get(phase)
                if data:
                    line = (
                        f"  {phase.replace('_', ' ')}: {data['seconds']:.1f} s, "
                        f"{data['files_per_s']:.0f} files/s, peak {data['peak_mb']:.0f} MB"
                    )
                    if hugo:
                        line += f" ({data['seconds'] / hugo['seconds']:.2f}x Hugo)"
                    write(line)
            write("  pages (server-side, ms; SQL queries per page):")
            for name, data in figures["pages"].items():
                write(
                    f"    {name:<28} p50 {data['p50_ms']:6.2f}  p95 {data['p95_ms']:6.2f}  "
                    f"queries {data['queries']}"
                )
            load = figures.get("load")
            if load:
                write(f"  gunicorn + wrk ({load['page_bytes']} byte page {load['article']}):")
                for name in ("cached_article", "uncached_article", "static_file"):
                    data = load[name]
                    write(
                        f"    {name:<18} {data['requests_per_s']:8.0f} req/s  p99 "
                        f"{data['p99_ms']:7.2f} ms  non-2xx {data['non_2xx']}"
                    )
                write(
                    f"    ratio to the static file: cached {load['ratio_cached']:.2f}, "
                    f"uncached {load['ratio_uncached']:.2f}"
                )
            two = figures.get("two_servers")
            if two:
                write(
                    f"  two app servers (ports {two['ports'][0]} and {two['ports'][1]}), "
                    "one PostgreSQL, one Redis:"
                )
                if "wrk" in two:
                    a, b = two["wrk"]
                    write(
                        f"    cached article, both at once: {two['requests_per_s']:.0f} req/s "
                        f"(A {a['requests_per_s']:.0f}, p99 {a['p99_ms']:.1f} ms; "
                        f"B {b['requests_per_s']:.0f}, p99 {b['p99_ms']:.1f} ms; "
                        f"non-2xx {a['non_2xx'] + b['non_2xx']})"
                    )
                write(
                    f"    edit saved through A's admin visible through B at once: "
                    f"{'yes' if two['edit_visible_on_b'] else 'NO'} "
                    f"({two['edit_to_read_ms']:.0f} ms from save to read)"
                )


def parse_wrk(out):
    """Requests/s, p99 (ms) and errors from ``wrk --latency`` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests_per_s": rps,
        "p99_ms": float(p99.group(1)) * scale,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


class _FormFields(HTMLParser):
    """The fields a browser would submit from the page's largest POST form (the admin
    also has a small POST form for logging out)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self._current, self._textarea, self._select = [], None, None, None

    @property
    def fields(self):
        return max(self.forms, key=len, default=[])

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("method", "").lower() == "post":
            self._current = []
            self.forms.append(self._current)
            return
        if self._current is None or ("name" not in attrs and tag != "option"):
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            default = "on" if kind == "checkbox" else ""
            self._current.append([attrs["name"], attrs.get("value", default)])
        elif tag == "textarea":
            self._textarea = [attrs["name"], ""]
            self._current.append(self._textarea)
        elif tag == "select":
            self._select = attrs["name"]
        elif tag == "option" and self._select is not None and "selected" in attrs:
            self._current.append([self._select, attrs.get("value", "")])

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._current = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data


class AdminSession:
    """An editor in the admin of a running server, over plain HTTP (no Django test client)."""

    def __init__(self, port, username, password):
        self.base = f"http://127.0.0.1:{port}"
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        fields = self.form("/admin/login/")
        fields = [f for f in fields if f[0] not in ("username", "password")]
        fields += [["username", username], ["password", password], ["next", "/admin/"]]
        self.post("/admin/login/?next=/admin/", fields)
        if not any(cookie.name == "sessionid" for cookie in self.cookies):
            raise CommandError("could not log in to the admin")

    def form(self, path):
        with self.opener.open(self.base + path, timeout=30) as response:
            parser = _FormFields()
            parser.feed(response.read().decode())
        return parser.fields

    def post(self, path, fields):
        data = urllib.parse.urlencode([tuple(field) for field in fields]).encode()
        request = urllib.request.Request(
            self.base + path, data=data, headers={"Referer": self.base + path}
        )
        with self.opener.open(request, timeout=30) as response:
            return response.geturl(), response.read()

    def change_article(self, article_id, answer_suffix):
        """Append ``answer_suffix`` to an article's answer through its admin change form."""
        path = f"/admin/articles/article/{article_id}/change/"
        fields = self.form(path)
        for field in fields:
            if field[0] == "answer":
                field[1] = field[1].lstrip("\n") + "\n\n" + answer_suffix
        fields.append(["_save", "Save"])
        final_url, body = self.post(path, fields)
        # A saved change redirects to the changelist; a refused one shows the form again.
        if final_url.endswith(path):
            errors = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', body.decode(), re.S)
            raise CommandError(f"the admin refused the change: {errors[:3]}")
        return final_url


def measure_pages(samples=60):
    """Server-side latency (ms) and SQL queries of each page kind, caches off.

    Uses Django's test Client in this process against the configured database: the
    time of the whole request cycle (middleware, view, template), no network.
    """
    random.seed(7)
    client = Client()
    largest = (
        Subject.objects.annotate(n=Count("articles")).order_by("-n").values_list("slug", "n")[0]
    )
    last_page = max(1, -(-largest[1] // 20))
    articles = list(Article.objects.published().select_related("subject").order_by("?")[:samples])
    words = [a.question.split()[2:6] for a in articles[:20]]
    pages = {
        "article": [a.get_absolute_url() for a in articles],
        "largest subject, first page": [f"/learn/{largest[0]}"],
        "largest subject, last page": [f"/learn/{largest[0]}?page={last_page}"],
        "/learn": ["/learn"],
        "sitemap index": ["/sitemap.xml"],
        "sitemap, largest page": ["/sitemap-articles.xml"],
        "search": [f"/search?q={'+'.join(w)}" for w in words],
    }
    results = {}
    with override_settings(PAGE_CACHE_SECONDS=0):
        for name, paths in pages.items():
            timings, queries = [], []
            for _round in range(max(1, samples // len(paths))):
                for path in paths:
                    cache.clear()
                    with CaptureQueriesContext(connection) as captured:
                        started = time.perf_counter()
                        response = client.get(path)
                        timings.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        raise CommandError(f"{path} answered {response.status_code}")
                    queries.append(len(captured))
            results[name] = {
                "p50_ms": statistics.median(timings),
                "p95_ms": percentile(timings, 0.95),
                "queries": max(queries),
            }
    return results
