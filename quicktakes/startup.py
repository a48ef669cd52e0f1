"""Starting a process (manage.py, the WSGI application) with a one-line refusal.

Settings that cannot work (production without SECRET_KEY or SITE_URL, DEBUG on) raise
ImproperlyConfigured while Django loads them. Here that becomes one line on stderr and
exit status 3, which gunicorn's arbiter reads as "the worker cannot boot" and stops
instead of restarting workers for ever; not a 50-line traceback.
"""

import sys

from django.core.exceptions import ImproperlyConfigured

#: gunicorn's exit status for a worker that failed to boot (Arbiter.WORKER_BOOT_ERROR).
REFUSED_STATUS = 3


def load_settings():
    """Load the settings module (DJANGO_SETTINGS_MODULE); exit with one line when refused."""
    from django.conf import settings  # noqa: PLC0415 (the settings load here, refusals caught)

    try:
        settings.INSTALLED_APPS  # noqa: B018 (loads the module)
    except ImproperlyConfigured as error:
        print(f"Refusing to start: {error}", file=sys.stderr)
        raise SystemExit(REFUSED_STATUS) from None
