"""Whole-page caching for readers, invalidated by one content version.

Every write to articles, subjects, related links or redirects bumps the version (signals
for single saves and deletes, the querysets' bulk methods for imports and admin actions),
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
from django.utils.http import http_date

VERSION_KEY = "articles:content-version"


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
    """Serve ``view``'s 200 responses to anonymous GETs from the cache.

    The key is the content version plus the full path with its query string; entries
    live ``settings.PAGE_CACHE_SECONDS``. Responses carry ``Last-Modified`` (the content
    version's time); ``ETag`` and 304 answers come from ConditionalGetMiddleware.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or settings.SESSION_COOKIE_NAME in request.COOKIES:
            return view(request, *args, **kwargs)
        version = content_version()
        digest = hashlib.sha256(request.get_full_path().encode()).hexdigest()
        key = f"articles:page:{version}:{digest}"
        cached = cache.get(key)
        if cached is not None:
            content, content_type, headers = cached
            response = HttpResponse(content, content_type=content_type)
            for name, value in headers:
                response[name] = value
        else:
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and callable(response.render):
                response = response.render()
            if response.status_code == 200 and not response.streaming:
                headers = [
                    (name, value)
                    for name, value in response.items()
                    if name.lower() not in {"content-type", "content-length", "set-cookie"}
                ]
                cache.set(
                    key,
                    (response.content, response["Content-Type"], headers),
                    settings.PAGE_CACHE_SECONDS,
                )
        if response.status_code == 200:
            response["Last-Modified"] = http_date(int(version) / 1e9)
        return response

    return wrapper


def _on_change(sender, **kwargs):
    bump_content_version()


def connect_signals():
    """Bump the content version whenever an articles model row is saved or deleted."""
    from django.apps import apps
    from django.db.models.signals import post_delete, post_save

    for model in apps.get_app_config("articles").get_models():
        post_save.connect(_on_change, sender=model, dispatch_uid=f"caching.save.{model.__name__}")
        post_delete.connect(
            _on_change, sender=model, dispatch_uid=f"caching.delete.{model.__name__}"
        )
