"""``manage.py import_articles PATH [PATH ...]``: a thin wrapper over articles.importing."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from articles.frontmatter import FrontMatterError
from articles.importing import import_paths

#: Seconds between two progress lines when the output is not a terminal.
PROGRESS_SECONDS = 5.0


class ProgressLines:
    """Progress for a log (CI, ``| tee``): a line every PROGRESS_SECONDS, where a terminal
    gets a tqdm bar. Called as ``progress(done, total)`` by import_paths."""

    def __init__(self, write):
        self.write = write
        self.done = self.lines = 0
        self.started = self.last = time.monotonic()

    def __call__(self, done, total):
        self.done += done
        now = time.monotonic()
        due = now - self.last >= PROGRESS_SECONDS
        # The last file gets a line too when earlier ones did; a short import gets none.
        if not due and not (self.done >= total and self.lines):
            return
        self.last = now
        self.lines += 1
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        share = self.done * 100 // max(total, 1)
        line = f"{self.done} / {total} files ({share}%), {rate:.0f} files/s"
        if rate and self.done < total:
            line += f", about {(total - self.done) / rate:.0f} s left"
        self.write(line)


class Command(BaseCommand):
    help = (
        "Import front matter Markdown files (files or folders, searched for *.md). "
        "Upserts each article by its url; running it again on the same files changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument(
            "--subjects",
            metavar="FILE",
            help="JSON list of {title, slug}: sets titles and order; subjects not in it "
            "are unlisted.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Take the file's version even where an editor changed the article since "
            "its last import (otherwise such articles are skipped and reported).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would change and write nothing.",
        )
        parser.add_argument(
            "--prune",
            nargs="?",
            const="delete",
            choices=["delete", "unpublish"],
            help="Delete (or with --prune=unpublish, unpublish) articles imported from the "
            "given folders or archives whose files are gone. Articles made in the admin "
            "are never touched.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="Articles written per transaction (at most 1,000, so that an editor's save "
            "never waits longer than the database's lock timeout).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Processes for parsing and rendering (default: one per CPU; 1 for none).",
        )

    def handle(self, *args, paths, subjects, workers, force, dry_run, prune, batch_size, **options):
        progress_bar = None
        progress = None
        if options["verbosity"] >= 1 and self.stdout.isatty():
            progress_bar = tqdm(unit="file", file=sys.stderr)

            def progress(done, total):
                progress_bar.total = total
                progress_bar.update(done)

        elif options["verbosity"] >= 1:
            progress = ProgressLines(self.stdout.write)

        try:
            report = import_paths(
                paths,
                subjects_file=subjects,
                workers=workers,
                progress=progress,
                force=force,
                dry_run=dry_run,
                prune_mode=prune,
                batch_size=batch_size,
            )
        except FrontMatterError as error:
            raise CommandError(str(error)) from None
        finally:
            if progress_bar is not None:
                progress_bar.close()
        for error in report.errors:
            self.stderr.write(f"error: {error}")
        for conflict in report.conflicts:
            self.stderr.write(f"conflict: {conflict}")
        if report.changed == 0 and not report.errors:
            self.stdout.write(f"Nothing changed: all {report.files} files are already imported.")
        self.stdout.write(report.summary())
        if report.errors:
            raise CommandError(f"{report.failed} of {report.files} files failed", returncode=1)
