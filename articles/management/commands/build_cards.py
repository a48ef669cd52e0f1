"""``manage.py build_cards``: draw every share image storage lacks (articles.cards)."""

import time

from django.core.management.base import BaseCommand

from articles import cards, changes
from articles.models import Subject


class Command(BaseCommand):
    help = (
        "Draw the share image (1200x630 PNG) of every subject and of the site that storage "
        "does not hold yet; cards already stored are left alone."
    )

    def handle(self, *args, **options):
        started = time.perf_counter()
        drawn = int(cards.ensure_site_card())
        subjects = list(Subject.objects.order_by("pk"))
        for subject in subjects:
            name = cards.subject_card_name(subject.slug, subject.title)
            drawn += cards.ensure(name, subject.title)
            changes.subject_card(subject)
        elapsed = time.perf_counter() - started
        if options["verbosity"] > 0:
            self.stdout.write(
                f"{len(subjects)} subjects: {drawn} cards drawn, "
                f"{len(subjects) + 1 - drawn} already stored; {elapsed:.2f} s"
            )
