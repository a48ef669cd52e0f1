"""Deploy checks of the site's own (``manage.py check --deploy``).

quicktakes.E001: with DEBUG off and a manifest static files storage, the manifest that
``collectstatic`` writes must exist, or every page that links a stylesheet fails.
"""

from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.files.storage import storages


@register(Tags.staticfiles, deploy=True)
def check_static_manifest(app_configs=None, **kwargs):
    """Error quicktakes.E001 when the static files manifest is missing (list of Errors)."""
    if settings.DEBUG:
        return []
    storage = storages["staticfiles"]
    manifest_name = getattr(storage, "manifest_name", None)
    if manifest_name is None:
        return []
    manifest = Path(settings.STATIC_ROOT) / manifest_name
    if manifest.is_file():
        return []
    return [
        Error(
            f"The static files manifest {manifest} is missing: pages cannot link their "
            "stylesheet and answer 500.",
            hint="Run `manage.py collectstatic --noinput` as part of every deploy.",
            id="quicktakes.E001",
        )
    ]
