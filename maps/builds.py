"""Building a new version of a map, making it live, and pruning old builds (worker side).

A build fits openTSNE, then trains the parametric network on the t-SNE objective warm-started
from it and drawn in openTSNE's frame. Fitted works get the network's coordinates, unless the
network's map falls well short of openTSNE's (large maps, see
``maps.placement.choose_layout``): then they keep openTSNE's. The new build goes live
only when complete; the works placed later are :mod:`maps.placing`'s, and what the public
reads besides the points is :mod:`maps.summaries`'. torch and openTSNE are imported inside
the steps that need them, so the management command can report a refused map without them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from django.conf import settings
from django.db import transaction

from analysis.facestage import current_version
from analysis.models import Face, FeatureModel
from analysis.vectors import face_vectors, work_vectors
from collection import storage
from collection.models import Artwork, Label
from core.models import Job, JobCancelled
from maps.atlas import store_atlases
from maps.dashboard import preview_key
from maps.layouts import grid_layout
from maps.models import Map, MapBuild, MapPoint
from maps.placement import LAYOUTS, PlacementParams, choose_layout
from maps.placing import place_missing, placement_params
from maps.summaries import (
    count_published,
    name_clusters_of,
    refresh_clusters,
    refresh_decades,
    refresh_published_view,
)

if TYPE_CHECKING:
    from maps.parametric import ParametricTSNE
    from maps.parametric_training import ParametricConfig
    from maps.tsne import TSNEParams

log = logging.getLogger(__name__)

MIN_WORKS_FOR_MAP = 10
STEPS = 6  # of a build's progress, as jobs and the command report it
LAST_CANCELLABLE_STEP = 5  # from "clusters and decades" on, the build is on its way live
Progress = Callable[[int, int, str], None]
Report = Callable[[int, str], None]


class MapBuildError(RuntimeError):
    """A map cannot be built (no features, too few works); the message says what to do."""


def _style_labels(ids: np.ndarray) -> list[str | None]:
    styles: dict[int, str] = {}
    labels = Artwork.labels.through.objects.filter(artwork_id__in=ids.tolist(), label__kind=Label.Kind.STYLE)
    for artwork_id, name in labels.values_list("artwork_id", "label__name"):
        styles.setdefault(artwork_id, name)
    return [styles.get(int(i)) for i in ids]


def quality(X: np.ndarray, coords: np.ndarray, ids: np.ndarray) -> dict[str, float]:
    from maps.metrics import map_quality

    metrics = map_quality(X, coords)
    labels = _style_labels(ids)
    labelled = np.array([label is not None for label in labels])
    if labelled.sum() >= 20 and len({label for label in labels if label}) >= 2:
        from maps.metrics import knn_label_accuracy

        metrics["knn_accuracy"] = knn_label_accuracy(coords[labelled], [s for s in labels if s is not None])
    return metrics


@dataclass(frozen=True)
class MapData:
    """What a map is laid out from: one row of ``X`` per point.

    On an artworks map a point is a work (``face_ids`` is None); on a faces map a
    point is a face, ``artwork_ids`` names the face's work (several faces of one
    work are several points) and ``version`` is the face model's.
    """

    version: str
    artwork_ids: np.ndarray
    X: np.ndarray
    face_ids: np.ndarray | None = None

    def points(self, build: MapBuild, coords: np.ndarray, cells: np.ndarray) -> list[MapPoint]:
        """One point per row, with its t-SNE position and its grid cell."""
        faces = self.face_ids if self.face_ids is not None else [None] * len(self.artwork_ids)
        return [
            MapPoint(
                build=build,
                artwork_id=int(a),
                face_id=None if f is None else int(f),
                x=float(x),
                y=float(y),
                gx=int(gx),
                gy=int(gy),
            )
            for a, f, (x, y), (gx, gy) in zip(self.artwork_ids, faces, coords, cells)
        ]


def map_data(map_obj: Map) -> MapData:
    """The vectors a build of ``map_obj`` is fitted on; raises MapBuildError when there are too few."""
    if map_obj.subject == Map.Subject.FACES:
        version = current_version()
        faces = face_vectors(version, Face.objects.filter(artwork__in=map_obj.members()))
        if len(faces) < MIN_WORKS_FOR_MAP:
            raise MapBuildError(
                f"map {map_obj.slug!r} has {len(faces)} faces found by {version}; at least {MIN_WORKS_FOR_MAP} "
                "are needed (python manage.py detect_faces finds them)"
            )
        return MapData(version=version, artwork_ids=faces.artwork_ids, X=faces.X, face_ids=faces.face_ids)
    feature_model = FeatureModel.objects.active()
    if feature_model is None:
        raise MapBuildError(
            "no active feature model: process the collection first (python manage.py process_collection)"
        )
    ids, X = work_vectors(feature_model, map_obj.members())
    if len(ids) < MIN_WORKS_FOR_MAP:
        raise MapBuildError(
            f"map {map_obj.slug!r} has {len(ids)} works with features; at least {MIN_WORKS_FOR_MAP} are needed"
        )
    return MapData(version=feature_model.version, artwork_ids=ids, X=X)


@dataclass(frozen=True)
class BuildPlan:
    """A build's inputs, checked before its row exists: a refused map leaves no failed build behind."""

    data: MapData
    params: dict[str, Any]
    placement: PlacementParams
    tsne: TSNEParams


