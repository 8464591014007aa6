from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CollectionConfig(AppConfig):
    name = "collection"
    default = True

    def ready(self) -> None:
        from collection import signals  # noqa: F401 - connects receivers


class CuratorAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "collection.sites.CuratorAdminSite"
