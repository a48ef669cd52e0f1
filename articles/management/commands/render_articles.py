"""``manage.py render_articles``: re-render stored answer HTML that is stale."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from articles import rendering, search
from articles.models import Article, Subject
from articles.sitelock import site_lock
from articles.workers import parallel_map

BATCH_SIZE = 500


def _render(item):
    pk, answer = item
    result = rendering.render_markdown(answer)
    return pk, answer, result.html, result.formulas, result.fallbacks


class Command(BaseCommand):
    help = (
        "Re-render answers whose stored HTML was made by an older renderer (or all of "
        "them with --all), in worker processes. Pages never render; this is how a "
        "renderer change reaches them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Re-render every answer.")
        parser.add_argument("--subject", metavar="SLUG", help="Only this subject's articles.")
        parser.add_argument(
            "--workers", type=int, default=None, help="Processes (default: one per CPU)."
        )

    def handle(self, *args, **options):
        # Shared with imports; a restore waits for it (articles.sitelock).
        with site_lock(exclusive=False, wait=True):
            self._render(**options)

    def _render(self, *, all, subject, workers, **options):
        started = time.perf_counter()
        articles = Article.objects.all()
        if subject:
            if not Subject.objects.filter(slug=subject).exists():
                raise CommandError(f"no subject with the slug {subject!r}")
            articles = articles.filter(subject__slug=subject)
        if not all:
            articles = articles.exclude(renderer_version=rendering.RENDERER_VERSION)
        items = list(articles.order_by("pk").values_list("pk", "answer"))
        if not items:
            self.stdout.write("Nothing to render: every answer is up to date.")
            return
        progress = None
        if self.stdout.isatty() and options["verbosity"] >= 1:
            from tqdm import tqdm  # noqa: PLC0415 (only a terminal gets a progress bar)

            progress = tqdm(total=len(items), unit="article", file=sys.stderr)
        formulas = fallbacks = 0
        batch = []
        for pk, answer, html, converted, failed in parallel_map(_render, items, workers):
            formulas += converted
            fallbacks += failed
            article = Article(pk=pk, answer_html=html, renderer_version=rendering.RENDERER_VERSION)
            article.answer = answer
            batch.append(article)
            if len(batch) >= BATCH_SIZE:
                self._write(batch)
                batch = []
            if progress is not None:
                progress.update(1)
        self._write(batch)
        if progress is not None:
            progress.close()
        self.stdout.write(
            f"Rendered {len(items)} answers with renderer version {rendering.RENDERER_VERSION}: "
            f"{formulas} formulas as MathML, {fallbacks} shown as source; "
            f"{time.perf_counter() - started:.1f} s"
        )

    @staticmethod
    def _write(batch):
        if batch:
            # Re-rendering is not an editor's change: bulk_update leaves edited_at alone.
            with transaction.atomic():
                # An answer an editor changed since it was read was rendered by that save:
                # keep its HTML rather than write HTML made from the old answer.
                current = dict(
                    Article.objects.filter(pk__in=[a.pk for a in batch])
                    .select_for_update(no_key=True)
                    .values_list("pk", "answer")
                )
                batch = [a for a in batch if current.get(a.pk) == a.answer]
                Article.objects.bulk_update(batch, ["answer_html", "renderer_version"])
                # The search index holds the answer's text, taken from its HTML.
                search.reindex([article.pk for article in batch])
