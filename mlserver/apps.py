from django.apps import AppConfig


class MlserverConfig(AppConfig):
    name = "mlserver"

    def ready(self) -> None:
        from mlserver import signals  # noqa: F401 - connects receivers
