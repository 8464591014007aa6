"""New works (and faces) on the live maps, without moving any other point (worker side).

A work added after a build starts where the build's parametric network puts it and is refined
against the build's fixed fitted works (the algorithm is :mod:`maps.placement`; this module
loads what it needs from the database and storage and writes the points); where it would cover a
point already there, it moves to the nearest free spot (:mod:`maps.spacing`). The pipeline's last
stage places each processed work; the faces stage's signal places its faces; a build going live
places the works that got their vectors while it was built (:func:`place_missing`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
from django.db import models, transaction

from analysis.models import Embedding, Face, FeatureModel
from analysis.vectors import face_vectors, work_vectors
from collection import storage
from collection.models import Artwork
from core.stamp import bump_stamp
from maps.layouts import Frame, nearest_free_cell
from maps.models import Map, MapBuild, MapPoint
from maps.placement import PlacementParams, Placer, Reference
from maps.spacing import GAP_SHARE, median_gap, nearest_free
from maps.tasks import schedule_statistics_refresh

log = logging.getLogger(__name__)


def placement_params(params: dict[str, Any]) -> PlacementParams:
    """A map's ``params["placement"]``, its perplexity defaulting to the map's own.

    Raises ValueError saying what is wrong; a build refuses such params before any work.
    """
    given = params.get("placement", {})
    if not isinstance(given, dict):
        raise ValueError('the map\'s params.placement must be an object, e.g. {"n_iter": 0}')
    try:
        return PlacementParams.from_dict({"perplexity": float(params.get("perplexity", 30.0)), **given})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad placement parameters in the map's params: {exc}") from exc


def fitted_reference(build: MapBuild, normalisation: Any) -> Reference | None:
    """The build's fitted points (never those placed since) as vectors and raw map coordinates.

    Placed points are left out so a work's position does not depend on which
    works happened to be added before it. ``None`` when fewer than two points
    still have their vectors (e.g. the features were deleted).
    """
    fitted = build.points.filter(placed=False)
    if build.map.subject == Map.Subject.FACES:
        xy = {f: (x, y) for f, x, y in fitted.values_list("face_id", "x", "y")}
        faces = face_vectors(build.feature_version, Face.objects.filter(pk__in=fitted.values("face_id")))
        keys, X = faces.face_ids, faces.X
    else:
        xy = {a: (x, y) for a, x, y in fitted.values_list("artwork_id", "x", "y")}
        feature_model = FeatureModel.objects.filter(version=build.feature_version).first()
        if feature_model is None:
            return None
        keys, X = work_vectors(feature_model, Artwork.objects.filter(map_points__in=fitted))
    if len(keys) < 2:
        return None
    coords = normalisation.invert(np.array([xy[int(k)] for k in keys], dtype=np.float64))
    return Reference(X, coords)


class GridCells:
    """The build's grid cells taken so far; a new point takes the free cell nearest its t-SNE position.

    Nothing else moves, so the grid can grow holes where works left and grow past its edges where
    many arrive; the next build lays the lattice out afresh. Builds without a grid frame (made
    before it) give no cell: the map API lays their grid out when serving.
    """

    def __init__(self, build: MapBuild, *, exclude: models.Q | None = None) -> None:
        record = build.params.get("grid")
        self.frame = Frame.from_dict(record) if record else None
        self.occupied: set[tuple[int, int]] = set()
        if self.frame is not None:
            points = build.points.exclude(gx=None).exclude(gy=None)
            if exclude is not None:
                points = points.exclude(exclude)
            cells = points.values_list("gx", "gy").iterator(chunk_size=10000)
            self.occupied = {(x, y) for x, y in cells if x is not None and y is not None}

    def take(self, x: float, y: float) -> dict[str, int | None]:
        if self.frame is None:
            return {"gx": None, "gy": None}
        gx, gy = nearest_free_cell(self.frame.to_lattice(np.array([x, y])), self.occupied)
        self.occupied.add((gx, gy))
        return {"gx": gx, "gy": gy}


_placers: dict[int, tuple[int, Placer]] = {}  # build pk -> (fitted points when loaded, placer)


def placer(build: MapBuild) -> Placer:
    """Loaded once per process and build: the fitted vectors are O(works) to read.

    One placer per live map is kept, since one upload is placed on every map
    that covers it; those of builds no longer live are dropped on the next load.
    A fitted point that has gone since (its work deleted, or embedded again and
    so placed anew) makes the count differ and the placer is loaded again, so
    every process refines against the same fitted works.
    """
    from maps.parametric import ParametricTSNE

    fitted = build.points.filter(placed=False).count()
    hit = _placers.get(build.pk)
    if hit is None or hit[0] != fitted:
        net = ParametricTSNE.from_bytes(
            storage.get("private", build.parametric_key), feature_version=build.feature_version
        )
        # the build's own record: a later edit of the map's params applies from its next build
        params = placement_params(
            {
                "perplexity": build.params.get("tsne", {}).get("perplexity", 30.0),
                "placement": build.params.get("placement", {}),
            }
        )
        reference = fitted_reference(build, net.normalisation) if params.n_iter > 0 else None
        hit = (fitted, Placer(net=net, reference=reference, params=params))
        live = set(Map.objects.exclude(live_build=None).values_list("live_build_id", flat=True))
        for pk in [pk for pk in _placers if pk not in live]:
            del _placers[pk]
        _placers[build.pk] = hit
    return hit[1]


_gaps: dict[int, tuple[int, float]] = {}  # build pk -> (fitted points when measured, free gap)


def free_gap(build: MapBuild) -> float:
    """The room kept free around a placed work (:mod:`maps.spacing`), measured once per process and build."""
    fitted = build.points.filter(placed=False)
    count = fitted.count()
    hit = _gaps.get(build.pk)
    if hit is None or hit[0] != count:
        coords = np.array(list(fitted.values_list("x", "y")), dtype=np.float64).reshape(-1, 2)
        hit = (count, GAP_SHARE * median_gap(coords))
        _gaps[build.pk] = hit
    return hit[1]


def settle(build: MapBuild, coords: np.ndarray, field: str, ids: list[int]) -> np.ndarray:
    """Placed positions moved, where they would cover a point already there, to the nearest free spot.

    The positions of one batch count as taken one after another, in the batch's order; a point's own
    earlier position (``field`` = ``ids[i]``, a work placed again) does not count.
    """
    out = np.array(coords, dtype=np.float64).reshape(-1, 2)
    gap = free_gap(build)
    if gap <= 0:
        return out
    reach = gap * 13  # beyond the 24 rings of gap / 2 searched, and the gap around the last
    settled: list[tuple[float, float]] = []
    for i, (x, y) in enumerate(out):
        box = build.points.filter(x__range=(x - reach, x + reach), y__range=(y - reach, y + reach))
        near = list(box.exclude(**{field: ids[i]}).values_list("x", "y")) + settled
        out[i] = nearest_free((x, y), np.array(near, dtype=np.float64).reshape(-1, 2), gap)
        settled.append((float(out[i, 0]), float(out[i, 1])))
    return out


def _live_builds_locked(subject: str) -> Iterator[tuple[Map, MapBuild]]:
    """Each live map of a subject with its live build, read under the map's row lock held for the loop body.

    A build going live takes the same lock to place the works that arrived while it was built
    (``maps.builds.publish_build``), so a placement lands either on the old build before that
    catch-up sees it, or on the new build after the switch, never on the old one alone. The placer
    is loaded before the lock, so the lock is held for one placement only.
    """
    live = Map.objects.filter(subject=subject, live_build__isnull=False).values_list("pk", "live_build")
    for map_pk, build_pk in live:
        build = MapBuild.objects.filter(pk=build_pk).first()
        if build is not None and build.parametric_key:
            placer(build)
        with transaction.atomic():
            map_obj = Map.objects.select_for_update().filter(pk=map_pk).first()
            if map_obj is None or map_obj.live_build_id is None:
                continue
            build = MapBuild.objects.select_related("map").get(pk=map_obj.live_build_id)
            yield map_obj, build


def place_artwork(artwork: Artwork) -> list[MapPoint]:
    """On every live map that covers the work: the network's start, refined among the fitted works.

    No other point moves.
    """
    points: list[MapPoint] = []
    for map_obj, build in _live_builds_locked(Map.Subject.ARTWORKS):
        if not map_obj.covers(artwork) or not build.parametric_key:
            continue
        embedding = Embedding.objects.filter(artwork=artwork, feature_model__version=build.feature_version).first()
        if embedding is None:
            continue
        start = placer(build).place(embedding.array()[None, :].astype(np.float32))
        x, y = settle(build, start, "artwork_id", [artwork.pk])[0]
        cell = GridCells(build, exclude=models.Q(artwork=artwork, face=None)).take(float(x), float(y))
        point, _ = MapPoint.objects.update_or_create(
            build=build, artwork=artwork, defaults={"x": float(x), "y": float(y), "placed": True, **cell}
        )
        points.append(point)
        # Membership changed: decades and the placed-works metrics follow. Both read all the map's
        # vectors (O(works)), so a burst of placements is coalesced into one refresh after commit.
        schedule_statistics_refresh(build.pk)
    return points


def place_faces(artwork: Artwork) -> list[MapPoint]:
    """The work's faces on every live faces map that covers it, placed as works are; no other point moves.

    Only faces found by the build's own face model are placed; the network was
    trained on that model's descriptors and nothing else means the same to it.
    """
    points: list[MapPoint] = []
    for map_obj, build in _live_builds_locked(Map.Subject.FACES):
        if not map_obj.covers(artwork) or not build.parametric_key:
            continue
        faces = list(Face.objects.filter(artwork=artwork, model_version=build.feature_version).order_by("index"))
        if not faces:
            continue
        X = np.stack([face.array() for face in faces]).astype(np.float32)
        coords = settle(build, placer(build).place(X), "face_id", [face.pk for face in faces])
        cells = GridCells(build, exclude=models.Q(face__in=faces))
        with transaction.atomic():
            for face, (x, y) in zip(faces, coords):
                defaults = {"artwork": artwork, "x": float(x), "y": float(y), "placed": True, **cells.take(x, y)}
                point, _ = MapPoint.objects.update_or_create(build=build, face=face, defaults=defaults)
                points.append(point)
        schedule_statistics_refresh(build.pk)  # the published count follows
    return points


def _missing(build: MapBuild) -> tuple[list[tuple[int, int | None]], np.ndarray]:
    """((work, face or None) per point, vectors) of the covered works or faces with no point on the build."""
    members = build.map.members()
    if build.map.subject == Map.Subject.FACES:
        unplaced = Face.objects.filter(artwork__in=members).exclude(map_points__build=build)
        faces = face_vectors(build.feature_version, unplaced)
        return [(int(a), int(f)) for a, f in zip(faces.artwork_ids, faces.face_ids)], faces.X
    feature_model = FeatureModel.objects.filter(version=build.feature_version).first()
    if feature_model is None:
        return [], np.empty((0, 0), dtype=np.float32)
    ids, X = work_vectors(feature_model, members.exclude(map_points__build=build))
    return [(int(a), None) for a in ids], X


def place_missing(build: MapBuild) -> int:
    """Places every covered work (or face) that has a vector of the build's version but no point on it.

    Works processed while the build ran were placed on the build live then, not on this one, which
    loaded its vectors before they existed: without this they would vanish from the map when this
    build goes live, until the next rebuild. Placed with the build's own placer, as later works are.
    """
    if not build.parametric_key:
        return 0
    keys, X = _missing(build)
    if not keys:
        return 0
    field = "face_id" if build.map.subject == Map.Subject.FACES else "artwork_id"
    coords = settle(build, placer(build).place(X.astype(np.float32)), field, [f if f else a for a, f in keys])
    cells = GridCells(build)
    MapPoint.objects.bulk_create(
        [
            MapPoint(build=build, artwork_id=a, face_id=f, x=float(x), y=float(y), placed=True, **cells.take(x, y))
            for (a, f), (x, y) in zip(keys, coords)
        ],
        batch_size=5000,
        ignore_conflicts=True,  # a placement that got there first keeps its point
    )
    transaction.on_commit(bump_stamp)
    schedule_statistics_refresh(build.pk)
    log.info("%s: placed %d %s that arrived while it was built", build, len(keys), "faces" if keys[0][1] else "works")
    return len(keys)
