"""Log-in throttling glue for django-axes: its lock-out check as an authentication backend,
and the client address it locks out, seen through the reverse proxy.

django-axes records the attempts and answers a locked-out log-in with 429; nothing here
authenticates anyone or keeps state.
"""

from axes.backends import AxesStandaloneBackend
from django.conf import settings


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' lock-out check; first in AUTHENTICATION_BACKENDS.

    ``authenticate()`` called without a request (a script, the test client's ``login()``)
    cannot come from the network, so there is nothing to throttle: the call goes on to the
    next backend instead of failing, as django-axes' own backend makes it fail.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request):
    """The address a request came from, for lock-outs keyed by username and address.

    ``REMOTE_ADDR``, unless that is one of ``settings.TRUSTED_PROXIES``: then the right-most
    address of ``X-Forwarded-For`` that is not a trusted proxy itself. Each proxy appends the
    address it received the request from, so whatever a client writes into the header stays
    on the left and cannot choose the address it is locked out under. Returns a str.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = set(settings.TRUSTED_PROXIES)
    if remote not in trusted:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return remote
