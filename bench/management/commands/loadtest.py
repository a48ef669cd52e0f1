"""``manage.py loadtest``: the site behind gunicorn under wrk's load, on the database
DATABASE_URL names, over a mix of real addresses (articles, subject pages, the index and
searches) read from that database. Prints throughput, latency percentiles and errors; fails
when any request failed. Reads the database, never writes it.
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from articles.models import Article, Subject
from articles.views import ARTICLES_PER_PAGE

PROJECT_ROOT = Path(settings.BASE_DIR)

#: Share of each page kind in the mix. Most readers land on one article from a search
#: engine; fewer browse a subject or the index, or use the site's search.
MIX = {"article": 0.80, "subject": 0.10, "index": 0.04, "search": 0.06}

# wrk runs this in each of its threads: every request takes the next address of the list,
# each thread starting at its own place; done() prints the figures in one parseable line.
LUA = """
local paths = {%(paths)s}
local threads = {}
function setup(thread)
  thread:set("offset", #threads * %(stride)d)
  table.insert(threads, thread)
end
function init(args)
  position = offset %% #paths
end
function request()
  position = position %% #paths + 1
  return wrk.format("GET", paths[position])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "LOADTEST requests=%%d duration_us=%%d p50_us=%%d p90_us=%%d p99_us=%%d max_us=%%d " ..
    "connect=%%d read=%%d write=%%d status=%%d timeout=%%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

_WORD = re.compile(r"[a-z]{4,}")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Command(BaseCommand):
    help = (
        "Load the site behind gunicorn with wrk (default: 60 s, 64 connections) over a mix "
        "of article, subject, index and search addresses from the database; print "
        "requests/s, p50/p90/p99 latency and errors. Exit status 1 when any request failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--duration", type=int, default=60, help="Seconds of load.")
        parser.add_argument("--connections", type=int, default=64, help="Open connections.")
        parser.add_argument("--threads", type=int, default=2, help="wrk threads.")
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="gunicorn workers (default: WEB_CONCURRENCY, else one per CPU).",
        )
        parser.add_argument(
            "--timeout", type=int, default=10, help="Seconds before wrk counts a request lost."
        )
        parser.add_argument("--urls", type=int, default=4000, help="Addresses in the mix.")
        parser.add_argument("--seed", type=int, default=1, help="Seed of the address mix.")

    def handle(self, *args, **options):
        wrk = shutil.which("wrk")
        if wrk is None:
            raise CommandError("wrk is not installed (Debian: apt-get install wrk).")
        paths, kinds = self.address_mix(options["urls"], options["seed"])
        workers = options["workers"] or int(os.environ.get("WEB_CONCURRENCY", os.cpu_count()))
        with tempfile.TemporaryDirectory(prefix="loadtest-") as folder:
            folder = Path(folder)
            env = self.server_environment(folder, workers)
            self.collectstatic(env)
            port = free_port()
            log_path = folder / "gunicorn.log"
            server = self.start_gunicorn(port, env, log_path)
            try:
                self.warm_up(port, log_path)
                script = folder / "mix.lua"
                script.write_text(self.lua(paths, options["connections"]), encoding="utf-8")
                command = [
                    wrk,
                    f"-t{options['threads']}",
                    f"-c{options['connections']}",
                    f"-d{options['duration']}s",
                    f"--timeout={options['timeout']}s",
                    "-s",
                    str(script),
                    f"http://127.0.0.1:{port}",
                ]
                output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            finally:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
            server_log = log_path.read_text(encoding="utf-8", errors="replace")
        figures = self.parse(output)
        self.report(options, workers, paths, kinds, figures, server_log)

    # --- the mix -------------------------------------------------------------------------

    def address_mix(self, count, seed):
        """``count`` site-relative addresses in a shuffled order, in MIX's shares, and a
        Counter of distinct addresses per kind. Raises CommandError on an empty site."""
        rng = random.Random(seed)
        article_ids = list(Article.objects.published().order_by("pk").values_list("pk", flat=True))
        if not article_ids:
            raise CommandError("No published articles: import some before a load test.")
        wanted = {kind: max(1, round(count * share)) for kind, share in MIX.items()}
        chosen = rng.sample(article_ids, min(len(article_ids), wanted["article"]))
        articles = list(
            Article.objects.filter(pk__in=chosen)
            .select_related("subject")
            .only("slug", "question", "subject__slug")
            .order_by("pk")
        )
        mix = {"article": [a.get_absolute_url() for a in articles], "index": ["/learn"]}
        subjects = list(Subject.objects.listed().with_article_counts().order_by("slug"))
        mix["subject"] = []
        for _ in range(wanted["subject"]):
            subject = rng.choice(subjects)
            pages = max(1, -(-subject.article_count // ARTICLES_PER_PAGE))
            page = 1 if rng.random() < 0.5 else rng.randint(1, pages)
            suffix = f"?page={page}" if page > 1 else ""
            mix["subject"].append(subject.get_absolute_url() + suffix)
        mix["search"] = []
        for article in rng.sample(articles, min(len(articles), wanted["search"])):
            words = _WORD.findall(article.question.lower()) or ["answer"]
            query = {"q": " ".join(rng.sample(words, min(2, len(words))))}
            if rng.random() < 0.2:
                query["subject"] = article.subject.slug
            mix["search"].append("/search?" + urlencode(query))
        paths = []
        for kind, addresses in mix.items():
            # Each kind fills its share, repeating its addresses when it has fewer.
            paths += [addresses[i % len(addresses)] for i in range(wanted[kind])]
        rng.shuffle(paths)
        kinds = Counter({kind: len(set(addresses)) for kind, addresses in mix.items()})
        return paths, kinds

    def lua(self, paths, connections):
        listed = ",\n".join(json.dumps(path) for path in paths)
        return LUA % {"paths": listed, "stride": max(1, len(paths) // max(1, connections))}

    # --- the server ----------------------------------------------------------------------

    def server_environment(self, folder, workers):
        env = {
            **os.environ,
            "WEB_CONCURRENCY": str(workers),
            "STATIC_ROOT": str(folder / "static"),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEBUG": "0",
        }
        env.setdefault("DJANGO_SETTINGS_MODULE", "quicktakes.settings")
        return env

    def collectstatic(self, env):
        # Pages name the hashed static files of the manifest, as in a deployment.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=PROJECT_ROOT,
            env=env,
            check=True,
        )

    def start_gunicorn(self, port, env, log_path):
        command = [
            sys.executable, "-m", "gunicorn", "-c", "python:quicktakes.gunicorn",
            "--bind", f"127.0.0.1:{port}", "quicktakes.wsgi",
        ]  # fmt: skip
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return server
            except OSError:
                time.sleep(0.2)
        server.kill()
        raise CommandError(f"gunicorn did not start:\n{log_path.read_text()[-2000:]}")

    def warm_up(self, port, log_path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/learn", timeout=30) as answer:
                answer.read()
        except OSError as error:
            raise CommandError(
                f"/learn failed ({error}):\n{log_path.read_text()[-2000:]}"
            ) from error

    # --- figures ---------------------------------------------------------------------------

    def parse(self, output):
        match = re.search(r"^LOADTEST (.*)$", output, flags=re.MULTILINE)
        if match is None:
            raise CommandError(f"wrk printed no figures:\n{output}")
        return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}

    def report(self, options, workers, paths, kinds, figures, server_log):
        database = connection.settings_dict["NAME"]
        cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
        seconds = figures["duration_us"] / 1_000_000
        errors = sum(figures[name] for name in ("connect", "read", "write", "status", "timeout"))
        tracebacks = server_log.count("Traceback")
        locked = server_log.count("database is locked")
        write = self.stdout.write
        write(
            f"Load test: {options['duration']} s, {options['connections']} connections, "
            f"{options['threads']} wrk threads, gunicorn with {workers} workers; "
            f"{connection.vendor} ({database}); cache {cache}"
        )
        write(
            f"Addresses: {len(paths)} in the mix, distinct: "
            + ", ".join(f"{kinds[kind]} {kind}" for kind in MIX)
        )
        write(
            f"Requests: {figures['requests']} in {seconds:.1f} s = "
            f"{figures['requests'] / seconds:.1f} requests/s"
        )
        write(
            "Latency: "
            + ", ".join(
                f"{label} {figures[key] / 1000:.0f} ms"
                for label, key in (("p50", "p50_us"), ("p90", "p90_us"), ("p99", "p99_us"))
            )
            + f", max {figures['max_us'] / 1000:.0f} ms"
        )
        write(
            f"Errors: {errors} (non-2xx/3xx {figures['status']}, connect {figures['connect']}, "
            f"read {figures['read']}, write {figures['write']}, timeout {figures['timeout']}); "
            f"server log: {tracebacks} tracebacks, {locked} 'database is locked'"
        )
        if errors or tracebacks or locked:
            raise CommandError("the load test saw errors")
