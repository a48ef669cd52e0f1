"""Template context every page needs: the site's name and absolute base URL."""

from django.conf import settings


def site(request):
    return {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL}