def plan_build(map_obj: Map) -> BuildPlan:
    """The map's vectors and its params with their defaults; raises MapBuildError on either."""
    from maps.tsne import TSNEParams

    data = map_data(map_obj)
    params = {"perplexity": 30.0, "seed": 0, **map_obj.params}
    if params.get("layout", "auto") not in LAYOUTS:  # refuse a typo before the work
        raise MapBuildError(
            f"unknown layout {params['layout']!r} in the map's params: choose one of {', '.join(LAYOUTS)}"
        )
    try:
        placement = placement_params(params)
    except ValueError as exc:
        raise MapBuildError(str(exc)) from exc
    # "auto": FFT-interpolated gradients from 10,000 points, Barnes-Hut below, where the FFT grid's
    # fixed cost dominates (120 points: 20 s with FFT, 1.3 s with Barnes-Hut on 2 cores).
    tsne = TSNEParams(
        perplexity=float(params["perplexity"]),
        seed=int(params["seed"]),
        n_jobs=settings.MAP_BUILD_THREADS,
        negative_gradient_method=params.get("gradient", "auto"),
    )
    return BuildPlan(data=data, params=params, placement=placement, tsne=tsne)


@dataclass(frozen=True)
class Layout:
    """A fitted layout: the network that places later works, the points' coordinates, and why these."""

    net: ParametricTSNE
    config: ParametricConfig
    coords: np.ndarray
    metrics: dict[str, Any]


def fit_layout(plan: BuildPlan, report: Report) -> Layout:
    """openTSNE, then the parametric network drawn in its frame, then whichever layout the map keeps.

    Drawn in openTSNE's frame, either layout can carry the fitted works and the network places new
    ones among them. A bad ``parametric`` param fails here, on a build row that records the error.
    """
    from maps.parametric import ParametricTSNE
    from maps.parametric_training import ParametricConfig
    from maps.tsne import build_tsne

    data = plan.data
    report(1, f"openTSNE on {len(data.artwork_ids)} {'works' if data.face_ids is None else 'faces'}")
    fitted = build_tsne(data.X, plan.tsne)
    report(2, "training the parametric network")
    config = ParametricConfig.from_dict({"seed": int(plan.params["seed"]), **plan.params.get("parametric", {})})
    net = ParametricTSNE.fit(
        data.X,
        feature_version=data.version,
        init_coords=fitted.raw_coords,
        affinities=fitted.affinities,
        config=config,
        normalisation=fitted.normalisation,
    )
    net_coords = net.transform(data.X)
    report(3, "measuring quality")
    metrics: dict[str, Any] = {
        "parametric": quality(data.X, net_coords, data.artwork_ids),
        "opentsne": quality(data.X, fitted.coords, data.artwork_ids),
    }
    recall = {name: m.get("knn_recall") for name, m in metrics.items()}
    layout = choose_layout(plan.params.get("layout", "auto"), recall)
    metrics["layout"] = layout
    if net.loss_history:
        metrics["parametric"]["kl_first"] = float(net.loss_history[0])
        metrics["parametric"]["kl_last"] = float(net.loss_history[-1])
    coords = net_coords if layout == "parametric" else fitted.coords
    return Layout(net=net, config=config, coords=coords, metrics=metrics)


