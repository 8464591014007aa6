from django.apps import AppConfig


class PipelineConfig(AppConfig):
    """The one place that knows every stage of a work, in order (pipeline.stages); it may import every stage."""

    name = "pipeline"

    def ready(self) -> None:
        from pipeline import signals  # noqa: F401 - connects receivers
