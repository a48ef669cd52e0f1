"""Whole-page caching for readers, invalidated by one content version.

Every write to articles, subjects, related links or redirects bumps the version
(articles.changes for single saves and deletes, the querysets' bulk methods for bulk writes),
and page keys include it, so a change reaches every app server at once through the shared
cache. Only anonymous GETs answered 200 are cached; staff always get fresh pages.
"""

import hashlib
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

VERSION_KEY = "articles:content-version"
CACHEABLE_PARAMETERS = {"page", "p"}  # subject pages' page, sitemaps' p


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


def cached_page(view):
    """Mark ``view``'s pages as the same for every anonymous reader (see PageCacheMiddleware)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.page_cacheable = True
        return view(request, *args, **kwargs)

    return wrapper


class PageCacheMiddleware:
    """Answer repeat anonymous GETs of cacheable pages from the shared cache.

    Placed right after WhiteNoise, a hit costs two cache reads and skips sessions,
    authentication and the view. A miss is stored once the inner middleware is done, so
    the stored headers are the ones a fresh response has. The key is the content version
    plus the full path with its query string; entries live settings.PAGE_CACHE_SECONDS.
    Responses carry an ETag and Last-Modified (the content version's time) and answer
    conditional requests with 304. Only 200 answers of views wrapped in cached_page are
    stored; requests with a session cookie (staff) always go through.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.method not in ("GET", "HEAD")
            or settings.SESSION_COOKIE_NAME in request.COOKIES
            # Only the query strings pages use; any other would let a client fill the
            # shared cache with copies of one page.
            or not set(request.GET) <= CACHEABLE_PARAMETERS
        ):
            return self.get_response(request)
        version = content_version()
        digest = hashlib.sha256(request.get_full_path().encode()).hexdigest()
        key = f"articles:page:{version}:{digest}"
        last_modified = int(version) // 1_000_000_000
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
