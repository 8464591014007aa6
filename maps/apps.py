from django.apps import AppConfig


class MapsConfig(AppConfig):
    # The package was called embeddings until the stages were renamed; the label keeps its tables, migrations,
    # content types and permissions as they were, so an upgrade migrates nothing.
    name = "maps"
    label = "embeddings"
    verbose_name = "Maps"

    def ready(self) -> None:
        from maps import signals  # noqa: F401 - connects receivers
