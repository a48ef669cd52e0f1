"""Settings for QuickTakes Learn, read from the environment.

Variables: ``DATABASE_URL`` (dj-database-url syntax; an SQLite file in the project when
unset), ``SECRET_KEY``, ``DEBUG``, ``ALLOWED_HOSTS`` (comma-separated), ``SITE_URL``
(absolute base for canonical links and feeds), ``REDIS_URL`` (shared cache when set),
``MEDIA_ROOT`` (uploads), ``TASKS_BACKEND`` (``rq`` for the Redis queue; the database otherwise).
"""

import importlib.util
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)
# The development key only works while DEBUG is on; production must set SECRET_KEY.
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-change-me")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = "QuickTakes Learn"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "reversion",
    "axes",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "articles",
    "bench",  # benchmarks and load tools (manage.py bench, loadtest, ...), not the product
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside the page cache: every answer, cached or not, gets the policy header
    # (django-csp's, the usual policy built once per process: quicktakes.headers).
    "quicktakes.headers.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",  # pages; WhiteNoise serves static pre-compressed
    "articles.caching.PageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "articles.middleware.RedirectFallbackMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out log-in into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "quicktakes.urls"
WSGI_APPLICATION = "quicktakes.wsgi.application"
# Public paths have no trailing slash (the corpus's `url` values); a slash variant is
# redirected by the URLconf, so CommonMiddleware must not add one.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "articles.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while an import writes; IMMEDIATE takes the write lock at
    # BEGIN so two writers wait on the busy timeout instead of failing mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "quicktakes.cache.SharedRedisCache",  # Django's, client kept
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "quicktakes"),
        }
    }
else:
    # Without Redis, a folder that every process of this machine shares (gunicorn's
    # workers, an import, the admin), so a change invalidates pages everywhere at once.
    # diskcache keeps an index in SQLite: storing a page costs the same with 100 or 100,000
    # pages held (Django's file cache lists the folder on every write), and the folder is
    # bounded in bytes, the least recently stored entries going first.
    CACHES = {
        "default": {
            "BACKEND": "quicktakes.cache.FolderCache",
            "LOCATION": os.environ.get("FILE_CACHE_DIR", str(BASE_DIR / "var" / "cache")),
            "SHARDS": 8,
            "DATABASE_TIMEOUT": 0.1,
            "OPTIONS": {
                "size_limit": int(os.environ.get("FILE_CACHE_MAX_MB", "1024")) * 2**20,
            },
        }
    }

# Background jobs (large imports): Django's Tasks API through the django-tasks backport.
# By default they are rows of the default database, run by `manage.py db_worker`, so a
# fresh clone needs no broker and a job outlives a worker restart. With TASKS_BACKEND=rq
# and REDIS_URL they go on a Redis queue (RQ) instead, run by `manage.py rqworker
# default`; that needs django-tasks-rq, django-rq and rq installed besides
# requirements.txt, and is refused at start-up without them.
if os.environ.get("TASKS_BACKEND", "database") == "rq":
    if not os.environ.get("REDIS_URL") or importlib.util.find_spec("django_tasks_rq") is None:
        raise ImproperlyConfigured(
            "TASKS_BACKEND=rq needs REDIS_URL and the packages django-tasks-rq, django-rq "
            "and rq (pip install django-tasks-rq==0.12.0)"
        )
    INSTALLED_APPS.append("django_rq")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    # RQ stops a job after 180 s by default; an import of the whole corpus takes longer.
    RQ_QUEUES = {"default": {"URL": os.environ["REDIS_URL"], "DEFAULT_TIMEOUT": 3 * 3600}}
    # The backend's own job class (it knows the task behind a job): without it the worker
    # calls the Task object itself and fails every job.
    RQ = {"JOB_CLASS": "django_tasks_rq.backend.Job"}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

