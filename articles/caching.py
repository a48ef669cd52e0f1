"""Whole-page caching for readers, invalidated by dependency tags.

Every cached page depends on a few tags named from its address alone (``site``, its
subject, its own path, ``listing``; see cached_page). Each tag has a version in the shared
cache; a stored page keeps the versions it was built under and is served only while they
are current, so marking pages stale is setting a tag's version: one cache write, seen by
every process at once.
articles.changes decides which tags a write touches; this module never queries the
database. Only anonymous GETs answered 200 are cached; staff always get fresh pages.
"""

import contextlib
import functools
import hashlib
import re
import threading
import time
from functools import wraps
from importlib import import_module
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect, QueryDict
from django.urls import Resolver404, get_resolver, get_urlconf, resolve
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

#: Every cached page depends on it: setting it marks every page stale (a restore).
SITE = "site"
#: Pages that list or count articles across subjects: /learn, the site feed, sitemaps.
LISTING = "listing"
#: When the next scheduled article becomes visible (POSIX seconds, inf for none), and up to
#: when articles that became visible were marked stale (articles.changes.publish_due).
SCHEDULE_KEY = "articles:schedule:next"
SCHEDULE_CHECKED_KEY = "articles:schedule:checked"
#: A page number as written in a canonical address: 2, 3, ... (page 1 has none).
_PAGE_NUMBER_RE = re.compile(r"[1-9][0-9]{0,8}")
#: The request headers that can make an answer 304 or 412 (get_conditional_response).
_CONDITIONAL_HEADERS = frozenset(
    {"HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE"}
)
#: Longer tag names are hashed in their cache key (a path is as long as a request makes it).
_MAX_PLAIN_TAG = 200


def path_tag(path):
    """The tag of the page at ``path`` (site-relative, no query): an article's page."""
    return f"path:{path}"


def subject_tag(slug):
    """The tag of what a subject's row shows (title, listing): its pages and its articles'."""
    return f"subject:{slug}"


def subject_list_tag(slug):
    """The tag of a subject's list of articles: its list pages and its feed."""
    return f"list:{slug}"


def _tag_key(tag):
    if len(tag) > _MAX_PLAIN_TAG:
        tag = "sha256:" + hashlib.sha256(tag.encode()).hexdigest()
    return f"articles:tag:{tag}"


def _new_version():
    # Only equality matters: a version is never set twice, so a page stored under an old
    # one is never matched again, even after its tag was evicted and made anew.
    return time.time_ns()


def tag_versions(tags):
    """``{tag: version}`` for the tags of ``tags`` the cache holds (versions are ints:
    nanoseconds since the epoch of the change); a tag never set or evicted is absent."""
    keys = {_tag_key(tag): tag for tag in tags}
    return {keys[key]: version for key, version in cache.get_many(list(keys)).items()}


#: A write changing at least this many articles at once (an import's batch) marks every page
#: stale instead of naming each: one cache write instead of thousands, no queries to name them.
WIDE_CHANGE_ROWS = 100

_wide = threading.local()


def in_wide_change():
    """True inside wide_change(): naming the pages a write touches is not worth it."""
    return getattr(_wide, "depth", 0) > 0


@contextlib.contextmanager
def wide_change(rows):
    """A block of writes changing ``rows`` articles. From WIDE_CHANGE_ROWS on, they mark
    pages stale all at once: invalidate() records nothing and the pages' namers
    (articles.changes) name SITE; when the block ends without error, every page is marked
    stale now and again when the transaction commits. A block that raises marks nothing
    (its transaction is rolled back). Below WIDE_CHANGE_ROWS the writes name their pages
    as usual. Blocks nest; this thread only."""
    if rows < WIDE_CHANGE_ROWS:
        yield
        return
    depth = getattr(_wide, "depth", 0)
    _wide.depth = depth + 1
    try:
        yield
    finally:
        _wide.depth = depth
    if depth == 0:
        invalidate({SITE})


def _set_versions(tags):
    version = _new_version()
    cache.set_many({_tag_key(tag): version for tag in tags}, settings.PAGE_CACHE_SECONDS)


def invalidate(tags):
    """Mark the pages depending on any of ``tags`` (an iterable of str) stale: now, and
    again when the current transaction commits.

    The second write covers a reader who read the new version and then the old rows
    before the commit; outside a transaction there is only the first. Tags live as long
    as pages do: a page outliving its tag is stale anyway, as its tag comes back anew.
    """
    tags = set(tags)
    if not tags or in_wide_change():
        return
    _set_versions(tags)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _set_versions(tags))


def invalidate_everything():
    """Mark every cached page stale (a restore, a change too wide to name its pages)."""
    invalidate([SITE])


