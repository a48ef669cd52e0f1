"""The 404 and 500 pages, answering even when the static files manifest is missing.

The styled templates link the stylesheet through ``{% static %}``; with the manifest
storage and no ``collectstatic`` run, that raises, and Django's own handler would then
answer every error with a bare 500 of its own. These handlers fall back to a plain page
(no stylesheet) so the reader still gets the right status and a way back to /learn.
The deploy check quicktakes.E001 (quicktakes.checks) reports the missing manifest.
"""

import logging

from django.http import HttpResponseNotFound, HttpResponseServerError
from django.views import defaults

logger = logging.getLogger("django.request")

_PLAIN_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="robots" content="noindex"><title>{title} | QuickTakes Learn</title></head>'
    '<body><h1>{title}</h1><p><a href="/learn">Browse all subjects</a></p></body></html>'
)


def page_not_found(request, exception):
    """The styled 404 page, or a plain one when the templates cannot render."""
    try:
        return defaults.page_not_found(request, exception)
    except Exception:
        logger.exception("the 404 page could not render; answering a plain one")
        return HttpResponseNotFound(_PLAIN_PAGE.format(title="Page not found"))


def server_error(request):
    """The styled 500 page, or a plain one when the templates cannot render."""
    try:
        return defaults.server_error(request)
    except Exception:
        logger.exception("the 500 page could not render; answering a plain one")
        return HttpResponseServerError(_PLAIN_PAGE.format(title="Something went wrong"))