#: How long a rendered page stays in the cache (seconds; default a week). A change makes
#: the pages that show it stale at once, in every process (articles.caching), so this only
#: bounds how long pages nobody asks for take room.
PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", str(7 * 24 * 3600)))
#: How often (seconds) the page cache reads the publication schedule from the database
#: again, besides when a scheduled article is due (articles.changes.publish_due).
PAGE_SCHEDULE_CHECK_SECONDS = int(os.environ.get("PAGE_SCHEDULE_CHECK_SECONDS", "300"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Log-in throttling (django-axes): 5 failed log-ins for one username from one address lock
# that pair out for 15 minutes (answered 429); a success clears the count. Keyed by the pair,
# so a stranger guessing an editor's password cannot lock the editor out everywhere.
AUTHENTICATION_BACKENDS = [
    "quicktakes.auth.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "quicktakes.auth.client_ip"
#: Addresses of the reverse proxies whose X-Forwarded-For is believed (gunicorn's variable).
TRUSTED_PROXIES = env_list("FORWARDED_ALLOW_IPS", ["127.0.0.1"])

# Headers safe in every environment, tests included (HTTPS-only ones: quicktakes.production).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): everything from this site only, no inline script or
# style anywhere (templates load static/js and static/css). JSON-LD blocks are data, which
# the policy does not govern. Pages may not be framed, nor forms post elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF],
        "style-src": [CSP_SELF],
        "img-src": [CSP_SELF],
        "font-src": [CSP_SELF],
        "connect-src": [CSP_SELF],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_SELF],
        "form-action": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# Uploaded files (imports waiting for confirmation, images in answers): Django's storage
# API, a folder by default.
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
#: The largest upload the import page accepts (bytes, all files of one request together);
#: checked from the request's Content-Length before its body is read.
IMPORT_UPLOAD_MAX_BYTES = int(os.environ.get("IMPORT_UPLOAD_MAX_BYTES", 256 * 1024 * 1024))

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Several app servers need one storage they all see: with MEDIA_BUCKET set, uploaded files
# go to that S3 bucket (MEDIA_BUCKET_ENDPOINT_URL for another S3-compatible server, MinIO
# say; MEDIA_BUCKET_REGION; MEDIA_BUCKET_PREFIX, a folder inside the bucket). Credentials
# come from boto3's usual places (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, an instance
# role). Pages keep their /media/ addresses: the proxy serves /media/images/ and
# /media/cards/ from the bucket. Needs django-storages and boto3 besides requirements.txt,
# and is refused at start-up without them.
if os.environ.get("MEDIA_BUCKET"):
    if not all(importlib.util.find_spec(name) for name in ("storages", "boto3")):
        raise ImproperlyConfigured(
            "MEDIA_BUCKET needs the packages django-storages and boto3 "
            "(pip install 'django-storages[s3]==1.14.6' boto3==1.44.5)"
        )
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["MEDIA_BUCKET"],
            "endpoint_url": os.environ.get("MEDIA_BUCKET_ENDPOINT_URL") or None,
            "region_name": os.environ.get("MEDIA_BUCKET_REGION") or None,
            "location": os.environ.get("MEDIA_BUCKET_PREFIX", ""),
            # Servers other than AWS (MinIO) want the bucket in the path, not the host name.
            "addressing_style": os.environ.get("MEDIA_BUCKET_ADDRESSING_STYLE")
            or ("path" if os.environ.get("MEDIA_BUCKET_ENDPOINT_URL") else None),
            # A private bucket, read through the proxy; a name is never written twice.
            "default_acl": None,
            "file_overwrite": False,
        },
    }

# Django reports a server error (500) on the console itself only with DEBUG; in production
# it would mail ADMINS, when there are any. The "errors" handler writes the traceback to
# stderr (gunicorn's error log, the journal) when DEBUG is off, so no 500 goes unrecorded.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "errors": {"class": "logging.StreamHandler", "filters": ["require_debug_false"]},
    },
    "loggers": {
        "articles": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
        "django.request": {"handlers": ["errors"], "level": "ERROR"},
    },
}
