"""Production settings: the environment-driven base settings plus HTTPS-only protections.

Use with ``DJANGO_SETTINGS_MODULE=quicktakes.production`` behind a TLS-terminating proxy
that sets ``X-Forwarded-Proto``. Refuses to load (ImproperlyConfigured) with DEBUG on,
without a real SECRET_KEY or without the site's public SITE_URL; it never weakens a base
setting.
"""

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from quicktakes.settings import *  # noqa: F403
from quicktakes.settings import CONTENT_SECURITY_POLICY, DEBUG, LOGGING, SECRET_KEY, env_list

#: The key settings.py falls back to for development; never good enough here.
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-change-me"
#: Django's own deploy check (security.W009) wants this many characters, and 5 distinct.
MIN_SECRET_KEY_LENGTH = 50


def check_secret_key(key, name="SECRET_KEY"):
    """Raise ImproperlyConfigured unless ``key`` (str or None) is a real secret: set, not the
    development key, not Django's ``django-insecure-`` kind, at least 50 characters with at
    least 5 distinct ones (the rule of Django's deploy check security.W009)."""
    if not key:
        raise ImproperlyConfigured(f"{name} must be set in the environment in production.")
    if key == DEVELOPMENT_SECRET_KEY or key.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            f"{name} is unset or a development key: set a real one in the environment."
        )
    if len(key) < MIN_SECRET_KEY_LENGTH or len(set(key)) < 5:
        raise ImproperlyConfigured(
            f"{name} is too short or too simple: use at least {MIN_SECRET_KEY_LENGTH} random "
            "characters (python -c 'from django.core.management.utils import "
            "get_random_secret_key as k; print(k())')."
        )


def check_site_url(value):
    """Raise ImproperlyConfigured unless ``value`` (str or None) is the site's public
    address: set, http(s), a real host (not localhost or 127.0.0.1), no path. Canonical
    links, the sitemap, feeds and robots.txt print it."""
    if not value:
        raise ImproperlyConfigured(
            "SITE_URL must be set in production (the public address readers use, "
            "like https://learn.example.com): canonical links and sitemaps print it."
        )
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImproperlyConfigured(f"SITE_URL {value!r} must look like https://host")
    if parts.hostname in ("localhost", "127.0.0.1", "::1") or parts.path.strip("/"):
        raise ImproperlyConfigured(
            f"SITE_URL {value!r} must be the public address (a real host, no path)"
        )


if DEBUG:
    raise ImproperlyConfigured(
        "DEBUG is on: production settings refuse to start (debug pages leak settings and code)."
    )
check_secret_key(SECRET_KEY)
check_site_url(os.environ.get("SITE_URL"))
# Old keys still accepted for sessions and signed values while a new key rolls out.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
for _position, _key in enumerate(SECRET_KEY_FALLBACKS, start=1):
    check_secret_key(_key, name=f"SECRET_KEY_FALLBACKS entry {_position}")

# The proxy terminates TLS and says so in X-Forwarded-Proto; plain HTTP is redirected.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
# A year of HSTS for the host and its subdomains, eligible for browsers' preload lists.
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True

CONTENT_SECURITY_POLICY = {
    **CONTENT_SECURITY_POLICY,
    "DIRECTIVES": {**CONTENT_SECURITY_POLICY["DIRECTIVES"], "upgrade-insecure-requests": True},
}

# Server errors and security events (bad Host headers, CSRF failures) reach the log that
# gunicorn collects; with DEBUG off Django would otherwise only mail them to ADMINS.
LOGGING = {
    **LOGGING,
    "loggers": {
        **LOGGING["loggers"],
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.security": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
