"""Refusing a save made over a newer version, and telling the editor what happened.

Every change to an article takes the next ``Article.version``; a form carries the version
it was opened at. When they differ, the save is refused and the editor reads who made the
newer change (an editor, from django-reversion's history or a live article's draft, or
an import, from ``imported_at``), when, and which fields it changed. The editor's input
stays in the form, which now carries the newer version: saving again is a decision made
after reading.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils.formats import localize
from django.utils.timezone import template_localtime
from reversion.models import Version

from articles.admin.history import BASELINE_COMMENT, COMPARED_FIELDS, value_as_text
from articles.models import Article, ArticleDraft


@dataclass(frozen=True)
class Conflict:
    """A newer change than the one a form was opened at.

    ``who``: a user name or "an import"; ``when``: that change's time (None when unknown);
    ``fields``: verbose names of the fields that changed since the form was opened, or,
    when the opened version is not in the history (``compared_with_form``), those where
    the form differs from the article as it is now.
    """

    opened: int
    current: int
    who: str
    when: datetime | None
    fields: tuple[str, ...]
    compared_with_form: bool = False
    #: (field, the value stored now, the form's value), as short texts, for each field
    #: where the form differs from the article as it is now.
    differences: tuple[tuple[str, str, str], ...] = ()

    def message(self):
        when = f" on {localize(template_localtime(self.when))}" if self.when else ""
        what = ""
        if self.fields:
            named = ", ".join(self.fields)
            what = f" (your form differs in: {named})" if self.compared_with_form else f" ({named})"
        differences = "".join(
            f" {label}: now “{now}”, yours “{yours}”." for label, now, yours in self.differences
        )
        return (
            f"{self.who} changed this article{when}{what} since you opened it: it is at "
            f"version {self.current}, you opened version {self.opened}; nothing was saved."
            + (
                f" Where your form differs from the article now:{differences}"
                if differences
                else ""
            )
            + " Your input is still in the form: save again to replace the article with it, "
            "or reload the page to start from the article as it is now."
        )


def _short(text, limit=80):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _differences(article, submitted):
    """(label, now, yours) for each compared field where ``submitted`` (cleaned data)
    differs from ``article``."""
    rows = []
    for name in COMPARED_FIELDS:
        if name not in submitted:
            continue
        field = Article._meta.get_field(name)
        yours = submitted[name]
        yours = getattr(yours, "pk", yours)
        now = getattr(article, field.attname)
        if yours != now:
            rows.append(
                (
                    str(field.verbose_name),
                    _short(value_as_text(field, now)),
                    _short(value_as_text(field, yours)),
                )
            )
    return tuple(rows)


def _changed_fields(before, article):
    names = []
    for name in COMPARED_FIELDS:
        field = Article._meta.get_field(name)
        if before.get(field.attname) != getattr(article, field.attname):
            names.append(str(field.verbose_name))
    return tuple(names)


def find_conflict(article, opened, submitted=None):
    """The Conflict between ``article`` as stored now (read again) and a form opened at version
    ``opened`` (an int), or None when the article is still at that version.

    ``submitted``: the form's cleaned data, used to name fields when the opened version
    is not in the history (an import's versions are not).
    """
    if opened is None or article.pk is None:
        return None
    # The stored row, not the instance the view loaded a moment ago.
    article = Article._base_manager.filter(pk=article.pk).first()
    if article is None or opened == article.version:
        return None
    history = list(
        Version.objects.get_for_object(article).select_related("revision__user").order_by("-pk")
    )
    # The baseline is written as the refused save starts: it is no one's change.
    changes = [v for v in history if v.revision.comment != BASELINE_COMMENT]
    latest = changes[0].revision if changes else None
    if article.imported_at and (latest is None or article.imported_at > latest.date_created):
        who, when = "an import", article.imported_at
    elif latest is not None:
        user = latest.user
        who, when = (user.get_username() if user else "someone"), latest.date_created
    else:
        who, when = "someone", article.updated
    draft = (
        ArticleDraft.objects.filter(article_id=article.pk, version=article.version)
        .select_related("saved_by")
        .first()
    )
    if draft is not None:
        # The newest change is a draft of the live article (articles.admin.review).
        name = draft.saved_by.get_username() if draft.saved_by else "someone"
        who, when = f"{name} (a draft for review)", draft.saved_at
    before = next(
        (version.field_dict for version in history if version.field_dict.get("version") == opened),
        None,
    )
    if before is not None:
        fields = _changed_fields(before, article)
    elif submitted:
        fields = tuple(
            str(Article._meta.get_field(name).verbose_name)
            for name in COMPARED_FIELDS
            if name in submitted and submitted[name] != getattr(article, name)
        )
    else:
        fields = ()
    return Conflict(
        opened,
        article.version,
        who,
        when,
        fields,
        before is None and bool(submitted),
        _differences(article, submitted) if submitted else (),
    )
