"""Rebuild the full-text search index from the articles table, for operators.

Saves, imports and deletes keep the index in step by themselves; this repairs it after
changes made behind Django's back (raw SQL, ``QuerySet.update`` of text fields, a restore),
and computes every article's suggested related questions again from it.
"""

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from articles import related, search
from articles.models import Article


class Command(BaseCommand):
    help = "Empty the search index and index every article again (one transaction)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Articles read and written at a time."
        )
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the articles; change nothing."
        )

    def handle(self, *args, batch_size, database, dry_run, verbosity, **options):
        search.backend_for(database)  # fails early on a database search does not support
        backend = connections[database].vendor
        if dry_run:
            count = Article.objects.using(database).count()
            self.stdout.write(f"Would index {count} articles ({backend}).")
            return
        done = 0

        def progress(count):
            nonlocal done
            done += count
            if verbosity >= 2:
                self.stdout.write(f"  {done} indexed")

        # One transaction: searches keep seeing the old index until the new one is whole.
        with transaction.atomic(using=database):
            total = search.rebuild(batch_size=batch_size, using=database, progress=progress)
        suggestions = related.compute_all(using=database)
        if verbosity >= 1:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Indexed {total} articles ({backend}); suggested related questions "
                    f"changed for {suggestions.changed} of them ({suggestions.elapsed:.1f} s)."
                )
            )
