"""What a map build's admin page and the comparison of two builds show, as data for their templates.

The figures a build records are only readable against something: each measure is shown beside the
other layout of the same build and beside openTSNE's figures measured on known data (the
``ANCHORS``, from docs/decisions/), so a curator can tell a normal build from a poor one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from collection.models import Artwork
from maps.compare import neighbour_change
from maps.models import Cluster, DecadeWork, MapBuild


@dataclass(frozen=True)
class Anchor:
    value: float
    what: str


_REAL_ART = "docs/decisions/features-on-real-art.md"
_PLACEMENT = "docs/decisions/parametric-placement.md"
# openTSNE's own figures, measured with the same metrics (k = 10) on the development sets.
ANCHORS: dict[str, list[Anchor]] = {
    "trustworthiness": [
        Anchor(0.975, f"openTSNE, 4,200 real paintings, fine-tuned features ({_REAL_ART})"),
        Anchor(0.945, f"openTSNE, 4,200 real paintings, pretrained features ({_REAL_ART})"),
    ],
    "knn_recall": [
        Anchor(0.421, f"openTSNE, 4,200 real paintings, fine-tuned features ({_REAL_ART})"),
        Anchor(0.309, f"openTSNE, 4,200 real paintings, pretrained features ({_REAL_ART})"),
        Anchor(0.607, f"openTSNE, 5,000 synthetic clustered works (bench/map_quality.py, {_PLACEMENT})"),
        Anchor(0.53, f"openTSNE, 100,000 synthetic works ({_PLACEMENT})"),
    ],
}
PLACED_ANCHORS: dict[str, list[Anchor]] = {
    "knn_recall": [
        Anchor(0.520, f"works placed by this platform, 5,000 synthetic works ({_PLACEMENT})"),
        Anchor(0.505, f"openTSNE transform, 5,000 synthetic works ({_PLACEMENT})"),
    ],
}
MEASURES = {
    "trustworthiness": _("Trustworthiness (are works close on the map close in features? 1 = always)"),
    "knn_recall": _("kNN recall (share of each work's 10 nearest in features that are its 10 nearest on the map)"),
    "knn_accuracy": _("kNN style accuracy (the style of a work's map neighbours is its own)"),
    "kl_first": _("Network KL divergence, first step"),
    "kl_last": _("Network KL divergence, last step"),
    "n_points": _("Points measured"),
    "n_evaluated": _("Points evaluated"),
}
LAYOUTS = ("parametric", "opentsne")


def metrics_rows(build: MapBuild) -> list[dict[str, Any]]:
    """One row per measure: the network's layout, openTSNE's, and the anchors it is judged against."""
    names = [n for n in MEASURES if any(n in build.metrics.get(layout, {}) for layout in LAYOUTS)]
    return [
        {
            "name": name,
            "label": MEASURES[name],
            "values": [build.metrics.get(layout, {}).get(name) for layout in LAYOUTS],
            "anchors": ANCHORS.get(name, []),
        }
        for name in names
    ]


def placed_rows(build: MapBuild) -> list[dict[str, Any]]:
    m = build.placed_metrics or {}
    return [
        {"name": name, "label": MEASURES.get(name, name), "value": m[name], "anchors": PLACED_ANCHORS.get(name, [])}
        for name in ("trustworthiness", "knn_recall", "n_points")
        if name in m
    ]


def params_rows(params: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested parameters flattened to ``("parametric.kl_steps", [100, 100])`` rows, sorted."""
    rows: list[tuple[str, Any]] = []
    for key in sorted(params):
        value, name = params[key], f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows.extend(params_rows(value, f"{name}."))
        else:
            rows.append((name, value))
    return rows


def thumb_url(work: Artwork) -> str | None:
    """The work's thumbnail, signed while the work is not public."""
    if work.image is None:
        return None
    return work.image.url("thumb", signed=not work.published and not work.image.shown_publicly())


def decades(build: MapBuild) -> list[dict[str, Any]]:
    """Per decade, its typical and outlier works (``DecadeWork``) with thumbnails and links, oldest decade first."""
    by_decade: dict[int, dict[str, Any]] = {}
    rows = DecadeWork.objects.filter(build=build).select_related("artwork__image").order_by("decade", "kind", "rank")
    for row in rows:
        entry = by_decade.setdefault(
            row.decade, {"decade": row.decade, "count": row.decade_count, "typical": [], "outlier": []}
        )
        entry[row.kind].append(
            {
                "title": row.artwork.title,
                "thumb": thumb_url(row.artwork),
                "url": reverse("admin:collection_artwork_change", args=[row.artwork_id]),
                "distance": row.distance,
            }
        )
    return list(by_decade.values())


def build_page(build: MapBuild) -> dict[str, Any]:
    from maps.dashboard import preview_url

    return {
        "metrics_rows": metrics_rows(build),
        "layout": build.metrics.get("layout", ""),
        "layouts": LAYOUTS,
        "placed_rows": placed_rows(build),
        "params_rows": params_rows(build.params),
        "map_params_rows": params_rows(build.map.params),
        "clusters": list(Cluster.objects.filter(build=build).order_by("-size", "label")),
        "decades": decades(build),
        "preview": preview_url(build),
        "is_live": build.map.live_build_id == build.pk,
        "others": list(build.map.builds.exclude(pk=build.pk).order_by("-version")),
    }


def _points(build: MapBuild) -> dict[tuple[int, int | None], tuple[float, float]]:
    return {(a, f): (x, y) for a, f, x, y in build.points.values_list("artwork_id", "face_id", "x", "y")}


def comparison(a: MapBuild, b: MapBuild) -> dict[str, Any]:
    """Two builds side by side: their measures, clusters, and how many works found new neighbours."""
    pa, pb = _points(a), _points(b)
    common = sorted(pa.keys() & pb.keys(), key=lambda k: (k[0], k[1] or 0))
    change = neighbour_change(np.array([pa[k] for k in common]), np.array([pb[k] for k in common]))
    rows = []
    for name, label in MEASURES.items():
        values = [build.metrics.get(layout, {}).get(name) for build in (a, b) for layout in LAYOUTS]
        if any(v is not None for v in values):
            rows.append({"label": label, "values": values, "anchors": ANCHORS.get(name, [])})
    return {
        "a": a,
        "b": b,
        "rows": rows,
        "layouts": LAYOUTS,
        "clusters": [a.clusters.count(), b.clusters.count()],
        "points": [len(pa), len(pb)],
        "common": len(common),
        "change": change,
    }
