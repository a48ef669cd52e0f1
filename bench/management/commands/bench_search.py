"""Benchmark search over the articles in the database: latency and top-three accuracy.

Each query is four content words of one published article's question (a seeded sample);
a query succeeds when that article is among the first three results. Reads only.
"""

import random
import re
import statistics
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from articles import search
from articles.models import Article

#: A result's link on the search page, in rank order.
RESULT_LINK = re.compile(r'<h2 class="search-result__question"><a href="([^"]+)"')


def content_words(question):
    """A question's distinct words, lower-cased, without stop words, digits or letters
    standing alone, in their order of appearance."""
    words = (w.lower() for w in search.words(question))
    kept = (w for w in words if len(w) > 1 and not w.isdigit() and w not in search.STOP_WORDS)
    return list(dict.fromkeys(kept))


def address(subject_slug, slug):
    return reverse("articles:detail", kwargs={"subject": subject_slug, "slug": slug})


def make_queries(count, words, seed):
    """``count`` (article address, query text) pairs from a seeded sample of published
    articles whose question holds at least ``words`` content words, kept in their order."""
    rng = random.Random(seed)
    ids = list(Article.objects.published().order_by("pk").values_list("pk", flat=True))
    rng.shuffle(ids)
    queries = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = Article.objects.filter(pk__in=chunk).values_list(
            "pk", "question", "subject__slug", "slug"
        )
        found = {pk: (question, address(subject, slug)) for pk, question, subject, slug in rows}
        for pk in chunk:
            question, path = found[pk]
            candidates = content_words(question)
            if len(candidates) < words:
                continue
            picked = sorted(rng.sample(range(len(candidates)), words))
            queries.append((path, " ".join(candidates[i] for i in picked)))
            if len(queries) == count:
                return queries
    return queries


class Command(BaseCommand):
    help = (
        "Time searches made of content words from article questions; print p50/p95 "
        "latency and the share whose source article ranks in the top three."
    )

    def add_arguments(self, parser):
        parser.add_argument("--queries", type=int, default=200, help="How many (200).")
        parser.add_argument("--words", type=int, default=4, help="Words per query (4).")
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
        timer(sample[0][1])
        latencies, found = [], 0
        for path, text in sample:
            elapsed, top = timer(text)
            latencies.append(elapsed)
            if path in top[:3]:
                found += 1
            elif verbosity >= 2:
                self.stdout.write(f"  miss: {text!r} ({path}); top three {top[:3]}")
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        measured = (
            "GET /search through the test client"
            if client
            else "search() with its count and first page of hits, no template"
        )
        self.stdout.write(
            f"{len(sample)} queries of {words} words (seed {seed}), timing {measured}\n"
            f"latency ms: p50 {cuts[49]:.1f}  p95 {cuts[94]:.1f}  max {max(latencies):.1f}  "
            f"mean {statistics.fmean(latencies):.1f}\n"
            f"source article in the top three: {found}/{len(sample)} = {found / len(sample):.3f}"
        )

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
