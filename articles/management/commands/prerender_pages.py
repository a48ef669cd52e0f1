"""Build every reader's page into the page cache, for operators: after an import (or a
restore, or a cache emptied) the first reader of each page then gets a cache hit.

Pages already cached under their current versions are left as they are, so running it
again costs a cache read a page. Progress goes to stdout every 500 pages (verbosity 2).
"""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from articles import prerender


class Command(BaseCommand):
    help = "Build every article page, subject first page and /learn into the page cache."

    def handle(self, *args, verbosity, **options):
        if settings.PAGE_CACHE_SECONDS <= 0:
            raise CommandError("PAGE_CACHE_SECONDS is 0: pages are not cached, nothing to build")
        started = time.perf_counter()

        def progress(done, built):
            if verbosity >= 2:
                self.stdout.write(f"  {done} pages looked at, {built} built")

        done, built = prerender.build_all(prerender.site_paths(), progress=progress)
        seconds = time.perf_counter() - started
        if verbosity >= 1:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{done} pages looked at, {built} built in {seconds:.1f} s "
                    f"({done / seconds if seconds else 0:.0f} pages/s)."
                )
            )
