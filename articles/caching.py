"""Whole-page caching for readers, invalidated by one content version.

Every write to articles, subjects, related links or redirects bumps the version
(articles.changes for single saves and deletes, the querysets' bulk methods for bulk writes),
and page keys include it, so a change reaches every app server at once through the shared
cache. Only anonymous GETs answered 200 are cached; staff always get fresh pages.
"""

import hashlib
import re
import time
from functools import wraps
from importlib import import_module
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect, QueryDict
from django.urls import Resolver404, resolve
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

VERSION_KEY = "articles:content-version"
#: A page number as written in a canonical address: 2, 3, ... (page 1 has none).
_PAGE_NUMBER_RE = re.compile(r"[1-9][0-9]{0,8}")


def content_version():
    """The current content version: a str of nanoseconds since the epoch of the last change."""
    version = cache.get(VERSION_KEY)
    if version is None:
        version = str(time.time_ns())
        # add(): when two servers race here, both end up with the first one's value.
        if not cache.add(VERSION_KEY, version, None):
            version = cache.get(VERSION_KEY, version)
    return version


def bump_content_version():
    """Mark every cached page stale, now and again when the current transaction commits.

    The second bump covers a reader who cached the old page between the first bump and
    the commit; outside a transaction the callback runs at once.
    """
    cache.set(VERSION_KEY, str(time.time_ns()), None)
    transaction.on_commit(lambda: cache.set(VERSION_KEY, str(time.time_ns()), None))


def cached_page(view, page_parameter=None, filter_parameter=None):
    """Mark ``view``'s pages as the same for every anonymous reader (see PageCacheMiddleware).

    ``page_parameter``: the name of the one query parameter the view reads (a page number:
    ``page`` on subject pages, ``p`` in sitemaps), or None when it reads none.
    ``filter_parameter``: a parameter holding a reader's words (``q``, a subject page's
    filter): a request where it is not blank is served fresh, never cached nor redirected,
    as the search page is; its pages would otherwise fill the cache with one-off entries.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.page_cacheable = not filtered(request, filter_parameter)
        return view(request, *args, **kwargs)

    wrapper.page_parameter = page_parameter
    wrapper.filter_parameter = filter_parameter
    return wrapper


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


def _page_key(version, address):
    digest = hashlib.sha256(address.encode()).hexdigest()
    return f"articles:page:{version}:{digest}"


class PageCacheMiddleware:
    """Answer repeat anonymous GETs of cacheable pages from the shared cache.

    Placed right after WhiteNoise, a hit costs two cache reads and skips sessions,
    authentication and the view. A miss is stored once the inner middleware is done, so
    the stored headers are the ones a fresh response has. The key is the content version
    plus the canonical address (path and canonical query, see canonical_query; other
    query strings are redirected there); entries live settings.PAGE_CACHE_SECONDS.
    Responses carry an ETag and Last-Modified (the content version's time) and answer
    conditional requests with 304. Only 200 answers of views wrapped in cached_page are
    stored; requests of a signed-in user (staff) always go through, while a made-up
    session cookie is served from the cache like any reader.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if not hasattr(match.func, "page_parameter") or signed_in(request):
            return self.get_response(request)
        if filtered(request, getattr(match.func, "filter_parameter", None)):
            return self.get_response(request)
        # One address per page: a request with any other query string is answered for its
        # clean address, and a page that answers 200 there is sent to it with a 301, so
        # made-up parameters never fill (or bypass) the shared cache. Anything else (a moved
        # article's old address, a page past the last) keeps its own answer.
        query = canonical_query(request.GET, match.func.page_parameter)
        if query == request.META.get("QUERY_STRING", ""):
            return self.cached_response(request)
        request.META["QUERY_STRING"] = query
        request.GET = QueryDict(query)
        response = self.cached_response(request)
        if response.status_code in (200, 304):
            return HttpResponsePermanentRedirect(request.get_full_path())
        return response

    def cached_response(self, request):
        """The page at request's (canonical) address, from the cache or stored there."""
        version = content_version()
        last_modified = int(version) // 1_000_000_000
        key = _page_key(version, request.get_full_path())
        cached = cache.get(key)
        if cached is not None:
            content, headers = cached
            response = HttpResponse(content)
            for name, value in headers:
                response[name] = value
            return get_conditional_response(
                request, etag=response["ETag"], last_modified=last_modified, response=response
            )
        response = self.get_response(request)
        if (
            getattr(request, "page_cacheable", False)
            and response.status_code == 200
            and not response.streaming
            and settings.PAGE_CACHE_SECONDS > 0
        ):
            if not response.has_header("ETag"):
                response["ETag"] = f'"{hashlib.md5(response.content).hexdigest()}"'
            response["Last-Modified"] = http_date(last_modified)
            headers = [
                (name, value)
                for name, value in response.items()
                if name.lower() not in {"content-length", "set-cookie"}
            ]
            cache.set(key, (response.content, headers), settings.PAGE_CACHE_SECONDS)
        return response
        cached = cache.get(key)
        if cached is not None:
            content, headers = cached
            response = HttpResponse(content)
            for name, value in headers:
                response[name] = value
            return get_conditional_response(
                request, etag=response["ETag"], last_modified=last_modified, response=response
            )
        response = self.get_response(request)
        if (
            getattr(request, "page_cacheable", False)
            and response.status_code == 200
            and not response.streaming
            and settings.PAGE_CACHE_SECONDS > 0
        ):
            if not response.has_header("ETag"):
                response["ETag"] = f'"{hashlib.md5(response.content).hexdigest()}"'
            response["Last-Modified"] = http_date(last_modified)
            headers = [
                (name, value)
                for name, value in response.items()
                if name.lower() not in {"content-length", "set-cookie"}
            ]
            cache.set(key, (response.content, headers), settings.PAGE_CACHE_SECONDS)
        return response
