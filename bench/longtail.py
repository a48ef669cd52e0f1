"""The long-tail run of ``manage.py bench --long-tail``: readers who arrive on any page.

After an import of a subset of the corpus (and the pages built, as an operator does after
an import), every article is read once in random order, then articles are drawn from a
Zipf mix over all of them while an editor saves one article through the admin every
second. The same readers then read Hugo's build of the same files, served by whitenoise
through gunicorn. A stale page is one whose request started after a save had returned
and that does not show that save.
"""

import bisect
import http.client
import itertools
import random
import statistics
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Tally:
    latencies_ms: list = field(default_factory=list)
    hits: int = 0
    misses: int = 0
    stale: int = 0
    errors: int = 0
    seconds: float = 0.0

    def figures(self):
        ordered = sorted(self.latencies_ms) or [0.0]
        served = self.hits + self.misses
        return {
            "requests": len(self.latencies_ms),
            "requests_per_s": len(self.latencies_ms) / self.seconds if self.seconds else 0.0,
            "p50_ms": statistics.median(ordered),
            "p99_ms": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
            "hit_rate": self.hits / served if served else None,
            "stale": self.stale,
            "errors": self.errors,
        }


class Saves:
    """What the editor saved, for the stale check: ``{path: (marker, returned_at)}``."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latest = {}
        self.count = 0

    def record(self, path, marker):
        with self.lock:
            self.latest[path] = (marker, time.monotonic())
            self.count += 1

    def expected(self, path, started):
        with self.lock:
            saved = self.latest.get(path)
        return saved[0] if saved and saved[1] < started else None


def zipf_sampler(count, exponent, rng):
    """A function drawing indexes 0..count-1, index i with weight 1/(i+1)**exponent."""
    cumulative = list(itertools.accumulate(1 / (rank**exponent) for rank in range(1, count + 1)))
    total = cumulative[-1]
    return lambda: min(count - 1, bisect.bisect_left(cumulative, rng.random() * total))


def read(port, paths, threads, saves=None, suffix="", stop_at=None):
    """Read ``paths`` (a shared iterator of site paths) with ``threads`` keep-alive
    connections to 127.0.0.1:``port`` until it is exhausted or ``stop_at`` (monotonic
    seconds) passes. ``suffix`` is added to each path (Hugo's pages are folders).
    Returns a Tally."""
    tally = Tally()
    lock = threading.Lock()
    source_lock = threading.Lock()

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = Tally()
        while stop_at is None or time.monotonic() < stop_at:
            with source_lock:
                path = next(paths, None)
            if path is None:
                break
            started = time.monotonic()
            try:
                connection.request("GET", path + suffix)
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                mine.errors += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.latencies_ms.append((time.monotonic() - started) * 1000)
            if response.status != 200:
                mine.errors += 1
                continue
            outcome = response.getheader("X-Page-Cache")
            mine.hits += outcome == "hit"
            mine.misses += outcome == "miss"
            if saves is not None:
                marker = saves.expected(path, started)
                if marker is not None and marker.encode() not in body:
                    mine.stale += 1
        connection.close()
        with lock:
            tally.latencies_ms += mine.latencies_ms
            tally.hits += mine.hits
            tally.misses += mine.misses
            tally.stale += mine.stale
            tally.errors += mine.errors

    started = time.monotonic()
    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    tally.seconds = time.monotonic() - started
    return tally


def edit_every_second(session, articles, pick, saves, stop_at, errors):
    """Save one article a second through the admin until ``stop_at``: ``articles`` is
    ``[(path, id)]``, ``pick()`` draws an index into it. Records each save in ``saves``."""
    while time.monotonic() < stop_at:
        began = time.monotonic()
        path, article_id = articles[pick()]
        marker = f"Saved at {time.time_ns()}."
        try:
            session.change_article(article_id, answer_suffix=marker)
        except Exception as error:  # reported, the run goes on
            errors.append(f"{path}: {error}")
        else:
            saves.record(path, marker)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - began)))


def run(app_port, static_port, articles, session, seconds, threads, seed=11):
    """Both servers, same readers. ``articles``: ``[(path, id)]`` of every published
    article. Returns the figures of each phase on each server."""
    rng = random.Random(seed)
    paths = [path for path, _ in articles]
    once = paths[:]
    rng.shuffle(once)
    ranked = paths[:]
    rng.shuffle(ranked)  # which articles are popular: any, not the first imported
    sample = zipf_sampler(len(ranked), 1.0, rng)
    zipf = [ranked[sample()] for _ in range(400_000)]

    figures = {}
    figures["app_once"] = read(app_port, iter(once), threads).figures()
    saves, errors = Saves(), []
    stop_at = time.monotonic() + seconds
    by_path = dict(articles)
    popular = [(path, by_path[path]) for path in ranked]
    editor = threading.Thread(
        target=edit_every_second, args=(session, popular, sample, saves, stop_at, errors)
    )
    editor.start()
    figures["app_zipf"] = read(app_port, iter(zipf), threads, saves, stop_at=stop_at).figures()
    editor.join()
    figures["saves"] = saves.count
    figures["save_errors"] = errors[:3]
    figures["static_once"] = read(static_port, iter(once), threads, suffix="/").figures()
    figures["static_zipf"] = read(
        static_port, iter(zipf), threads, suffix="/", stop_at=time.monotonic() + seconds
    ).figures()
    for phase in ("once", "zipf"):
        static = figures[f"static_{phase}"]["requests_per_s"]
        app = figures[f"app_{phase}"]["requests_per_s"]
        figures[f"ratio_{phase}"] = app / static if static else None
    return figures
