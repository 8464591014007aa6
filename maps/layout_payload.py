"""The map's other layouts as the points endpoint serves them (``?layout=grid|timeline|group``).

The grid is the build's own (cells stored per point by the build and by placements); builds made
before it get one laid out here. The timeline and the blocks by group depend on which works the
viewer sees and on their catalogue data, so they are laid out here from the visible points, in
the same order as the default payload's ``ids``, and cached with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db.models import QuerySet

from collection.models import Artwork, Classification, Label
from maps.layouts import Frame, grid_layout, group_layout, nearest_free_cell, normalise, timeline_layout
from maps.models import MapBuild, MapPoint

LAYOUTS = ("tsne", "grid", "timeline", "group")
MIN_GROUPS = 2


def _groups(artwork_ids: list[int]) -> tuple[str, list[str | None]] | None:
    """What the blocks are: the classification where the works span several, else their style label."""
    classes = dict(Artwork.objects.filter(pk__in=artwork_ids).values_list("pk", "classification"))
    by_class = [classes.get(a) or None for a in artwork_ids]
    if len({c for c in by_class if c}) >= MIN_GROUPS:
        return "classification", by_class
    styles: dict[int, str] = {}
    rows = Artwork.labels.through.objects.filter(artwork_id__in=artwork_ids, label__kind=Label.Kind.STYLE)
    for artwork_id, name in rows.order_by("label__name").values_list("artwork_id", "label__name"):
        styles.setdefault(artwork_id, name)
    by_style = [styles.get(a) for a in artwork_ids]
    if len({s for s in by_style if s}) >= MIN_GROUPS:
        return "style", by_style
    return None


def available_layouts(points: QuerySet[MapPoint]) -> list[str]:
    """The layouts the data supports: a timeline needs dated works, blocks need two groups or more."""
    out = ["tsne", "grid"]
    works = Artwork.objects.filter(pk__in=points.values("artwork_id"))
    if works.exclude(decade=None).exists():
        out.append("timeline")
    if works.exclude(classification="").values("classification").distinct().count() >= MIN_GROUPS:
        out.append("group")
    elif Label.objects.filter(kind=Label.Kind.STYLE, artworks__in=works).distinct().count() >= MIN_GROUPS:
        out.append("group")
    return out


def _grid_cells(build: MapBuild, coords: np.ndarray, stored: list[tuple[int | None, int | None]]) -> np.ndarray:
    """The stored cells; points without one take the free cell nearest them, or all are laid out afresh."""
    record = build.params.get("grid")
    missing = [i for i, (gx, _) in enumerate(stored) if gx is None]
    if record is None or len(missing) == len(stored):
        return grid_layout(coords).cells.astype(np.float64)
    frame = Frame.from_dict(record)
    cells = np.array([(gx or 0, gy or 0) for gx, gy in stored], dtype=np.float64)
    occupied = {(int(gx), int(gy)) for gx, gy in stored if gx is not None and gy is not None}
    for i in missing:
        cell = nearest_free_cell(frame.to_lattice(coords[i]), occupied)
        occupied.add(cell)
        cells[i] = cell
    return cells


def layout_payload(points: QuerySet[MapPoint], key: str, build: MapBuild, layout: str, scale: int) -> dict[str, Any]:
    """x and y per point in [-scale, scale] integers, the cell pitch, and the layout's named regions."""
    rows = list(points.order_by(key).values_list("x", "y", "gx", "gy", "artwork_id", "artwork__decade"))
    coords = np.array([(r[0], r[1]) for r in rows], dtype=np.float64).reshape(-1, 2)
    extra: dict[str, Any] = {}
    regions: list[dict[str, Any]] = []
    if layout == "grid":
        cells = _grid_cells(build, coords, [(r[2], r[3]) for r in rows])
    elif layout == "timeline":
        arranged = timeline_layout(coords, [r[5] for r in rows])
        cells, regions = arranged.cells, arranged.regions
    else:
        grouped = _groups([r[4] for r in rows])
        if grouped is None:
            grouped = ("none", [None] * len(rows))
        arranged = group_layout(coords, grouped[1])
        cells, regions = arranged.cells, arranged.regions
        extra["group_by"] = grouped[0]
    xy, pitch, regions = normalise(cells, regions)
    return {
        "layout": layout,
        "scale": scale,
        "x": [round(v * scale) for v in xy[:, 0].tolist()],
        "y": [round(v * scale) for v in xy[:, 1].tolist()],
        "cell": round(pitch * scale, 2),
        "regions": [{k: round(v, 5) if isinstance(v, float) else v for k, v in region.items()} for region in regions],
        **extra,
    }


def translate_regions(payload: dict[str, Any]) -> dict[str, Any]:
    """Classification blocks named in the request's language (the cached payload holds the values)."""
    if payload.get("group_by") != "classification":
        return payload
    names = dict(Classification.choices)
    regions = [{**r, "name": str(names.get(r["label"], r["label"]))} for r in payload["regions"]]
    return {**payload, "regions": regions}
