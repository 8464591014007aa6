"""The live maps on the curators' dashboard: each one's build, quality, and a small picture of it.

Registered by ``MapsConfig.ready()`` through ``collection.dashboard.add_dashboard_panel``, so
collection's admin index shows it without importing this stage.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from collection import storage
from maps.models import Map, MapBuild
from maps.preview import PREVIEW_VERSION, render_preview

log = logging.getLogger(__name__)


def preview_key(build: MapBuild) -> str:
    """Private (the dots include unpublished works), per build and drawing version: never stale, pruned with it."""
    return f"previews/{build.map.slug}/v{build.version}-b{build.pk}-r{PREVIEW_VERSION}.png"


def preview_url(build: MapBuild) -> str | None:
    """A signed URL of the build's preview, drawn and stored on first request; None if it cannot be had."""
    key = preview_key(build)
    try:
        if not storage.exists("private", key):
            rows = np.array(build.points.order_by("pk").values_list("x", "y", "cluster"), dtype=object)
            coords = rows[:, :2].astype(np.float64) if len(rows) else np.zeros((0, 2))
            clusters = np.array([-1 if c is None else c for c in rows[:, 2]] if len(rows) else [], dtype=np.int64)
            storage.put("private", key, render_preview(coords, clusters))
        return storage.private_url(key)
    except Exception as exc:  # noqa: BLE001 - a missing picture must not take the admin index down
        log.warning("no preview of %s: %s", build, exc)
        return None


def live_maps() -> list[dict[str, Any]]:
    rows = []
    for map_obj in Map.objects.select_related("live_build").order_by("slug"):
        build = map_obj.live_build
        rows.append({"map": map_obj, "build": build, **(build_summary(build) if build else {})})
    return rows


def build_summary(build: MapBuild) -> dict[str, Any]:
    """What the dashboard and the comparison show of a build's quality: the layout visitors see."""
    metrics = build.layout_metrics
    return {
        "layout": build.metrics.get("layout", "parametric"),
        "trustworthiness": metrics.get("trustworthiness"),
        "knn_recall": metrics.get("knn_recall"),
        "url": reverse("admin:embeddings_mapbuild_change", args=[build.pk]),
        "preview": preview_url(build),
    }


def live_maps_panel(request: HttpRequest) -> str | None:
    if not request.user.has_perm("embeddings.view_map"):
        return None
    return render_to_string(
        "admin/dashboard/live_maps.html",
        {"maps": live_maps(), "maps_url": reverse("admin:embeddings_map_changelist")},
        request=request,
    )


PANEL_TITLE = _("Live maps")
