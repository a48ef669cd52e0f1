"""Subjects during an import: the subjects file (titles, order, which are listed) and the
subjects that files name before they exist. Writes Subject rows only, never articles or links.
"""

from __future__ import annotations

import json
import os
import re

from django.db import IntegrityError, transaction

from articles.frontmatter import CONTROL_CHARACTERS_RE, FrontMatterError
from articles.models import Subject

#: A subjects file larger than this is refused before it is read (bytes).
MAX_SUBJECTS_FILE_BYTES = 1024 * 1024
#: A subject's slug: lower-case letters, digits and hyphens, as in every ``url``.
SUBJECT_SLUG_RE = re.compile(r"[a-z0-9]+(?:-+[a-z0-9]+)*")


def _entry_problem(item, seen_slugs, seen_titles):
    """What is wrong with one entry of a subjects file, or None."""
    if not isinstance(item, dict):
        return 'must be a map {"title": ..., "slug": ...}'
    unknown = sorted(set(item) - {"title", "slug"})
    if unknown:
        return f"has unknown key(s) {', '.join(map(repr, unknown))}"
    slug, title = item.get("slug"), item.get("title")
    if not isinstance(slug, str) or not SUBJECT_SLUG_RE.fullmatch(slug):
        return f"slug {slug!r} must be lower-case letters, digits and hyphens ('maths-101')"
    slug_limit = Subject._meta.get_field("slug").max_length
    if len(slug) > slug_limit:
        return f"slug {slug!r} is longer than {slug_limit} characters"
    if not isinstance(title, str) or not title.strip():
        return "title must be non-empty text"
    title_limit = Subject._meta.get_field("title").max_length
    if len(title) > title_limit:
        return f"title is longer than {title_limit} characters"
    if CONTROL_CHARACTERS_RE.search(title) or "\n" in title:
        return "title holds a control character or a line break"
    if slug in seen_slugs:
        return f"slug {slug!r} is also the slug of entry {seen_slugs[slug]}"
    if title.strip().casefold() in seen_titles:
        return f"title {title!r} is also the title of entry {seen_titles[title.strip().casefold()]}"
    return None


def load_subjects_file(path):
    """Read a subjects file: a JSON list of ``{"title": str, "slug": str}`` in display order.

    The whole file is validated before anything is written: every slug a URL slug
    (SUBJECT_SLUG_RE, within the column's length), every title non-empty text without
    control characters, no slug or title twice. Returns that list. Raises
    FrontMatterError naming the first wrong entry by its position (1-based) when it is not
    in that shape, larger than MAX_SUBJECTS_FILE_BYTES, or not UTF-8 JSON.
    """
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_SUBJECTS_FILE_BYTES:
                raise FrontMatterError(
                    path,
                    f"the subjects file is {size} bytes; the limit is {MAX_SUBJECTS_FILE_BYTES}",
                )
            data = json.loads(stream.read().decode("utf-8"))
    except json.JSONDecodeError as error:
        raise FrontMatterError(
            path, f"invalid JSON: {error.msg} (column {error.colno})", line=error.lineno
        ) from None
    except (OSError, ValueError) as error:
        raise FrontMatterError(path, f"cannot read the subjects file: {error}") from None
    if not isinstance(data, list):
        raise FrontMatterError(path, 'expected a JSON list of {"title": ..., "slug": ...}')
    seen_slugs, seen_titles = {}, {}
    for position, item in enumerate(data, start=1):
        problem = _entry_problem(item, seen_slugs, seen_titles)
        if problem:
            raise FrontMatterError(
                path, f"entry {position}: {problem}; nothing was changed", line=None
            )
        seen_slugs[item["slug"]] = position
        seen_titles[item["title"].strip().casefold()] = position
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
        try:
            with transaction.atomic():  # a savepoint: another import may create it first
                subject = Subject.objects.create(
                    slug=record.subject_slug,
                    title=record.subject_name,
                    listed=not fixed,
                )
        except IntegrityError:
            # Created by an import running beside this one (it has committed: the unique
            # index made this insert wait for it), or a title another subject holds.
            subject = Subject.objects.filter(slug=record.subject_slug).first()
            if subject is None:
                raise
        known[subject.slug] = subject
    elif (
        not fixed
        and subject.title.lower() == record.subject_name.lower()
        and _title_rank(record.subject_name) > _title_rank(subject.title)
    ):
        subject.title = record.subject_name
        subject.save(update_fields=["title", "updated"])
    return subject
