"""Deciding what a batch does with each prepared article: create, update, leave unchanged,
republish, keep an editor's change (conflict), or refuse a second file with the same url.
Pure functions over plain values (PreparedArticle, StoredArticle): no database, no model
instances, no writes; write.py reads the rows and applies the plan.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from articles.frontmatter import FrontMatterError
from articles.importing.prepare import PreparedArticle
from articles.querysets import DRAFT


class Action(enum.Enum):
    #: No row stands at the article's address.
    CREATE = "create"
    #: The file's content differs from the row's: write the file's.
    UPDATE = "update"
    #: Same content, but the row was unpublished by --prune=unpublish: publish it again
    #: (counted as updated).
    REPUBLISH = "republish"
    #: Same content in other bytes (or from another path): only remember hash and path.
    UNCHANGED = "unchanged"
    #: The file changed, and so did the row in the admin since its import: keep the
    #: editor's version unless forced.
    CONFLICT = "conflict"


@dataclass(frozen=True)
class StoredArticle:
    """The row that stands at an article's address now, as plain values.

    ``fields``: the row's values of prepare.IMPORTED_FIELDS. ``links``: its related
    links as prepare.LINK_FIELDS tuples, in position order. ``edited_since_import``:
    Article.edited_since_import of the row, read while the row is locked.
    """

    pk: int
    fields: dict
    links: list
    status: str
    edited_since_import: bool
    edited_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """What to do with one prepared article; ``stored`` is None for a CREATE."""

    action: Action
    prepared: PreparedArticle
    stored: StoredArticle | None = None
    #: For a CONFLICT: the line the report prints.
    message: str = ""


@dataclass(frozen=True)
class BatchPlan:
    """The decisions for one batch, in the batch's order."""

    decisions: tuple[Decision, ...]

    def of(self, *actions):
        return [decision for decision in self.decisions if decision.action in actions]

    @property
    def created(self):
        return len(self.of(Action.CREATE))

    @property
    def updated(self):
        return len(self.of(Action.UPDATE, Action.REPUBLISH))

    @property
    def unchanged(self):
        return len(self.of(Action.UNCHANGED))

    @property
    def conflicts(self):
        return [decision.message for decision in self.of(Action.CONFLICT)]


def content_changed(prepared, stored):
    """True when the file's fields or related links differ from the row's."""
    return stored.links != prepared.link_values() or any(
        stored.fields[name] != value for name, value in prepared.field_values().items()
    )


def decide(prepared, stored, force=False):
    """The Action for one prepared article and the row at its address (None: no row).

    ``force``: take the file's version even where an editor changed the row since its
    last import.
    """
    if stored is None:
        return Action.CREATE
    if not content_changed(prepared, stored):
        if stored.status == DRAFT and not stored.edited_since_import:
            # Unpublished by --prune=unpublish and now back: publish it again.
            return Action.REPUBLISH
        return Action.UNCHANGED
    if stored.edited_since_import and not force:
        return Action.CONFLICT
    return Action.UPDATE


def conflict_message(prepared, stored):
    record = prepared.record
    return (
        f"{record.path}: {record.url} was changed in the "
        f"admin on {stored.edited_at:%Y-%m-%d %H:%M} UTC and differs from its "
        "file; kept the editor's version (use --force to take the file's)"
    )


def plan_batch(pairs, force=False):
    """A BatchPlan for ``pairs`` of (PreparedArticle, StoredArticle or None)."""
    decisions = []
    for prepared, stored in pairs:
        action = decide(prepared, stored, force)
        message = conflict_message(prepared, stored) if action is Action.CONFLICT else ""
        decisions.append(Decision(action, prepared, stored, message))
    return BatchPlan(tuple(decisions))


class UrlClaims:
    """Which file claimed each address in this run: a second file with the same url is
    refused, so the first one stands."""

    def __init__(self):
        self.paths = {}  # address -> path, to refuse two files with one url

    def refuse(self, record):
        """A FrontMatterError when another file of this run has ``record``'s url, else
        None (and the url is now ``record``'s)."""
        address = (record.subject_slug, record.slug)
        if address in self.paths:
            return FrontMatterError(
                record.path, f"url {record.url} is also the url of {self.paths[address]}"
            )
        self.paths[address] = record.path
        return None
