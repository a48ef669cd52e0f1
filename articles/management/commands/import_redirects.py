"""``manage.py import_redirects FILE``: a thin wrapper over articles.redirects.import_moved."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from articles.redirects import MovedFileError, import_moved, load_moved_file


class _Rollback(Exception):
    """Raised inside the dry run's transaction to undo it."""


class Command(BaseCommand):
    help = (
        "Load a moved-questions file (JSON list of {previous_subject, slug, "
        "current_subject}): old addresses answer 301 to the new ones, chains collapsed; "
        "then recompute canonical copies. Running it again gives the same rows."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE")
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change and write nothing."
        )

    def handle(self, *args, file, dry_run, **options):
        try:
            moves = load_moved_file(file)
        except MovedFileError as error:
            raise CommandError(str(error)) from None
        report = None
        try:
            with transaction.atomic():
                report = import_moved(moves)
                if dry_run:
                    raise _Rollback
        except _Rollback:
            pass
        prefix = "Dry run, nothing written. Would have: " if dry_run else ""
        if options["verbosity"] >= 1:
            self.stdout.write(prefix + report.summary())
