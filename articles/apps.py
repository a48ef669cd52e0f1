from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _after_migrate(sender, using, **kwargs):
    # Imported late, as Django asks of models: they are only ready once apps are.
    from articles import search

    search.ensure_triggers(using)


class ArticlesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "articles"
    verbose_name = "Learn articles"

    def ready(self):
        from articles import changes
        from quicktakes import checks  # noqa: F401 (registers the deploy checks)

        changes.connect()
        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="articles.search.triggers")