def save_layout(build: MapBuild, plan: BuildPlan, layout: Layout, report: Report) -> None:
    """The network in private storage, then the points and the build's record in one transaction."""
    key = f"maps/{build.map.slug}/v{build.version}/parametric-{build.pk}.pt"
    storage.put("private", key, layout.net.to_bytes())
    report(4, "grid layout and saving points")
    started = time.perf_counter()
    grid = grid_layout(layout.coords)
    grid_record = {**grid.to_dict(), "seconds": round(time.perf_counter() - started, 3)}
    with transaction.atomic():
        MapPoint.objects.bulk_create(plan.data.points(build, layout.coords, grid.cells), batch_size=5000)
        build.params = {
            **build.params,
            "parametric": layout.config.to_dict(),
            "placement": plan.placement.to_dict(),
            "grid": grid_record,
        }
        build.metrics = layout.metrics
        build.parametric_key = key
        build.n_points = len(plan.data.artwork_ids)
        build.save(update_fields=["params", "metrics", "parametric_key", "n_points"])


def summarise_and_go_live(map_obj: Map, build: MapBuild, data: MapData, coords: np.ndarray, report: Report) -> None:
    """Atlases, clusters, decades and counts, then the switch, then the old builds go.

    Everything from here on shows the public only published works; it is derived as of this
    epoch, and going live re-derives it if publication changed meanwhile.
    """
    report(5, "clusters and decades")
    epoch = publication_epoch(map_obj)
    store_atlases(build)  # thumbnail texture atlases for the WebGL map (never fails the build)
    refresh_clusters(build, data.artwork_ids, coords, face_ids=data.face_ids)
    if data.face_ids is None:
        refresh_decades(build)
    count_published(build)
    publish_build(map_obj, build, epoch)
    report(6, "live")
    prune_builds(map_obj)


