"""``manage.py export_articles OUTDIR [--subject S]``: a thin wrapper over articles.exporting."""

from django.core.management.base import BaseCommand, CommandError

from articles.exporting import compare_with_sources, export_articles
from articles.models import Article, Subject


class Command(BaseCommand):
    help = (
        "Write every article as OUTDIR/<subject>/<slug>.md in the corpus's front matter "
        "format, ready to be imported again."
    )

    def add_arguments(self, parser):
        parser.add_argument("outdir")
        parser.add_argument("--subject", metavar="SLUG", help="Export one subject only.")
        parser.add_argument(
            "--check",
            action="store_true",
            help="Also compare each exported article not edited since its import with its "
            "source file's YAML data, and report mismatches.",
        )

    def handle(self, *args, outdir, subject, check, **options):
        articles = Article.objects.all()
        if subject:
            if not Subject.objects.filter(slug=subject).exists():
                raise CommandError(f"no subject with the slug {subject!r}")
            articles = articles.filter(subject__slug=subject)
        try:
            written = export_articles(articles, outdir)
        except OSError as error:
            raise CommandError(f"cannot write to {outdir}: {error}") from None
        self.stdout.write(f"Wrote {written} files to {outdir}.")
        if check:
            compared, mismatches = compare_with_sources(articles)
            for path, key in mismatches[:50]:
                self.stderr.write(f"mismatch: {path}: key {key!r} differs")
            self.stdout.write(
                f"Compared {compared} unedited articles with their source files: "
                f"{len(mismatches)} mismatches."
            )
            if mismatches:
                raise CommandError("the export differs from the source files", returncode=1)
