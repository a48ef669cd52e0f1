"""WSGI entry point: ``gunicorn quicktakes.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

from quicktakes.startup import load_settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quicktakes.settings")
load_settings()

application = get_wsgi_application()
