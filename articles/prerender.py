"""Builds readers' pages into the page cache before anyone asks for them: after an
editor's save (the article's own page, once the save commits) and for a whole site after
an import (``manage.py prerender_pages``), so a never-requested page is a cache hit.

A page is built by the same middleware and view a reader's request goes through, as an
anonymous GET, so what is stored is byte for byte what that request would store. This
module never decides what is stale (articles.caching and articles.changes do).
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.http.request import validate_host
from django.test import RequestFactory

from articles.addresses import article_path, subject_path
from articles.models import Article, Subject

_handler = None


def _host():
    """A host name the site answers to (ALLOWED_HOSTS), for the built requests."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    if validate_host(host, settings.ALLOWED_HOSTS):
        return host
    plain = [name for name in settings.ALLOWED_HOSTS if "*" not in name and name[:1] != "."]
    return plain[0] if plain else host


def build(path):
    """Build the page at ``path`` (site-relative, with its query if any) into the cache, as
    a reader's GET would. Returns (HTTP status, X-Page-Cache: "hit" or "miss")."""
    global _handler
    if _handler is None:
        handler = BaseHandler()
        handler.load_middleware()
        _handler = handler
    request = RequestFactory(HTTP_HOST=_host()).get(path)
    # No request_started / request_finished signals: those would close the database
    # connection of the request or command this runs in.
    response = _handler.get_response(request)
    return response.status_code, response.get("X-Page-Cache", "")


def site_paths():
    """The addresses of every page a reader may land on from a search engine: every
    published article, then each subject's first page, then /learn. A generator of str."""
    rows = (
        Article.objects.published()
        .order_by("pk")
        .values_list("subject__slug", "slug")
        .iterator(chunk_size=2000)
    )
    for subject, slug in rows:
        yield article_path(subject, slug)
    for slug in Subject.objects.order_by("pk").values_list("slug", flat=True):
        yield subject_path(slug)
    yield "/learn"


def build_all(paths, progress=None):
    """Build every page of ``paths`` (an iterable of addresses). ``progress``: optional
    callable ``progress(done, built)`` called every 500 pages and at the end. Returns
    (pages looked at, pages built: the others were in the cache already or not 200)."""
    done = built = 0
    for path in paths:
        status, outcome = build(path)
        done += 1
        built += status == 200 and outcome == "miss"
        if progress is not None and done % 500 == 0:
            progress(done, built)
    if progress is not None:
        progress(done, built)
    return done, built
