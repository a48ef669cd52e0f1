from django.apps import AppConfig


class ArticlesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "articles"
    verbose_name = "Learn articles"

    def ready(self):
        from articles import caching

        caching.connect_signals()
