"""Jobs in the curators' admin: what runs in the background, and how far it got."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["kind", "target", "status", "progress_bar", "message", "created", "finished"]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in Job._meta.fields]

    @admin.display(description=_("Progress"))
    def progress_bar(self, obj: Job) -> str:
        return format_html(
            '<progress value="{}" max="{}" title="{}/{}"></progress> {}%',
            obj.done,
            obj.total or 1,
            obj.done,
            obj.total,
            obj.percent,
        )
