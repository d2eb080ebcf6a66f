from django.apps import AppConfig


class PipelineConfig(AppConfig):
    """Registers the pipeline's management commands (the matcher and the persister)."""

    name = "pipeline"
    verbose_name = "Order pipeline"
