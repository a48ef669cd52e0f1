"""Serves moved addresses: a request that would answer 404 gets the 301 a ``Redirect`` row
names, in one hop: to the new page's clean address (see articles.caching.clean_address).

Only missing addresses are redirected, so an article that still stands at an old address is
served (with its canonical link); pages that answer never cost a query here.
"""

from django.http import HttpResponsePermanentRedirect

from articles.caching import clean_address
from articles.models import Redirect

#: Every address a Redirect row can start from lives under this prefix.
REDIRECTED_PREFIX = "/learn/"


class RedirectFallbackMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code != 404
            or request.method not in ("GET", "HEAD")
            or not request.path_info.startswith(REDIRECTED_PREFIX)
        ):
            return response
        new_path = (
            Redirect.objects.filter(old_path=request.path_info)
            .values_list("new_path", flat=True)
            .first()
        )
        if new_path is None:
            return response
        return HttpResponsePermanentRedirect(clean_address(new_path, request.GET))
