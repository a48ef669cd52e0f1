"""What follows a change of content, in one place: the 301 left by a move, the canonical
copy of a cross-posted group, the search index entry, the suggested related questions and
the page cache.

Single-row writes reach it through model signals: the admin's forms and inlines, bulk
actions (they save each article), reverts (they save through the model) and the shell all
save instances, and a signal is the one hook every such path passes, so none of them has
to remember to call anything. The import writes rows in bulk, which sends no signals, and
calls ``articles_imported`` for each batch itself. Raw saves (``loaddata``) are only
indexed: they copy a whole site, whose redirects and canonical choices come with it. Models
do not import this module; it imports them.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from dataclasses import dataclass

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save

from articles import canonical, redirects, related, search
from articles.addresses import article_path, subject_feed_path, subject_path
from articles.caching import bump_content_version
from articles.models import Article, Redirect, RelatedLink, Subject


@dataclass(frozen=True)
class StoredArticle:
    """What a save may change of an article that affects other rows, as stored before it."""

    subject_id: int
    subject_slug: str
    slug: str
    source_id: int | None


@dataclass(frozen=True)
class StoredSubject:
    slug: str
    listed: bool
    position: int


def stored_article(article):
    """The StoredArticle of ``article`` as the database holds it, or None for an article
    not saved yet. One query."""
    if article.pk is None:
        return None
    row = (
        Article.objects.filter(pk=article.pk)
        .values_list("subject_id", "subject__slug", "slug", "source_id")
        .first()
    )
    return StoredArticle(*row) if row else None


def stored_subject(subject):
    """The StoredSubject of ``subject`` as stored, or None for a new subject. One query."""
    if subject.pk is None:
        return None
    row = Subject.objects.filter(pk=subject.pk).values_list("slug", "listed", "position").first()
    return StoredSubject(*row) if row else None


# --- reactions ---------------------------------------------------------------------------


def article_saved(article, before, update_fields=None):
    """After an article was saved: a changed subject or slug leaves a 301 from the old
    address (a new article's address stops redirecting), the cross-posted group(s) it was
    and is in get their canonical copy rechosen, and its index entry is rewritten when
    indexed text may have changed. ``before``: its StoredArticle from before the save.
    """
    new_path = article_path(article.subject.slug, article.slug)
    if before is None:
        Redirect.objects.filter(old_path=new_path).delete()
    elif (before.subject_id, before.slug) != (article.subject_id, article.slug):
        redirects.record_moves({article_path(before.subject_slug, before.slug): new_path})
    source_ids = {article.source_id, before.source_id if before else None} - {None}
    canonical.update_canonical(source_ids=source_ids, article_ids=[article.pk])
    if update_fields is None or search.INDEXED_FIELDS & set(update_fields):
        search.index_articles([article])
        related.compute_for([article.pk])
    bump_content_version()


def article_deleted(article):
    """After an article was deleted: copies that pointed at it as their canonical copy
    (now pointing nowhere) get one rechosen once the deletion commits. Its index entry
    goes with the row (a database trigger)."""
    if article.source_id is not None:
        source_id = article.source_id
        transaction.on_commit(lambda: canonical.update_canonical(source_ids=[source_id]))
    bump_content_version()


def subject_saved(subject, before):
    """After a subject was saved: a changed slug leaves 301s from the subject page, its
    feed and every article in it; a changed slug, listing or position rechooses the
    canonical copies of groups with a copy in it."""
    if before is not None and before.slug != subject.slug:
        moves = {
            subject_path(before.slug): subject_path(subject.slug),
            subject_feed_path(before.slug): subject_feed_path(subject.slug),
        }
        for slug in subject.articles.values_list("slug", flat=True).iterator(chunk_size=2000):
            moves[article_path(before.slug, slug)] = article_path(subject.slug, slug)
        redirects.record_moves(moves)
    if before is not None and before != StoredSubject(
        subject.slug, subject.listed, subject.position
    ):
        canonical.update_canonical(
            source_ids=subject.articles.exclude(source_id=None).values("source_id")
        )
    bump_content_version()


def articles_imported(articles):
    """After the import wrote a batch of articles in bulk (inside its transaction):
    index them. ``articles``: Article instances with the indexed fields loaded. The import
    rechooses canonical copies and invalidates pages once, at its end."""
    search.index_articles(articles)


def import_finished(content_changed):
    """After an import wrote all its batches: copies of cross-posted articles may have
    arrived, changed or gone, so every group's canonical copy is rechosen; when
    ``content_changed``, the search vocabulary is refreshed, every article's suggested
    related questions computed again (from both) and cached pages invalidated. Returns
    the suggestions' SuggestionReport, or None."""
    canonical.update_canonical()
    report = None
    if content_changed:
        search.refresh_vocabulary()
        report = related.compute_all()
        bump_content_version()
    return report


def content_changed():
    """After any other write readers can see (related links, redirects, bulk updates)."""
    bump_content_version()


# --- signal handlers ---------------------------------------------------------------------

_local = threading.local()


@contextlib.contextmanager
def suppressed():
    """No reaction to saves and deletes made in this thread for the block (a preview that
    writes, then rolls back). Other threads are not affected: signals stay connected."""
    previous = getattr(_local, "suppressed", False)
    _local.suppressed = True
    try:
        yield
    finally:
        _local.suppressed = previous


def _handler(function):
    @functools.wraps(function)
    def handle(sender, **kwargs):
        if not getattr(_local, "suppressed", False):
            function(sender, **kwargs)

    return handle


@_handler
def _remember_article(sender, instance, raw, **kwargs):
    if not raw:
        instance._stored_before = stored_article(instance)


@_handler
def _article_saved(sender, instance, created, raw, update_fields=None, **kwargs):
    if raw:  # a loaded row: its own index entry still has to be written
        articles_imported([instance])
        content_changed()
        return
    before = None if created else getattr(instance, "_stored_before", None)
    article_saved(instance, before, update_fields)


@_handler
def _article_deleted(sender, instance, **kwargs):
    article_deleted(instance)


@_handler
def _remember_subject(sender, instance, raw, **kwargs):
    if not raw:
        instance._stored_before = stored_subject(instance)


@_handler
def _subject_saved(sender, instance, created, raw, **kwargs):
    if not raw:
        subject_saved(instance, None if created else getattr(instance, "_stored_before", None))


@_handler
def _other_change(sender, **kwargs):
    content_changed()


def connect():
    """Connect the handlers (called once, from the app's ready())."""
    pre_save.connect(_remember_article, sender=Article, dispatch_uid="changes.article.pre")
    post_save.connect(_article_saved, sender=Article, dispatch_uid="changes.article.saved")
    post_delete.connect(_article_deleted, sender=Article, dispatch_uid="changes.article.deleted")
    pre_save.connect(_remember_subject, sender=Subject, dispatch_uid="changes.subject.pre")
    post_save.connect(_subject_saved, sender=Subject, dispatch_uid="changes.subject.saved")
    post_delete.connect(_other_change, sender=Subject, dispatch_uid="changes.subject.deleted")
    for model in (RelatedLink, Redirect):
        name = model.__name__
        post_save.connect(_other_change, sender=model, dispatch_uid=f"changes.{name}.saved")
        post_delete.connect(_other_change, sender=model, dispatch_uid=f"changes.{name}.deleted")
