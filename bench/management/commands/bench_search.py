"""Benchmark search over the articles in the database: recall and latency.

The recall set is drawn from real questions (a seeded sample of published articles): each
query is a few content words of one article's question, and every third one has a letter
swapped with its neighbour or dropped, as readers mistype. A query finds its article when
the article (or a cross-posted copy of it) is the first result (top-1) or among the first
three (top-3). Reads only.
"""

import random
import re
import statistics
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from articles import search
from articles.models import Article

#: A result's link on the search page, in rank order.
RESULT_LINK = re.compile(r'<h2 class="search-result__question"><a href="([^"]+)"')
#: Every MISSPELL_EVERY-th query of the recall set is misspelled.
MISSPELL_EVERY = 3
#: Only words this long are misspelled: a typo in a three-letter word is another word.
MISSPELL_MIN_LENGTH = 5


def content_words(question):
    """A question's distinct words, lower-cased, without stop words, digits or letters
    standing alone, in their order of appearance."""
    words = (w.lower() for w in search.words(question))
    kept = (w for w in words if len(w) > 1 and not w.isdigit() and w not in search.STOP_WORDS)
    return list(dict.fromkeys(kept))


def address(subject_slug, slug):
    return reverse("articles:detail", kwargs={"subject": subject_slug, "slug": slug})


def misspell(word, rng):
    """``word`` with one typo: two neighbouring letters swapped, or one letter dropped
    (never the first: readers rarely get it wrong). Returns a different str."""
    for _ in range(10):
        at = rng.randrange(1, len(word) - 1)
        if rng.random() < 0.5:
            typo = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        else:
            typo = word[:at] + word[at + 1 :]
        if typo != word:
            return typo
    return word[:-1]


@dataclass(frozen=True)
class RecallQuery:
    """One query of the recall set: its ``text``, the id of the article it should find
    (the copy that stands for a cross-posted group: its canonical copy) and its address,
    and whether a word of it is ``misspelled``."""

    text: str
    article_id: int
    path: str
    misspelled: bool


def make_queries(count, words, seed):
    """The recall set: ``count`` RecallQuery from a seeded sample of published articles
    whose question holds at least ``words`` content words, kept in their order; every
    MISSPELL_EVERY-th query has one word of MISSPELL_MIN_LENGTH+ letters misspelled."""
    rng = random.Random(seed)
    ids = list(Article.objects.published().order_by("pk").values_list("pk", flat=True))
    rng.shuffle(ids)
    queries = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = Article.objects.filter(pk__in=chunk).values_list(
            "pk", "question", "canonical_id", "subject__slug", "slug"
        )
        found = {row[0]: row[1:] for row in rows}
        for pk in chunk:
            question, canonical_id, subject, slug = found[pk]
            candidates = content_words(question)
            if len(candidates) < words:
                continue
            picked = [candidates[i] for i in sorted(rng.sample(range(len(candidates)), words))]
            misspelled = len(queries) % MISSPELL_EVERY == MISSPELL_EVERY - 1
            if misspelled:
                long_words = [i for i, w in enumerate(picked) if len(w) >= MISSPELL_MIN_LENGTH]
                if not long_words:
                    continue
                at = rng.choice(long_words)
                picked[at] = misspell(picked[at], rng)
            queries.append(
                RecallQuery(
                    " ".join(picked), canonical_id or pk, address(subject, slug), misspelled
                )
            )
            if len(queries) == count:
                return queries
    return queries


def percentile(values, share):
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[round(share * 100) - 1]


class Command(BaseCommand):
    help = (
        "Search with a recall set drawn from article questions (some misspelled); print "
        "top-1 and top-3 recall and p50/p95 latency."
    )

    def add_arguments(self, parser):
        parser.add_argument("--queries", type=int, default=300, help="How many (300).")
        parser.add_argument("--words", type=int, default=3, help="Words per query (3).")
        parser.add_argument("--seed", type=int, default=6, help="Sample seed (6).")
        parser.add_argument(
            "--client",
            action="store_true",
            help="Time a whole GET of the search page through Django's test client "
            "(middleware, view, template) instead of the search function alone.",
        )

    def handle(self, *args, queries, words, seed, client, verbosity, **options):
        sample = make_queries(queries, words, seed)
        if not sample:
            raise CommandError("no published article has a question long enough")
        timer = self._time_page if client else self._time_function
        # One search first, untimed: it opens the connection and warms the caches.
        timer(sample[0].text)
        latencies = []
        found = {(kind, k): 0 for kind in ("all", "clean", "misspelled") for k in (1, 3)}
        sizes = {"all": len(sample), "clean": 0, "misspelled": 0}
        for query in sample:
            elapsed, top = timer(query.text)
            latencies.append(elapsed)
            stands_for = self._canonical_ids(top[:3])
            kind = "misspelled" if query.misspelled else "clean"
            sizes[kind] += 1
            for k in (1, 3):
                if query.article_id in stands_for[:k]:
                    found["all", k] += 1
                    found[kind, k] += 1
            if query.article_id not in stands_for and verbosity >= 2:
                self.stdout.write(f"  miss: {query.text!r} ({query.path}); top three {top[:3]}")
        measured = (
            "GET /search through the test client"
            if client
            else "search() with its count and first page of hits, no template"
        )
        lines = [
            f"{len(sample)} queries of {words} words (seed {seed}; "
            f"{sizes['misspelled']} misspelled), timing {measured}",
            f"latency ms: p50 {percentile(latencies, 0.5):.1f}  "
            f"p95 {percentile(latencies, 0.95):.1f}  max {max(latencies):.1f}  "
            f"mean {statistics.fmean(latencies):.1f}",
        ]
        for kind in ("all", "clean", "misspelled"):
            size = sizes[kind] or 1
            lines.append(
                f"recall {kind:>10}: top-1 {found[kind, 1]}/{sizes[kind]} = "
                f"{found[kind, 1] / size:.3f}  top-3 {found[kind, 3]}/{sizes[kind]} = "
                f"{found[kind, 3] / size:.3f}"
            )
        self.stdout.write("\n".join(lines))

    def _canonical_ids(self, paths):
        """The ids of the articles that stand for the hits at ``paths`` (their canonical
        copies), in order; read after the timing."""
        ids = []
        for path in paths:
            subject, slug = path.strip("/").split("/")[1::2]
            row = (
                Article.objects.filter(subject__slug=subject, slug=slug)
                .values_list("pk", "canonical_id")
                .first()
            )
            ids.append(row[1] or row[0] if row else None)
        return ids

    def _time_function(self, text):
        started = time.perf_counter()
        results = search.search(text)
        results.count()
        hits = results[0 : search.RESULTS_PER_PAGE]
        elapsed = (time.perf_counter() - started) * 1000
        return elapsed, [address(h.article.subject.slug, h.article.slug) for h in hits]

    def _time_page(self, text):
        # Plain static storage: the manifest one needs collectstatic, which timing does not.
        storage = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
        with override_settings(STORAGES={**settings.STORAGES, "staticfiles": storage}):
            started = time.perf_counter()
            response = Client().get(reverse("articles:search"), {"q": text})
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise CommandError(f"GET /search?q={text} answered {response.status_code}")
        return elapsed, RESULT_LINK.findall(response.content.decode())
