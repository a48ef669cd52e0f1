"""When an article last changed for its readers: the one rule for its modified time, used by
the page's head (JSON-LD, Open Graph), the sitemaps and the feeds.

Pure functions over values; no database access, no models (the models import this).
"""

import datetime

#: The fields whose change readers see as a new version of the article (its text); a
#: change to its SEO fields, score, related links or status is not one.
CONTENT_FIELDS = ("title", "article_title", "question", "answer")


def posted_time(day):
    """The start of ``day`` (a date, the article's posting date) in UTC, as an aware
    datetime: the corpus gives days without a time or zone."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def modified_time(day, content_changed_at):
    """An article's modified time: its posting date ``day`` (the file's ``date``) until
    its content changed later (``content_changed_at``, an aware datetime or None), then
    that change's time; never before the posting date."""
    posted = posted_time(day)
    if content_changed_at is None or content_changed_at < posted:
        return posted
    return content_changed_at


def content_changed(before, after):
    """True when the mappings ``before`` and ``after`` (field name -> value) differ in a
    CONTENT_FIELDS key that both hold."""
    return any(
        before[name] != after[name] for name in CONTENT_FIELDS if name in before and name in after
    )


def imported_change_time(old_day, new_day, content_differs, previous, now):
    """``content_changed_at`` after an import rewrote an article from a changed file.

    ``old_day`` / ``new_day``: the posting dates before and in the file; ``content_differs``:
    whether CONTENT_FIELDS changed; ``previous``: the stored ``content_changed_at``; ``now``:
    the import's time. A file with a new date speaks for itself (None: the date is the
    modified time); a changed text under the same date was changed at the import; a file
    changing neither leaves the time as it was.
    """
    if new_day != old_day:
        return None
    if content_differs:
        return now
    return previous
