"""``manage.py backup [PATH]``: a consistent copy of the database, taken while the site
serves, and the image library's files beside it in PATH.images.tar. A thin wrapper over
articles.backups."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from articles import backups


class Command(BaseCommand):
    help = (
        "Back up the database: SQLite through its online backup API (a .sqlite3 file), "
        "PostgreSQL through pg_dump's custom format (a .dump file for pg_restore)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path",
            nargs="?",
            help="File to write (default: backup-<database>-<UTC time>.sqlite3 or .dump "
            "in the current folder). An existing file is replaced once the copy is complete.",
        )
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default)."
        )

    def handle(self, *args, path, database, verbosity, **options):
        try:
            target = path or backups.default_path(database)
            result = backups.backup(target, using=database)
        except backups.BackupError as error:
            raise CommandError(str(error)) from None
        if verbosity >= 1:
            self.stdout.write(
                f"Backed up the {result.vendor} database to {result.path} "
                f"({result.size / 1_048_576:.1f} MB), and {result.images} image files to "
                f"{backups.images_path(result.path)}."
            )
