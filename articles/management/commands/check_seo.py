"""``manage.py check_seo``: what a crawler meets, checked through Django's test client.

Reads pages, sitemaps and redirects the way a crawler would and reports figures; it writes
nothing. Exits with an error when any check fails.
"""

import random
import re
from urllib.parse import urlsplit
from xml.etree import ElementTree

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import Client, override_settings

from articles.addresses import article_path
from articles.models import Article, Redirect
from articles.redirects import MovedFileError, load_moved_file

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
CANONICAL_RE = re.compile(r'<link rel="canonical" href="([^"]+)">')


def _path(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Command(BaseCommand):
    help = (
        "Check what search engines meet: the sitemap's article count against the canonical "
        "indexable articles, a sample of sitemap URLs, every moved address, and that no "
        "canonical link points at a non-canonical page."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--sample", type=int, default=500, help="Sitemap URLs to fetch (default 500)."
        )
        parser.add_argument(
            "--canonical-sample",
            type=int,
            default=200,
            help="Non-canonical copies whose pages are fetched to follow their canonical "
            "link (default 200); every copy is checked in the database regardless.",
        )
        parser.add_argument("--seed", type=int, default=0, help="Seed for the samples.")
        parser.add_argument(
            "--moved-questions",
            metavar="FILE",
            help="Check the old addresses of this file; default: of the redirects it loaded.",
        )

    def handle(self, *args, sample, canonical_sample, seed, moved_questions, **options):
        self.failures = []
        self.random = random.Random(seed)
        # Static files are the deploy smoke test's concern; pages here render without a
        # collectstatic manifest.
        storages = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        with override_settings(
            ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"], STORAGES=storages
        ):
            self.client = Client(raise_request_exception=False)
            locations = self.check_sitemap()
            self.check_sample(locations, sample)
            self.check_moved(moved_questions)
            self.check_canonical_links(canonical_sample)
        if self.failures:
            for failure in self.failures[:20]:
                self.stderr.write(f"  {failure}")
            raise CommandError(f"{len(self.failures)} checks failed")
        self.stdout.write("All checks passed.")

    def fail(self, message):
        self.failures.append(message)

    def get(self, path):
        return self.client.get(path)

    def locs(self, response):
        root = ElementTree.fromstring(response.content)
        return [element.text for element in root.iterfind(".//sm:loc", SITEMAP_NS)]

    def check_sitemap(self):
        index = self.get("/sitemap.xml")
        if index.status_code != 200:
            self.fail(f"/sitemap.xml answered {index.status_code}")
            return {}
        locations = {}
        for section_url in self.locs(index):
            if not section_url.startswith(settings.SITE_URL):
                self.fail(f"sitemap index names {section_url}, not on {settings.SITE_URL}")
            section = re.search(r"sitemap-([-\w]+)\.xml", section_url)[1]
            response = self.get(_path(section_url))
            if response.status_code != 200:
                self.fail(f"{section_url} answered {response.status_code}")
                continue
            urls = self.locs(response)
            if len(urls) > 50_000:
                self.fail(f"{section_url} holds {len(urls)} URLs, over 50,000")
            locations.setdefault(section, []).extend(urls)
        in_sitemap = len(locations.get("articles", []))
        distinct = len(set(locations.get("articles", [])))
        expected = Article.objects.indexable().count()
        self.stdout.write(
            f"Sitemap: {in_sitemap} article URLs ({distinct} distinct); canonical indexable "
            f"articles of listed subjects: {expected}; subjects: "
            f"{len(locations.get('subjects', []))}"
        )
        if not in_sitemap == distinct == expected:
            self.fail(
                f"sitemap lists {in_sitemap} articles ({distinct} distinct), expected {expected}"
            )
        return locations

    def check_sample(self, locations, size):
        urls = [url for section in locations.values() for url in section]
        chosen = self.random.sample(urls, min(size, len(urls)))
        ok = 0
        for url in chosen:
            status = self.get(_path(url)).status_code
            if status == 200:
                ok += 1
            else:
                self.fail(f"sitemap URL {url} answered {status}")
        self.stdout.write(f"Sample: {len(chosen)} sitemap URLs fetched, {ok} answered 200")

    def check_moved(self, moved_file):
        if moved_file:
            try:
                olds = sorted({old for old, _ in load_moved_file(moved_file)})
            except MovedFileError as error:
                raise CommandError(str(error)) from None
        else:
            olds = sorted(
                Redirect.objects.filter(source=Redirect.Source.MOVED_FILE).values_list(
                    "old_path", flat=True
                )
            )
        standing = {
            article_path(subject, slug)
            for subject, slug in Article.objects.published().values_list("subject__slug", "slug")
        }
        missing = [old for old in olds if old not in standing]
        ok = 0
        for old in missing:
            response = self.get(old + "?from=check")
            location = response.get("Location", "")
            if response.status_code != 301 or not location.startswith("/"):
                self.fail(f"{old} answered {response.status_code} {location}".rstrip())
                continue
            status = self.get(location).status_code
            if status == 200:
                ok += 1
            else:
                self.fail(f"{old} leads to {location}, which answered {status}")
        self.stdout.write(
            f"Moved addresses: {len(olds)} old addresses, {len(olds) - len(missing)} still "
            f"hold an article, which is served; of the {len(missing)} others, {ok} answered "
            f"301 to a page answering 200 in one hop"
        )

    def check_canonical_links(self, size):
        copies = Article.objects.filter(canonical__isnull=False)
        wrong = (
            copies.filter(canonical__canonical__isnull=False).count()
            + copies.exclude(canonical__in=Article.objects.published()).count()
        )
        if wrong:
            self.fail(
                f"{wrong} copies name a canonical copy that is not canonical or not published"
            )
        visible = list(
            copies.filter(pk__in=Article.objects.published().values("pk"))
            .select_related("subject")
            .only("slug", "subject__slug")
        )
        checked = bad = 0
        for copy in self.random.sample(visible, min(size, len(visible))):
            page = self.get(copy.get_absolute_url())
            target = CANONICAL_RE.search(page.content.decode())
            checked += 1
            if page.status_code != 200 or not target:
                bad += 1
                self.fail(
                    f"{copy.get_absolute_url()} answered {page.status_code} "
                    "without a canonical link"
                )
                continue
            landing = self.get(_path(target[1]))
            own = CANONICAL_RE.search(landing.content.decode())
            if landing.status_code != 200 or not own or own[1] != target[1]:
                bad += 1
                self.fail(f"{copy.get_absolute_url()} names {target[1]}, which is not canonical")
        self.stdout.write(
            f"Canonical links: {copies.count()} copies point at another copy, {wrong} of them "
            f"at a page that is not canonical or not published; {checked} copies' pages "
            f"followed, {bad} wrong"
        )
