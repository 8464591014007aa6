"""The curators' admin site.

It lives apart from collection/admin.py on purpose: Django builds the default
admin site by importing this class, and if the class sat in a module that also
registers models, that import would build a first site, register the
collection's models on it, and then be replaced by a second, empty one.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class CuratorAdminSite(admin.AdminSite):
    """Staff alone is not enough: curators must also be in the curators group (or superusers)."""

    site_header = _("Collection map — curators")
    site_title = _("Collection map")
    index_title = _("Collection")

    def has_permission(self, request: HttpRequest) -> bool:
        from collection.models import is_curator

        return super().has_permission(request) and is_curator(request.user)