def cached_page(view, page_parameter=None, filter_parameter=None, tags=None):
    """Mark ``view``'s pages as the same for every anonymous reader (see PageCacheMiddleware).

    ``page_parameter``: the name of the one query parameter the view reads (a page number:
    ``page`` on subject pages, ``p`` in sitemaps), or None when it reads none.
    ``filter_parameter``: a parameter holding a reader's words (``q``, a subject page's
    filter): a request where it is not blank is served fresh, never cached nor redirected,
    as the search page is; its pages would otherwise fill the cache with one-off entries.
    ``tags``: a function of the request's path and URL keyword arguments returning the
    tags the page depends on besides SITE (default: LISTING); it must name every row the
    page shows, through the tags articles.changes sets when that row changes.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.page_cacheable = not filtered(request, filter_parameter)
        return view(request, *args, **kwargs)

    wrapper.page_parameter = page_parameter
    wrapper.filter_parameter = filter_parameter
    wrapper.page_tags = tags or (lambda path, **kwargs: [LISTING])
    return wrapper


def article_page_tags(path, subject, slug, **kwargs):
    """An article's page: its own row (its related links, canonical copy and the articles
    its links show included, which articles.changes marks through this tag) and its
    subject's row."""
    return [path_tag(path), subject_tag(subject)]


def subject_page_tags(path, subject, **kwargs):
    """A subject's list pages and feed: its row and its list of articles."""
    return [subject_tag(subject), subject_list_tag(subject)]


def filtered(request, filter_parameter):
    """True when ``request`` carries a non-blank ``filter_parameter`` (see cached_page)."""
    return bool(filter_parameter and request.GET.get(filter_parameter, "").strip())


def canonical_query(query, page_parameter):
    """The canonical query string of a cached page's address, from its QueryDict.

    Only ``page_parameter`` is kept, once, as a page number from 2 up without leading
    zeros; page 1 and every other parameter are dropped. Returns a str, empty when the
    address has no query. Raises Http404 when the (first) page value is not a page number
    at all (``abc``, ``0``, ``-1``, ``1.5``, more than nine digits).
    """
    if page_parameter is None:
        return ""
    values = query.getlist(page_parameter)
    if not values:
        return ""
    value = values[0].strip().lstrip("0")
    if not _PAGE_NUMBER_RE.fullmatch(value):
        raise Http404(f"{page_parameter}={values[0][:20]!r} is not a page number")
    return "" if value == "1" else urlencode({page_parameter: value})


def clean_address(path, query):
    """The address to send a reader to for ``path`` with the QueryDict ``query``: for a
    cached page, the path with its canonical query (see canonical_query), so that a
    redirect lands on a page in one hop; for any other address, the query as given."""
    try:
        match = resolve(path)
    except Resolver404:
        match = None
    if match is not None and hasattr(match.func, "page_parameter"):
        try:
            kept = canonical_query(query, match.func.page_parameter)
        except Http404:
            kept = ""
    else:
        kept = query.urlencode()
    return f"{path}?{kept}" if kept else path


def signed_in(request):
    """True when the request carries the session of a signed-in user (a session row that
    exists and names a user), not just a cookie with the session cookie's name."""
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not session_key or len(session_key) < 8 or not session_key.isalnum():
        return False  # not a key any session store makes: no lookup
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore(session_key)
    return bool(session.get(SESSION_KEY))


def _resolved(path):
    """resolve(path) or None when nothing answers there, remembered per process for the
    last few thousand paths asked for (resolving is a tenth of what a cache hit costs)."""
    return _resolved_by(path, get_resolver(get_urlconf()))


@functools.lru_cache(maxsize=4096)
def _resolved_by(path, resolver):
    # Keyed by the resolver itself: a changed URLconf (a test's) is a new resolver.
    try:
        return resolver.resolve(path)
    except Resolver404:
        return None


def _page_key(address):
    return f"articles:page:{hashlib.sha256(address.encode()).hexdigest()}"


