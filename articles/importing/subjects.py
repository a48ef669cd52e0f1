"""Subjects during an import: the subjects file (titles, order, which are listed) and the
subjects that files name before they exist. Writes Subject rows only, never articles or links.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction

from articles.frontmatter import FrontMatterError
from articles.models import Subject


def load_subjects_file(path):
    """Read a subjects file: a JSON list of ``{"title": str, "slug": str}`` in display order.

    Returns that list. Raises FrontMatterError when it is not in that shape.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FrontMatterError(path, f"cannot read the subjects file: {error}") from None
    if not isinstance(data, list) or not all(
        isinstance(item, dict) and isinstance(item.get("slug"), str) and item.get("title")
        for item in data
    ):
        raise FrontMatterError(path, 'expected a JSON list of {"title": ..., "slug": ...}')
    return data


def apply_subjects(entries):
    """Make exactly the listed subjects listed, titled and ordered as ``entries`` says."""
    listed_slugs = []
    with transaction.atomic():
        for position, entry in enumerate(entries, start=1):
            Subject.objects.update_or_create(
                slug=entry["slug"],
                defaults={"title": entry["title"], "position": position, "listed": True},
            )
            listed_slugs.append(entry["slug"])
        Subject.objects.exclude(slug__in=listed_slugs).update(listed=False)


def _title_rank(name):
    # Several spellings of one subject occur ("Education studies" / "Education Studies");
    # the one with more capitals is the display title.
    return sum(1 for char in name if char.isupper())


def known_subjects():
    """Every subject, by slug."""
    return {s.slug: s for s in Subject.objects.all()}


def subject_for(record, known, fixed):
    """The Subject of ``record`` from ``known`` (slug -> Subject, updated in place).

    A subject no file named before is created: listed unless ``fixed`` (a subjects file
    decides the listing). Without a subjects file, a spelling of the title with more
    capitals replaces the stored one.
    """
    subject = known.get(record.subject_slug)
    if subject is None:
        subject = Subject.objects.create(
            slug=record.subject_slug,
            title=record.subject_name,
            listed=not fixed,
        )
        known[subject.slug] = subject
    elif (
        not fixed
        and subject.title.lower() == record.subject_name.lower()
        and _title_rank(record.subject_name) > _title_rank(subject.title)
    ):
        subject.title = record.subject_name
        subject.save(update_fields=["title", "updated"])
    return subject
