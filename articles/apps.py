from django.apps import AppConfig


class ArticlesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "articles"
    verbose_name = "Learn articles"

    def ready(self):
        # Imported here, as Django asks: models are only ready from now on.
        from articles import changes

        changes.connect()