class PageCacheMiddleware:
    """Answer repeat anonymous GETs of cacheable pages from the shared cache.

    Placed right after WhiteNoise, a hit costs one cache read (the tags' versions and the
    page together) and skips sessions, authentication and the view. A miss is stored once the
    inner middleware is done, so the stored headers are the ones a fresh response has. The
    key is the canonical address (path and canonical query, see canonical_query; other
    query strings are redirected there); the entry holds the versions of the page's tags
    read before the view ran, and is served only while they are still the current ones: a
    write that commits after that read sets a newer version, so a page built from older
    rows is never served again. One entry per address; it lives PAGE_CACHE_SECONDS.
    Responses carry an ETag, Last-Modified (the newest tag's time) and ``X-Page-Cache:
    hit`` or ``miss``, and conditional requests get 304. Only 200 answers of views wrapped
    in cached_page are stored; requests of a signed-in user (staff) always go through,
    while a made-up session cookie is served from the cache like any reader.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        match = _resolved(request.path_info)
        if match is None or not hasattr(match.func, "page_parameter") or signed_in(request):
            return self.get_response(request)
        if filtered(request, getattr(match.func, "filter_parameter", None)):
            return self.get_response(request)
        tags = [SITE, *match.func.page_tags(request.path_info, **match.kwargs)]
        # One address per page: a request with any other query string is answered for its
        # clean address, and a page that answers 200 there is sent to it with a 301, so
        # made-up parameters never fill (or bypass) the shared cache. Anything else (a moved
        # article's old address, a page past the last) keeps its own answer.
        query = canonical_query(request.GET, match.func.page_parameter)
        if query == request.META.get("QUERY_STRING", ""):
            return self.cached_response(request, tags)
        request.META["QUERY_STRING"] = query
        request.GET = QueryDict(query)
        response = self.cached_response(request, tags)
        if response.status_code in (200, 304):
            return HttpResponsePermanentRedirect(request.get_full_path())
        return response

    def cached_response(self, request, tags):
        """The page at request's (canonical) address, from the cache or stored there."""
        address = request.get_full_path()
        versions, cached = current_versions(tags, _page_key(address))
        missing = [tag for tag in tags if tag not in versions]
        # A stored page is good when it was built under the versions its tags have now.
        if not missing and cached is not None and cached[0] == versions:
            _, content, headers = cached
            response = HttpResponse(content)
            for name, value in headers:
                response[name] = value
            # As on a miss (CommonMiddleware): the server need not send the page in chunks.
            response["Content-Length"] = str(len(content))
            response["X-Page-Cache"] = "hit"
            if not _CONDITIONAL_HEADERS.intersection(request.META):
                return response  # what get_conditional_response returns, without its parsing
            return get_conditional_response(
                request,
                etag=response["ETag"],
                last_modified=_last_modified(versions),
                response=response,
            )
        response = self.get_response(request)
        response["X-Page-Cache"] = "miss"
        if (
            getattr(request, "page_cacheable", False)
            and response.status_code == 200
            and not response.streaming
            and settings.PAGE_CACHE_SECONDS > 0
            and _add_versions(missing, versions)
        ):
            if not response.has_header("ETag"):
                response["ETag"] = f'"{hashlib.md5(response.content).hexdigest()}"'
            response["Last-Modified"] = http_date(_last_modified(versions))
            headers = [
                (name, value)
                for name, value in response.items()
                if name.lower() not in {"content-length", "set-cookie", "x-page-cache"}
            ]
            cache.set(
                _page_key(address),
                (versions, response.content, headers),
                settings.PAGE_CACHE_SECONDS,
            )
        return response


#: The check of the publication schedule, registered by articles.changes (which imports
#: this module) with @schedule_check; articles.apps loads it at start-up.
_schedule_check = None


def schedule_check(function):
    """Register ``function()``: run when the next scheduled article's time has come (see
    current_versions), to mark its pages stale and note when the next one is due."""
    global _schedule_check
    _schedule_check = function
    return function


def current_versions(tags, page_key):
    """``(versions, stored)``: the versions of ``tags`` (see tag_versions) and what
    ``page_key`` holds (``(versions, content, headers)`` or None), in one cache read. When
    a scheduled article's time has come, its pages are marked stale first (the
    schedule_check, articles.changes.publish_due: queries only then, and every
    PAGE_SCHEDULE_CHECK_SECONDS)."""
    keys = {_tag_key(tag): tag for tag in tags}
    found = cache.get_many([*keys, SCHEDULE_KEY, page_key])
    due = found.pop(SCHEDULE_KEY, None)
    stored = found.pop(page_key, None)
    if (due is None or due <= time.time()) and _schedule_check is not None:
        _schedule_check()
        found = cache.get_many(list(keys))
    return {keys[key]: version for key, version in found.items()}, stored


def _add_versions(tags, versions):
    """Give the ``tags`` no version was found for a new one, into ``versions``. False when
    another process set one first: the page just built may predate that write, so it is
    not stored."""
    for tag in tags:
        version = _new_version()
        if not cache.add(_tag_key(tag), version, settings.PAGE_CACHE_SECONDS):
            return False
        versions[tag] = version
    return True


def _last_modified(versions):
    return max(versions.values()) // 1_000_000_000
