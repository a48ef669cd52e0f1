"""``manage.py restore PATH``: replace everything in the database with a backup made by
``manage.py backup``. A thin wrapper over articles.backups."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from articles import backups


class Command(BaseCommand):
    help = (
        "Restore a backup made by the backup command, replacing everything in the database "
        "(SQLite: a .sqlite3 file; PostgreSQL: a pg_dump custom-format .dump file, restored "
        "in one transaction into an existing, possibly empty, database)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The backup file.")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Do not ask for confirmation.",
        )
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="Database alias (default: default)."
        )

    def handle(self, *args, path, database, interactive, verbosity, **options):
        name = connections[database].settings_dict["NAME"]
        if interactive:
            answer = input(
                f"This replaces everything in the database {name} with {path}.\n"
                "Type 'yes' to continue, or anything else to cancel: "
            )
            if answer != "yes":
                raise CommandError("Restore cancelled; nothing changed.")
        try:
            result = backups.restore(path, using=database)
        except backups.BackupError as error:
            raise CommandError(str(error)) from None
        if verbosity >= 1:
            self.stdout.write(
                f"Restored the {result.vendor} database {name} from {result.path}; "
                f"{result.images} image files put back."
            )
