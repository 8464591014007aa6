from django.apps import AppConfig


class EmbeddingsConfig(AppConfig):
    name = "embeddings"

    def ready(self) -> None:
        from embeddings import signals  # noqa: F401 - connects receivers
