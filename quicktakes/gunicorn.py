"""gunicorn settings: ``gunicorn -c python:quicktakes.gunicorn quicktakes.wsgi``.

Every value can be overridden from the environment (GUNICORN_BIND, WEB_CONCURRENCY,
GUNICORN_THREADS, GUNICORN_TIMEOUT). Pages are CPU-bound and cached, so one sync worker
per core is the default; app servers keep no state of their own.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
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
