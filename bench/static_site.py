"""The static reference for the long-tail benchmark: whitenoise serving a Hugo build
(``HUGO_PUBLIC``, Hugo's ``public/`` folder) through gunicorn, as the site itself serves its
static files. ``/a/b/`` answers ``/a/b/index.html``; anything else is 404."""

import os

from whitenoise import WhiteNoise


def _not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


application = WhiteNoise(_not_found, root=os.environ["HUGO_PUBLIC"], index_file=True)
