"""The curators' admin site.

It lives apart from collection/admin.py on purpose: Django builds the default
admin site by importing this class, and if the class sat in a module that also
registers models, that import would build a first site, register the
collection's models on it, and then be replaced by a second, empty one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

# Says, in a curator's words, what an optional part lacks and which setting turns it on; None when all is well.
Notice = Callable[[], "str | None"]
_notices: list[Notice] = []


def add_notice(notice: Notice) -> None:
    """Later stages (object detection in analysis) report on the index page without collection importing them."""
    if notice not in _notices:
        _notices.append(notice)


def optional_part_notices() -> list[str]:
    return [text for notice in _notices if (text := notice())]


class CuratorAdminSite(admin.AdminSite):
    """Staff alone is not enough: curators must also be in the curators group (or superusers)."""

    site_header = _("Collection map — curators")
    site_title = _("Collection map")
    index_title = _("Collection")
    index_template = "admin/curator_index.html"

    def has_permission(self, request: HttpRequest) -> bool:
        from collection.models import is_curator

        return super().has_permission(request) and is_curator(request.user)

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        """The dashboard, and the one place messages about optional parts appear: once here, not above every list."""
        from collection.dashboard import dashboard_context

        context = {"optional_parts": optional_part_notices(), "dashboard": dashboard_context(request)}
        return super().index(request, {**context, **(extra_context or {})})
