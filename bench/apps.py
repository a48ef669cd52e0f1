from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Only management commands: no models, no URLs, no templates."""

    name = "bench"
    verbose_name = "Benchmarks"
