from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from collection.admin import add_artwork_section
from collection.models import Artwork
from maps.models import Map, MapBuild, MapPoint

NEIGHBOURS_SHOWN = 8


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
        from maps.tasks import enqueue_build

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


def on_the_maps(work: Artwork) -> str | None:
    """Where a work sits on each live map: the public link (published works only) and its nearest works there.

    Neighbours by distance on the map itself, unpublished ones included: it is what a curator looks at to
    judge the layout around the work, which the similar-works index (published works only) would not show.
    """
    if work.pk is None or work.image_id is None:
        return None
    points = (
        MapPoint.objects.filter(
            artwork=work, face=None, build__map__live_build=F("build"), build__map__subject=Map.Subject.ARTWORKS
        )
        .select_related("build__map")
        .order_by("build__map__slug")
    )
    parts = [_map_part(work, point) for point in points]
    return format_html_join("", "{}", ((part,) for part in parts)) if parts else None


def _map_part(work: Artwork, point: MapPoint) -> str:
    map_ = point.build.map
    link = (
        format_html(
            '<a class="public-map-link" href="{}?{}">{}</a>',
            reverse("frontend:home"),
            urlencode({"map": map_.slug, "sel": work.pk}),
            _("Show on the public map"),
        )
        if work.published
        else _("Not on the public map while unpublished.")
    )
    # The map page in curator mode: its API then serves unpublished works too, to curators only (maps/api.py).
    curator_link = format_html(
        '<a class="curator-map-link" href="{}?{}">{}</a>',
        reverse("frontend:home"),
        urlencode({"map": map_.slug, "sel": work.pk, "curator": 1}),
        _("Show on the map (curator view, including unpublished works)"),
    )
    return format_html(
        '<div class="map-place"><p><strong>{}</strong> (v{}, {}): {} · {}</p><div class="map-neighbours">{}</div></div>',
        map_.title,
        point.build.version,
        _("placed after the build") if point.placed else _("fitted in the build"),
        link,
        curator_link,
        _neighbours(point),
    )


def _neighbours(point: MapPoint) -> str:
    dx, dy = F("x") - point.x, F("y") - point.y
    nearest = (
        MapPoint.objects.filter(build=point.build, face=None)
        .exclude(artwork_id=point.artwork_id)
        .annotate(d2=dx * dx + dy * dy)
        .order_by("d2", "pk")
        .select_related("artwork__image")[:NEIGHBOURS_SHOWN]
    )
    return format_html_join(
        "",
        '<a class="map-neighbour" href="{}" title="{}"><img src="{}" alt="{}" style="max-height:96px;margin:2px" '
        'loading="lazy"></a>',
        (
            (reverse("admin:collection_artwork_change", args=[p.artwork_id]), p.artwork.title, url, p.artwork.title)
            for p in nearest
            if (url := _thumb(p.artwork))
        ),
    )


def _thumb(work: Artwork) -> str | None:
    if work.image is None:
        return None
    return work.image.url("thumb", signed=not work.published and not work.image.shown_publicly())


add_artwork_section(_("On the map"), on_the_maps)
