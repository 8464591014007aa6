from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from embeddings.models import Map, MapBuild


def _metrics_table(metrics: dict) -> str:
    if not metrics:
        return "—"
    return format_html("<pre style='margin:0'>{}</pre>", json.dumps(metrics, indent=1, default=str))


@admin.register(Map)
class MapAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "subject", "classification", "live_version", "live_quality"]
    readonly_fields = ["live_build", "live_metrics", "created"]
    prepopulated_fields = {"slug": ["title"]}
    actions = ["rebuild"]

    @admin.display(description=_("Live build"))
    def live_version(self, obj: Map) -> str:
        return f"v{obj.live_build.version}" if obj.live_build else "—"

    @admin.display(description=_("Trustworthiness / kNN recall"))
    def live_quality(self, obj: Map) -> str:
        m = obj.live_build.layout_metrics if obj.live_build else {}
        if not m:
            return "—"
        return f"{m.get('trustworthiness', 0):.3f} / {m.get('knn_recall', 0):.3f}"

    @admin.display(description=_("Quality metrics"))
    def live_metrics(self, obj: Map) -> str:
        if not obj.live_build:
            return "—"
        return _metrics_table({"fitted": obj.live_build.metrics, "placed after build": obj.live_build.placed_metrics})

    @admin.action(description=_("Rebuild selected maps (in the background)"))
    def rebuild(self, request: HttpRequest, queryset: QuerySet) -> None:
        from embeddings.tasks import enqueue_build

        jobs = [enqueue_build(m.pk) for m in queryset]
        self.message_user(
            request, _("%(n)d map builds queued; follow them under Jobs.") % {"n": len(jobs)}, messages.SUCCESS
        )


@admin.register(MapBuild)
class MapBuildAdmin(admin.ModelAdmin):
    list_display = ["map", "version", "status", "n_points", "feature_version", "created", "finished"]
    list_filter = ["map", "status"]
    readonly_fields = [f.name for f in MapBuild._meta.fields] + ["metrics_table"]
    exclude = ["metrics", "placed_metrics"]

    @admin.display(description=_("Quality metrics"))
    def metrics_table(self, obj: MapBuild) -> str:
        return _metrics_table({"fitted": obj.metrics, "placed after build": obj.placed_metrics})