def build_map(map_obj: Map, *, job: Job | None = None, progress: Progress | None = None) -> MapBuild:
    """Builds a new version; on any failure the previous live build stays live.

    Artworks maps lay works out by their features; faces maps lay faces out by
    their dlib descriptors (Euclidean, the metric dlib trained them for) with the
    same openTSNE + parametric network, and record the face model version as the
    build's ``feature_version``. Decade summaries describe works, so faces maps
    have none.
    """

    def report(done: int, message: str) -> None:
        if progress:
            progress(done, STEPS, message)
        if job:
            job.progress(done, STEPS, message)
            if done < LAST_CANCELLABLE_STEP:  # later, the build is going live: it runs to the end
                job.check_cancelled()

    report(0, "loading vectors")
    plan = plan_build(map_obj)
    build = MapBuild.objects.create(
        map=map_obj,
        version=map_obj.next_version(),
        feature_version=plan.data.version,
        params={"tsne": plan.tsne.to_dict()},
    )
    try:
        layout = fit_layout(plan, report)
        save_layout(build, plan, layout, report)
        summarise_and_go_live(map_obj, build, plan.data, layout.coords, report)
    except JobCancelled:
        build.delete()  # never live: its points go with it, its stored sheets are unreferenced keys
        raise
    except Exception as exc:
        MapBuild.objects.filter(pk=build.pk).update(status=MapBuild.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    if job:
        job.produced(build)
    return build


def publication_epoch(map_obj: Map) -> int:
    return Map.objects.filter(pk=map_obj.pk).values_list("publication_epoch", flat=True).get()


GO_LIVE_ATTEMPTS = 3


def publish_build(map_obj: Map, build: MapBuild, epoch: int) -> None:
    """Makes a finished build live without a window in which it shows an unpublished work or loses one.

    The switch happens under the map's row lock, which every publication change takes to bump the
    map's epoch, and only if the epoch is still the one the build's public data was derived at;
    otherwise that data is derived again from current publication and the switch is retried.
    Under the same lock (which placements on the map take too) the works that got their vectors
    while the build ran are placed on it, so none vanishes when it goes live. If publication keeps
    changing through every attempt, the build goes live with its atlases withheld (the map loads
    thumbnails one by one) and names, counts and decades derived under the lock; a refresh
    re-packs the atlases after commit.
    """

    def final(locked: MapBuild) -> None:
        place_missing(locked)
        count_published(locked)

    for _ in range(GO_LIVE_ATTEMPTS):
        place_missing(build)  # the bulk, outside the lock
        if map_obj.go_live(build, epoch=epoch, under_lock=final):
            return
        epoch = publication_epoch(map_obj)
        try:
            refresh_published_view(build)
        except Exception:
            log.exception("re-deriving the public view of %s failed", build)  # the fallback below cannot leak it
            break

    def withheld(locked: MapBuild) -> None:
        from maps.tasks import schedule_publication_refresh

        place_missing(locked)
        withhold_atlases(locked)
        name_clusters_of(locked)
        count_published(locked)
        if map_obj.subject == Map.Subject.ARTWORKS:
            refresh_decades(locked)
        schedule_publication_refresh(locked.pk)

    log.warning("publication kept changing while %s went live: its atlases are withheld until re-packed", build)
    map_obj.go_live(build, under_lock=withheld)


def make_live(map_obj: Map, build: MapBuild) -> None:
    """Puts a kept older build back live, a curator's choice when a new build came out worse.

    Its public view is re-derived from today's publication first (it was derived when it was
    built), then it goes live the way a new build does, with the works that arrived since placed on it.
    """
    from maps.switching import live_refusal

    version = current_version() if map_obj.subject == Map.Subject.FACES else None
    refusal = live_refusal(build, current_version=version)
    if refusal:
        raise MapBuildError(refusal)
    epoch = publication_epoch(map_obj)
    refresh_published_view(build)
    publish_build(map_obj, build, epoch)


def withhold_atlases(build: MapBuild) -> None:
    """Records no atlases for the build and deletes its sheets after commit; the map still works without them."""
    from maps.atlas import FORMAT_VERSION, stored_keys

    keys = stored_keys(build.atlases)
    build.atlases = {
        "format": FORMAT_VERSION,
        "count": 0,
        "levels": [],
        "withheld": "publication changed while going live",
    }
    MapBuild.objects.filter(pk=build.pk).update(atlases=build.atlases)

    def _delete() -> None:
        for key in keys:
            try:
                storage.delete("public", key)
            except Exception as exc:  # noqa: BLE001 - unreferenced; pruning the build retries
                log.warning("could not delete the withheld atlas sheet %s: %s", key, exc)

    transaction.on_commit(_delete)


def prune_builds(map_obj: Map, keep: int | None = None) -> int:
    """Deletes builds older than the last ``keep`` ready ones, with their atlases and networks.

    A build's atlas sheets and network stay in storage until the build is
    deleted, so without pruning every rebuild would leave megabytes behind. The
    previous ready build is kept by default: a visitor whose page loaded before
    the switch keeps fetching its sheets. Failed builds older than the live one go
    too; the newest failure stays so curators can read its error. Deleting a row
    comes first, so a storage error leaves an orphaned file, never a build
    pointing at a missing one.
    """
    from maps.atlas import stored_keys

    keep = settings.MAP_BUILDS_KEPT if keep is None else keep
    live = map_obj.live_build_id
    ready = list(map_obj.builds.filter(status=MapBuild.Status.READY).order_by("-version").values_list("pk", flat=True))
    kept = set(ready[:keep]) | ({live} if live else set())
    failures = map_obj.builds.filter(status=MapBuild.Status.FAILED).order_by("-version")
    newest_failure = failures.values_list("pk", flat=True).first()
    if newest_failure:
        kept.add(newest_failure)
    # Builds still building belong to a job in progress.
    doomed = list(map_obj.builds.exclude(pk__in=kept).exclude(status=MapBuild.Status.BUILDING))
    for old in doomed:
        public_keys = stored_keys(old.atlases)
        private_keys = [old.parametric_key] if old.parametric_key else []
        private_keys.append(preview_key(old))
        old.delete()
        areas: tuple[tuple[Literal["public", "private"], list[str]], ...] = (
            ("public", public_keys),
            ("private", private_keys),
        )
        for area, keys in areas:
            for key in keys:
                try:
                    storage.delete(area, key)
                except Exception as exc:  # noqa: BLE001 - an orphaned file costs space, not correctness
                    log.warning("could not delete %s of old build %s v%s: %s", key, map_obj.slug, old.version, exc)
    if doomed:
        log.info("map %s: deleted %d old build(s)", map_obj.slug, len(doomed))
    return len(doomed)
