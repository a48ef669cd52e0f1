"""``manage.py import_articles PATH [PATH ...]``: a thin wrapper over articles.importing."""
import sys

from django.core.management.base import BaseCommand, CommandError

from articles.frontmatter import FrontMatterError
from articles.importing import collect_files, import_paths


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
            "--workers",
            type=int,
            default=None,
            help="Processes for parsing and rendering (default: one per CPU; 1 for none).",
        )

    def handle(self, *args, paths, subjects, workers, **options):
        progress_bar = None
        progress = None
        if self.stdout.isatty() and options["verbosity"] >= 1:
            from tqdm import tqdm

            try:
                total = len(collect_files(paths))
            except FrontMatterError as error:
                raise CommandError(str(error)) from None
            progress_bar = tqdm(total=total, unit="file", file=sys.stderr)
            progress = progress_bar.update
        try:
            report = import_paths(paths, subjects_file=subjects, workers=workers, progress=progress)
        except FrontMatterError as error:
            raise CommandError(str(error)) from None
        finally:
            if progress_bar is not None:
                progress_bar.close()
        for error in report.errors:
            self.stderr.write(f"error: {error}")
        if report.changed == 0 and not report.errors:
            self.stdout.write(f"Nothing changed: all {report.files} files are already imported.")
        self.stdout.write(report.summary())
        if report.errors:
            raise CommandError(f"{report.failed} of {report.files} files failed", returncode=1)
