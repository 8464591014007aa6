from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every stage uses (jobs, the retry policy, the publication signal); imports no stage."""

    name = "core"
    label = "core"
