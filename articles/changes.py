"""What follows a change of content, in one place: the 301 left by a move, the canonical
copy of a cross-posted group, the search index entry, the suggested related questions, the
renditions of the images it shows and the cached pages that show it.

Single-row writes reach it through model signals: the admin's forms and inlines, bulk
actions (they save each article), reverts (they save through the model) and the shell all
save instances, and a signal is the one hook every such path passes, so none of them has
to remember to call anything. The import writes rows in bulk, which sends no signals, and
calls ``articles_imported`` for each batch itself; bulk writes through the models' querysets
name their pages here too (``page_tags``). Raw saves (``loaddata``) are only
indexed: they copy a whole site, whose redirects and canonical choices come with it. Models
do not import this module; it imports them.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import logging
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.utils import timezone

from articles import (
    caching,
    canonical,
    cards,
    images,
    prerender,
    querysets,
    redirects,
    related,
    search,
)
from articles.addresses import article_path, subject_feed_path, subject_path
from articles.caching import (
    LISTING,
    SITE,
    invalidate,
    path_tag,
    subject_list_tag,
    subject_tag,
)
from articles.models import Article, Redirect, RelatedLink, RelatedSuggestion, Subject

logger = logging.getLogger(__name__)

#: A write touching more articles than this marks every page stale instead of naming them
#: (naming costs about three cache keys an article).
MAX_NAMED_ARTICLES = 20_000
#: Primary keys per query when naming pages (below every database's parameter limit).
_CHUNK = 2_000


# --- the pages a change shows on (articles.caching's tags) ---------------------------------


def _chunks(items):
    items = list(items)
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def article_tags(pks):
    """The tags of every page showing one of the articles ``pks`` (primary keys) as stored
    now: its own page, the pages of its cross-posted copies (their canonical link), the
    pages whose related links or suggested related questions show it, its subject's list
    pages and feed, and LISTING (/learn's counts, the site feed, sitemaps). Four queries a
    2,000 articles; {SITE}
    past MAX_NAMED_ARTICLES or for a key not known (an unsaved row)."""
    pks = set(pks)
    if None in pks or len(pks) > MAX_NAMED_ARTICLES or caching.in_wide_change():
        return {SITE}
    if not pks:
        return set()
    tags, source_ids = {LISTING}, set()
    for chunk in _chunks(pks):
        for subject, slug, source_id in Article._base_manager.filter(pk__in=chunk).values_list(
            "subject__slug", "slug", "source_id"
        ):
            tags |= {path_tag(article_path(subject, slug)), subject_list_tag(subject)}
            if source_id is not None:
                source_ids.add(source_id)
        linking = RelatedLink._base_manager.filter(target_id__in=chunk)
        suggesting = RelatedSuggestion._base_manager.filter(suggested_id__in=chunk)
        for rows in (linking, suggesting):
            tags.update(
                path_tag(article_path(subject, slug))
                for subject, slug in rows.values_list("article__subject__slug", "article__slug")
            )
    return tags | copy_tags(source_ids)


def copy_tags(source_ids):
    """The tags of the pages of every copy of the cross-posted groups ``source_ids``."""
    tags = set()
    for chunk in _chunks(source_ids):
        tags.update(
            path_tag(article_path(subject, slug))
            for subject, slug in Article._base_manager.filter(source_id__in=chunk).values_list(
                "subject__slug", "slug"
            )
        )
    return tags


def own_page_tags(article_pks):
    """The tags of the articles' own pages only (what their related links change)."""
    if caching.in_wide_change():
        return {SITE}
    tags = set()
    for chunk in _chunks(set(article_pks) - {None}):
        tags.update(
            path_tag(article_path(subject, slug))
            for subject, slug in Article._base_manager.filter(pk__in=chunk).values_list(
                "subject__slug", "slug"
            )
        )
    return tags


@querysets.page_namer
def page_tags(model, pks, objs=None):
    """The tags of the pages showing rows ``pks`` of ``model`` (Article, Subject,
    RelatedLink or Redirect) as stored now; ``objs``: the instances, when the caller has
    them. Used by the querysets' bulk writes (articles.querysets)."""
    if model is Article:
        return article_tags(pks)
    if model is RelatedLink:
        if objs is not None:
            return own_page_tags(obj.article_id for obj in objs)
        links = RelatedLink._base_manager.filter(pk__in=pks)
        return own_page_tags(links.values_list("article_id", flat=True))
    if model is Redirect:
        # A redirect only answers where no page stands; its old path may have been one.
        if objs is not None:
            return {path_tag(obj.old_path) for obj in objs}
        rows = Redirect._base_manager.filter(pk__in=pks)
        return {path_tag(path) for path in rows.values_list("old_path", flat=True)}
    if model is Subject:
        slugs = Subject._base_manager.filter(pk__in=pks).values_list("slug", flat=True)
        return {LISTING, *map(subject_tag, slugs)}
    return {SITE}


def stored_tags(before):
    """The tags of the pages an article showed on as stored before a save (StoredArticle):
    its old address, its old subject's list, its old cross-posted group."""
    if before is None:
        return set()
    tags = {
        path_tag(article_path(before.subject_slug, before.slug)),
        subject_list_tag(before.subject_slug),
    }
    return tags | copy_tags({before.source_id} - {None})


def schedule_changed():
    """A write may have scheduled articles: read the schedule again now and once the
    write commits (a reader may have read it in between)."""
    publish_due()
    transaction.on_commit(publish_due)


@caching.schedule_check
def publish_due():
    """Mark stale the pages of articles whose scheduled time came since the last check
    (or within PAGE_CACHE_SECONDS, when the check was forgotten: older pages are gone),
    and remember when the next one is due. Two queries; run by the page cache when
    caching.SCHEDULE_KEY is due or missing (every PAGE_SCHEDULE_CHECK_SECONDS at most),
    and by writes that may change the schedule, once they commit."""
    now = timezone.now()
    checked = cache.get(caching.SCHEDULE_CHECKED_KEY)
    if checked is None:
        checked = now.timestamp() - settings.PAGE_CACHE_SECONDS
    since = datetime.datetime.fromtimestamp(checked, tz=datetime.UTC)
    became_visible = Article.objects.published().filter(publish_at__gt=since)
    invalidate(article_tags(became_visible.values_list("pk", flat=True)))
    due = Article.objects.scheduled().aggregate(due=Min("publish_at"))["due"]
    cache.set(caching.SCHEDULE_CHECKED_KEY, now.timestamp(), settings.PAGE_CACHE_SECONDS)
    cache.set(
        caching.SCHEDULE_KEY,
        due.timestamp() if due else math.inf,
        settings.PAGE_SCHEDULE_CHECK_SECONDS,
    )


@dataclass(frozen=True)
class StoredArticle:
    """What a save may change of an article that affects other rows, as stored before it."""

    subject_id: int
    subject_slug: str
    slug: str
    source_id: int | None


@dataclass(frozen=True)
class StoredSubject:
    title: str
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
    row = (
        Subject.objects.filter(pk=subject.pk)
        .values_list("title", "slug", "listed", "position")
        .first()
    )
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
    if update_fields is None or "answer" in update_fields:
        # Before any page shows it: renditions whose background job has not run yet.
        images.ensure_renditions(article.answer)
    # After the canonical choice: the copies' pages name the copy chosen now.
    invalidate(article_tags([article.pk]) | stored_tags(before))
    # As given to save(), which also takes the time as text.
    publish_at = Article._meta.get_field("publish_at").to_python(article.publish_at)
    if publish_at is not None and publish_at > timezone.now():
        schedule_changed()
    if article.is_published and settings.PAGE_CACHE_SECONDS > 0:
        # Registered after invalidate's own callback: built from the committed rows,
        # under the new versions, so the next reader of this page gets a hit.
        transaction.on_commit(functools.partial(_prebuild, new_path))


#: At most this many pages built after saves per thread in PREBUILD_WINDOW seconds: a bulk
#: action saving hundreds of articles leaves the rest to their readers, not to its request.
PREBUILD_LIMIT = 20
PREBUILD_WINDOW = 10.0
_prebuilt = threading.local()


def _prebuild(path):
    now = time.monotonic()
    recent = [
        moment for moment in getattr(_prebuilt, "moments", []) if now - moment < PREBUILD_WINDOW
    ]
    if len(recent) >= PREBUILD_LIMIT:
        _prebuilt.moments = recent
        return
    _prebuilt.moments = [*recent, now]
    try:
        prerender.build(path)
    except Exception:  # the save has committed: a page not built is built by its reader
        logger.exception("could not build %s after a save", path)


def article_deleting(article):
    """Before an article is deleted: the pages showing it, while its related links still
    lead to it, are marked stale."""
    invalidate(article_tags([article.pk]))


def article_deleted(article):
    """After an article was deleted: copies that pointed at it as their canonical copy
    (now pointing nowhere) get one rechosen once the deletion commits (which names their
    pages). Its index entry goes with the row (a database trigger)."""
    if article.source_id is not None:
        source_id = article.source_id
        transaction.on_commit(lambda: canonical.update_canonical(source_ids=[source_id]))


def subject_saved(subject, before):
    """After a subject was saved: a changed slug leaves 301s from the subject page, its
    feed and every article in it; a changed slug, listing or position rechooses the
    canonical copies of groups with a copy in it."""
    if before is not None and before.slug != subject.slug:
        # Every link to its articles, on any page, names the old address.
        caching.invalidate_everything()
        moves = {
            subject_path(before.slug): subject_path(subject.slug),
            subject_feed_path(before.slug): subject_feed_path(subject.slug),
        }
        for slug in subject.articles.values_list("slug", flat=True).iterator(chunk_size=2000):
            moves[article_path(before.slug, slug)] = article_path(subject.slug, slug)
        redirects.record_moves(moves)
    now = StoredSubject(subject.title, subject.slug, subject.listed, subject.position)
    if before is not None and (before.slug, before.listed, before.position) != (
        now.slug,
        now.listed,
        now.position,
    ):
        canonical.update_canonical(
            source_ids=subject.articles.exclude(source_id=None).values("source_id")
        )
    subject_card(subject)
    # /learn and the sitemaps show when it changed; its own pages only if it did.
    invalidate({LISTING, subject_tag(subject.slug)} if before != now else {LISTING})


def subject_card(subject):
    """Give ``subject`` the share image of its title (and the site its own): drawn and
    stored only when storage does not hold one of that title already, recorded on the row
    (one query) only when its name changed. Returns True when the row changed."""
    cards.ensure_site_card()
    name = cards.subject_card_name(subject.slug, subject.title)
    cards.ensure(name, subject.title)
    if subject.card == name:
        return False
    subject.card = name
    Subject._base_manager.filter(pk=subject.pk).update(card=name)
    return True


def subject_deleted(subject):
    """After a subject (without articles: they protect it) was deleted."""
    invalidate({LISTING, subject_tag(subject.slug), subject_list_tag(subject.slug)})


def articles_imported(articles, touched=(), answer_texts=None):
    """After the import wrote a batch of articles in bulk (inside its transaction):
    index them. ``articles``: Article instances with the indexed fields loaded (their
    pages were named by the bulk writes); ``answer_texts``: their answers' plain text, in
    the same order, when made already. ``touched``: primary keys of articles the batch
    changed through plain updates (moved to a new address, published again): their pages
    are named here. The import rechooses canonical copies at its end."""
    search.index_articles(articles, answer_texts=answer_texts)
    for article in articles:
        images.ensure_renditions(article.answer)
    invalidate(article_tags(touched))


def links_resolved(article_pks):
    """After the import gave related links of the articles ``article_pks`` their targets."""
    invalidate(own_page_tags(article_pks))


def import_finished(content_changed):
    """After an import wrote all its batches: copies of cross-posted articles may have
    arrived, changed or gone, so every group's canonical copy is rechosen (the copies it
    changes have their pages named by the update); when ``content_changed``, the search
    vocabulary is refreshed and every article's suggested related questions computed again
    (from both; the pages whose suggestions changed are marked stale). Returns the
    suggestions' SuggestionReport, or None."""
    canonical.update_canonical()
    report = None
    if content_changed:
        search.refresh_vocabulary()
        report = related.compute_all()
    schedule_changed()
    return report


def content_changed(tags=(SITE,)):
    """After any other write readers can see: the pages of ``tags`` (default: all)."""
    invalidate(tags)


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
        content_changed()  # loaddata copies a whole site
        return
    before = None if created else getattr(instance, "_stored_before", None)
    article_saved(instance, before, update_fields)


@_handler
def _article_deleting(sender, instance, **kwargs):
    article_deleting(instance)


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
def _subject_deleted(sender, instance, **kwargs):
    subject_deleted(instance)


@_handler
def _link_changed(sender, instance, **kwargs):
    invalidate(own_page_tags([instance.article_id]))


@_handler
def _redirect_changed(sender, instance, **kwargs):
    invalidate({path_tag(instance.old_path)})


def connect():
    """Connect the handlers (called once, from the app's ready())."""
    pre_save.connect(_remember_article, sender=Article, dispatch_uid="changes.article.pre")
    post_save.connect(_article_saved, sender=Article, dispatch_uid="changes.article.saved")
    pre_delete.connect(_article_deleting, sender=Article, dispatch_uid="changes.article.deleting")
    post_delete.connect(_article_deleted, sender=Article, dispatch_uid="changes.article.deleted")
    pre_save.connect(_remember_subject, sender=Subject, dispatch_uid="changes.subject.pre")
    post_save.connect(_subject_saved, sender=Subject, dispatch_uid="changes.subject.saved")
    post_delete.connect(_subject_deleted, sender=Subject, dispatch_uid="changes.subject.deleted")
    for model, handler in ((RelatedLink, _link_changed), (Redirect, _redirect_changed)):
        name = model.__name__
        post_save.connect(handler, sender=model, dispatch_uid=f"changes.{name}.saved")
        post_delete.connect(handler, sender=model, dispatch_uid=f"changes.{name}.deleted")
