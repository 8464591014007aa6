from django.apps import AppConfig


class MapsConfig(AppConfig):
    # The package was called embeddings until the stages were renamed; the label keeps its tables, migrations,
    # content types and permissions as they were, so an upgrade migrates nothing.
    name = "maps"
    label = "embeddings"
    verbose_name = "Maps"

    def ready(self) -> None:
        from collection.dashboard import add_dashboard_panel
        from maps import signals  # noqa: F401 - connects receivers
        from maps.dashboard import PANEL_TITLE, live_maps_panel

        add_dashboard_panel("live-maps", PANEL_TITLE, live_maps_panel, order=10)
