"""gunicorn settings: ``gunicorn -c python:quicktakes.gunicorn quicktakes.wsgi``.

Every value can be overridden from the environment (GUNICORN_BIND, WEB_CONCURRENCY,
GUNICORN_THREADS, GUNICORN_TIMEOUT). Sync workers, 2 x cores + 1 of them as gunicorn's
documentation advises: a worker waits for the shared cache (Redis), the database, or an
editor's save, which takes one for a tenth of a second; with one worker per core, the
processor idles meanwhile and readers queue behind the save. App servers keep no state
of their own.
"""

import multiprocessing
import os

from django.apps import apps
from django.core.cache import cache
from django.urls import Resolver404, get_resolver

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
keepalive = 5
# Restart workers now and then so a slow leak can never grow without bound.
max_requests = 10000
max_requests_jitter = 1000
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Several app servers may run side by side on one machine (one per port): none of them
# needs gunicorn's control socket, whose default path they would all share.
control_socket_disable = True


def post_worker_init(worker):
    """Before a worker of the site takes its first request (after every restart too): load
    the URLconf and open the shared cache's connections (all of diskcache's shards, or the
    one to Redis), some 50 ms that its first reader would wait otherwise. Nothing is
    written. Does nothing in a server of another application (Django not set up)."""
    if not apps.ready:
        return
    try:
        get_resolver().resolve("/")
    except Resolver404:
        pass
    cache.get_many([f"warm-up:{number}" for number in range(64)])
