from django.apps import AppConfig


class MatchingConfig(AppConfig):
    """Registers the matcher's management commands; the engine core knows nothing of Django."""

    name = "matching"
    verbose_name = "Matching"
