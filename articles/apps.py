from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _after_migrate(sender, using, **kwargs):
    # Imported late, as Django asks of models: they are only ready once apps are.
    from articles import search  # noqa: PLC0415

    search.ensure_triggers(using)


class ArticlesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "articles"
    verbose_name = "Learn articles"

    def ready(self):
        # Signal receivers and checks are wired once the app registry is ready.
        from articles import changes  # noqa: PLC0415
        from quicktakes import checks  # noqa: F401, PLC0415 (registers the deploy checks)

        changes.connect()
        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="articles.search.triggers")
