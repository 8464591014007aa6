from django.apps import AppConfig


class MlserverConfig(AppConfig):
    name = "mlserver"

    def ready(self) -> None:
        from mlserver import signals  # noqa: F401 - connects receivers
        from mlserver.works_api import extend_works_api

        extend_works_api()
