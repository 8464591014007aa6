from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    # The package was called mlserver until the stages were renamed; the label keeps its tables, migrations,
    # content types and permissions as they were, so an upgrade migrates nothing.
    name = "analysis"
    label = "mlserver"
    verbose_name = "Analysis"

    def ready(self) -> None:
        from analysis import signals  # noqa: F401 - connects receivers
        from analysis.dashboard import PANEL_TITLE, feature_model_panel
        from analysis.works_api import extend_works_api
        from collection.dashboard import add_dashboard_panel

        extend_works_api()
        add_dashboard_panel("feature-model", PANEL_TITLE, feature_model_panel, order=20)
