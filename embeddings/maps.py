"""Building maps and placing new works on them (worker side).

A build fits openTSNE, then trains the parametric network on the t-SNE
objective warm-started from it and drawn in openTSNE's frame. Fitted works get
the network's coordinates, unless the network's map falls well short of
openTSNE's (large maps, see ``embeddings.placement.choose_layout``): then they
keep openTSNE's. The new build goes live only when complete. A work added
later starts where the network's forward pass puts it and is refined against
the fixed fitted works (``embeddings.placement``); nothing else moves.
torch is imported inside the functions that need it: the web process imports
this module only to read decades and points.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from django.conf import settings
from django.db import transaction

from collection import storage
from collection.models import Artwork, Label
from core.models import Job
from embeddings.atlas import store_atlases
from embeddings.models import Cluster, DecadeWork, Map, MapBuild, MapPoint
from embeddings.placement import LAYOUTS, PlacementParams, Placer, Reference, choose_layout
from embeddings.similar import load_vectors
from mlserver.models import Embedding, Face, FeatureModel

log = logging.getLogger(__name__)

MIN_WORKS_FOR_MAP = 10
Progress = Callable[[int, int, str], None]


class MapBuildError(RuntimeError):
    """A map cannot be built (no features, too few works); the message says what to do."""


def _style_labels(ids: np.ndarray) -> list[str | None]:
    styles: dict[int, str] = {}
    for artwork_id, name in Artwork.labels.through.objects.filter(
        artwork_id__in=ids.tolist(), label__kind=Label.Kind.STYLE
    ).values_list("artwork_id", "label__name"):
        styles.setdefault(artwork_id, name)
    return [styles.get(int(i)) for i in ids]


def _terms(ids: np.ndarray) -> list[list[str]]:
    """Metadata terms per work that cluster names are drawn from."""
    by_id: dict[int, list[str]] = {int(i): [] for i in ids}
    for artwork_id, name in Artwork.labels.through.objects.filter(artwork_id__in=ids.tolist()).values_list(
        "artwork_id", "label__name"
    ):
        by_id[artwork_id].append(name)
    for artwork_id, artist, medium, decade in Artwork.objects.filter(pk__in=ids.tolist()).values_list(
        "pk", "credits__artist__name", "medium", "decade"
    ):
        if artist:
            by_id[artwork_id].append(artist)
        if medium:
            by_id[artwork_id].append(medium.split(",")[0].strip())
        if decade is not None:
            by_id[artwork_id].append(f"{decade}s")
    return [sorted(set(by_id[int(i)])) for i in ids]


def quality(X: np.ndarray, coords: np.ndarray, ids: np.ndarray) -> dict[str, float]:
    from embeddings.metrics import map_quality

    metrics = map_quality(X, coords)
    labels = _style_labels(ids)
    labelled = np.array([label is not None for label in labels])
    if labelled.sum() >= 20 and len({label for label in labels if label}) >= 2:
        from embeddings.metrics import knn_label_accuracy

        metrics["knn_accuracy"] = knn_label_accuracy(coords[labelled], [l for l in labels if l is not None])
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

    def points(self, build: MapBuild, coords: np.ndarray) -> list[MapPoint]:
        if self.face_ids is None:
            return [MapPoint(build=build, artwork_id=int(a), x=float(x), y=float(y)) for a, (x, y) in zip(self.artwork_ids, coords)]
        return [
            MapPoint(build=build, artwork_id=int(a), face_id=int(f), x=float(x), y=float(y))
            for a, f, (x, y) in zip(self.artwork_ids, self.face_ids, coords)
        ]


def load_faces(version: str, artworks: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(face ids, their works' ids, descriptors) of one face model's faces in the given works."""
    rows = Face.objects.filter(model_version=version, artwork__in=artworks).order_by("pk")
    face_ids: list[int] = []
    artwork_ids: list[int] = []
    chunks: list[bytes] = []
    for face_id, artwork_id, descriptor in rows.values_list("pk", "artwork_id", "descriptor").iterator(chunk_size=2000):
        face_ids.append(face_id)
        artwork_ids.append(artwork_id)
        chunks.append(bytes(descriptor))
    from mlserver.faces import DESCRIPTOR_DIM

    X = np.frombuffer(bytearray(b"".join(chunks)), dtype="<f4").reshape(len(face_ids), DESCRIPTOR_DIM)
    return np.asarray(face_ids, dtype=np.int64), np.asarray(artwork_ids, dtype=np.int64), X


def map_data(map_obj: Map) -> MapData:
    """The vectors a build of ``map_obj`` is fitted on; raises MapBuildError when there are too few."""
    if map_obj.subject == Map.Subject.FACES:
        from mlserver.facestage import current_version

        version = current_version()
        face_ids, artwork_ids, X = load_faces(version, map_obj.members())
        if len(face_ids) < MIN_WORKS_FOR_MAP:
            raise MapBuildError(
                f"map {map_obj.slug!r} has {len(face_ids)} faces found by {version}; at least {MIN_WORKS_FOR_MAP} "
                "are needed (python manage.py detect_faces finds them)"
            )
        return MapData(version=version, artwork_ids=artwork_ids, X=X, face_ids=face_ids)
    feature_model = FeatureModel.objects.active()
    if feature_model is None:
        raise MapBuildError("no active feature model: process the collection first (python manage.py process_collection)")
    ids, X = load_vectors(feature_model, map_obj.members())
    if len(ids) < MIN_WORKS_FOR_MAP:
        raise MapBuildError(f"map {map_obj.slug!r} has {len(ids)} works with features; at least {MIN_WORKS_FOR_MAP} are needed")
    return MapData(version=feature_model.version, artwork_ids=ids, X=X)


def build_map(map_obj: Map, *, job: Job | None = None, progress: Progress | None = None) -> MapBuild:
    """Builds a new version; on any failure the previous live build stays live.

    Artworks maps lay works out by their features; faces maps lay faces out by
    their dlib descriptors (Euclidean, the metric dlib trained them for) with the
    same openTSNE + parametric network, and record the face model version as the
    build's ``feature_version``. Decade summaries describe works, so faces maps
    have none.
    """
    from embeddings.parametric import ParametricConfig, ParametricTSNE
    from embeddings.tsne import TSNEParams, build_tsne

    def report(done: int, message: str) -> None:
        if progress:
            progress(done, 6, message)
        if job:
            job.progress(done, 6, message)

    report(0, "loading vectors")
    data = map_data(map_obj)
    ids, X = data.artwork_ids, data.X
    what = "faces" if data.face_ids is not None else "works"
    params = {"perplexity": 30.0, "seed": 0, **map_obj.params}
    if params.get("layout", "auto") not in LAYOUTS:  # refuse a typo before the work
        raise MapBuildError(f"unknown layout {params['layout']!r} in the map's params: choose one of {', '.join(LAYOUTS)}")
    placement = placement_params(params)
    # "auto": FFT-interpolated gradients from 10,000 points, Barnes-Hut below, where the FFT grid's
    # fixed cost dominates (120 points: 20 s with FFT, 1.3 s with Barnes-Hut on 2 cores).
    method = params.get("gradient", "auto")
    tsne_params = TSNEParams(
        perplexity=float(params["perplexity"]), seed=int(params["seed"]), n_jobs=settings.MAP_BUILD_THREADS,
        negative_gradient_method=method,
    )
    build = MapBuild.objects.create(
        map=map_obj, version=map_obj.next_version(), feature_version=data.version,
        params={"tsne": tsne_params.to_dict()},
    )
    try:
        report(1, f"openTSNE on {len(ids)} {what}")
        fitted = build_tsne(X, tsne_params)
        report(2, "training the parametric network")
        config = ParametricConfig.from_dict(
            {"seed": int(params["seed"]), **params.get("parametric", {})}
        )
        # Drawn in openTSNE's frame, so either layout can carry the fitted works
        # and the network places new ones among them.
        net = ParametricTSNE.fit(
            X, feature_version=data.version, init_coords=fitted.raw_coords,
            affinities=fitted.affinities, config=config, normalisation=fitted.normalisation,
        )
        net_coords = net.transform(X)
        report(3, "measuring quality")
        metrics: dict[str, Any] = {"parametric": quality(X, net_coords, ids), "opentsne": quality(X, fitted.coords, ids)}
        layout = choose_layout(
            params.get("layout", "auto"), {name: m.get("knn_recall") for name, m in metrics.items()}
        )
        metrics["layout"] = layout
        coords = net_coords if layout == "parametric" else fitted.coords
        if net.loss_history:
            metrics["parametric"]["kl_first"] = float(net.loss_history[0])
            metrics["parametric"]["kl_last"] = float(net.loss_history[-1])
        key = f"maps/{map_obj.slug}/v{build.version}/parametric-{build.pk}.pt"
        storage.put("private", key, net.to_bytes())
        report(4, "saving points")
        with transaction.atomic():
            MapPoint.objects.bulk_create(data.points(build, coords), batch_size=5000)
            build.params = {**build.params, "parametric": config.to_dict(), "placement": placement.to_dict()}
            build.metrics = metrics
            build.parametric_key = key
            build.n_points = len(ids)
            build.save(update_fields=["params", "metrics", "parametric_key", "n_points"])
        report(5, "clusters and decades")
        # Everything from here on shows the public only published works; it is derived as of this
        # epoch, and go-live re-derives it if publication changed meanwhile.
        epoch = publication_epoch(map_obj)
        store_atlases(build)  # thumbnail texture atlases for the WebGL map (never fails the build)
        refresh_clusters(build, ids, coords, face_ids=data.face_ids)
        if data.face_ids is None:
            refresh_decades(build)
        count_published(build)
        publish_build(map_obj, build, epoch)
        report(6, "live")
        prune_builds(map_obj)
    except Exception as exc:
        MapBuild.objects.filter(pk=build.pk).update(status=MapBuild.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    return build


def refresh_clusters(build: MapBuild, ids: np.ndarray, coords: np.ndarray, *, face_ids: np.ndarray | None = None) -> None:
    """Groups of nearby points; ``ids`` are the points' works. Named by :func:`name_clusters_of`.

    On a faces map ``face_ids`` says which point each row is, since one work may have several.
    """
    from embeddings.clusters import NOISE, find_clusters

    labels = find_clusters(coords, seed=0)
    with transaction.atomic():
        by_label: dict[int, list[int]] = {}
        for point_id, label in zip(ids if face_ids is None else face_ids, labels):
            if label != NOISE:
                by_label.setdefault(int(label), []).append(int(point_id))
        for label, members in by_label.items():
            if face_ids is None:
                MapPoint.objects.filter(build=build, artwork_id__in=members).update(cluster=label)
            else:
                MapPoint.objects.filter(build=build, face_id__in=members).update(cluster=label)
        name_clusters_of(build)


def name_clusters_of(build: MapBuild) -> int:
    """The build's clusters (names, terms, sizes, centres) as the public may see them.

    Everything here is read from published works only: a cluster named after an artist whose works
    are all unpublished, or sized by unpublished works, tells visitors about works they may not
    see. Points keep the cluster they were grouped into (the layout is fitted on every work); a
    cluster left with no published point gets no row. Runs again whenever publication changes.
    """
    from embeddings.clusters import NOISE, name_clusters

    rows = list(build.points.filter(artwork__published=True).order_by("pk").values_list("artwork_id", "x", "y", "cluster"))
    labels = np.array([NOISE if r[3] is None else r[3] for r in rows], dtype=np.int64)
    coords = np.array([(r[1], r[2]) for r in rows], dtype=np.float64).reshape(-1, 2)
    names = name_clusters(labels, _terms(np.array([r[0] for r in rows], dtype=np.int64))) if rows else {}
    clusters = []
    for label in sorted(int(c) for c in np.unique(labels) if c != NOISE):
        member = labels == label
        cx, cy = coords[member].mean(axis=0)
        terms = names.get(label, [])
        clusters.append(
            Cluster(
                build=build, label=label, size=int(member.sum()), x=float(cx), y=float(cy),
                terms=[t for t, _ in terms], name=", ".join(t for t, _ in terms[:2]) or f"Group {label + 1}",
            )
        )
    with transaction.atomic():
        build.clusters.all().delete()
        Cluster.objects.bulk_create(clusters)
    return len(clusters)


def count_published(build: MapBuild) -> int:
    """How many of the build's points the public sees: the count the maps API gives visitors."""
    n = build.points.filter(artwork__published=True).count()
    MapBuild.objects.filter(pk=build.pk).update(n_published=n)
    build.n_published = n
    return n


def publication_epoch(map_obj: Map) -> int:
    return Map.objects.filter(pk=map_obj.pk).values_list("publication_epoch", flat=True).get()


def refresh_published_view(build: MapBuild) -> dict[str, Any]:
    """Re-derives everything the public reads of a build from the works published now.

    Atlases (public images of every published thumbnail), cluster names and sizes, the published
    count, decades and placed-works metrics: what a publication change invalidates.
    """
    from embeddings.atlas import refresh_atlases

    atlases = int(refresh_atlases(build).get("count", 0)) if build.atlases else 0
    clusters = name_clusters_of(build)
    published = count_published(build)
    decades = 0
    if build.map.subject == Map.Subject.ARTWORKS:
        decades = refresh_decades(build)
        placed_quality(build)
    return {"build": build.pk, "atlases": atlases, "clusters": clusters, "published": published, "decades": decades}


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
        except Exception:  # noqa: BLE001 - the fallback below cannot leak whatever failed here
            log.exception("re-deriving the public view of %s failed", build)
            break

    def withheld(locked: MapBuild) -> None:
        from embeddings.tasks import schedule_publication_refresh

        place_missing(locked)
        withhold_atlases(locked)
        name_clusters_of(locked)
        count_published(locked)
        if map_obj.subject == Map.Subject.ARTWORKS:
            refresh_decades(locked)
        schedule_publication_refresh(locked.pk)

    log.warning("publication kept changing while %s went live: its atlases are withheld until re-packed", build)
    map_obj.go_live(build, under_lock=withheld)


def withhold_atlases(build: MapBuild) -> None:
    """Records no atlases for the build and deletes its sheets after commit; the map still works without them."""
    from embeddings.atlas import FORMAT_VERSION, stored_keys

    keys = stored_keys(build.atlases)
    build.atlases = {"format": FORMAT_VERSION, "count": 0, "levels": [], "withheld": "publication changed while going live"}
    MapBuild.objects.filter(pk=build.pk).update(atlases=build.atlases)

    def _delete() -> None:
        for key in keys:
            try:
                storage.delete("public", key)
            except Exception as exc:  # noqa: BLE001 - unreferenced; pruning the build retries
                log.warning("could not delete the withheld atlas sheet %s: %s", key, exc)

    transaction.on_commit(_delete)


def place_missing(build: MapBuild) -> int:
    """Places every covered work (or face) that has a vector of the build's version but no point on it.

    Works processed while the build ran were placed on the build live then, not on this one, which
    loaded its vectors before they existed: without this they would vanish from the map when this
    build goes live, until the next rebuild. Placed with the build's own placer, as later works are.
    """
    if not build.parametric_key:
        return 0
    map_obj = build.map
    members = map_obj.members()
    if map_obj.subject == Map.Subject.FACES:
        faces = list(
            Face.objects.filter(model_version=build.feature_version, artwork__in=members)
            .exclude(map_points__build=build).order_by("pk")
        )
        keys: list[tuple[int, int | None]] = [(face.artwork_id, face.pk) for face in faces]
        vectors = [face.array() for face in faces]
    else:
        embeddings = list(
            Embedding.objects.filter(feature_model__version=build.feature_version, artwork__in=members)
            .exclude(artwork__map_points__build=build).order_by("artwork_id")
        )
        keys = [(embedding.artwork_id, None) for embedding in embeddings]
        vectors = [embedding.array() for embedding in embeddings]
    if not keys:
        return 0
    coords = placer(build).place(np.stack(vectors).astype(np.float32))
    MapPoint.objects.bulk_create(
        [
            MapPoint(build=build, artwork_id=a, face_id=f, x=float(x), y=float(y), placed=True)
            for (a, f), (x, y) in zip(keys, coords)
        ],
        batch_size=5000, ignore_conflicts=True,  # a placement that got there first keeps its point
    )
    from core.stamp import bump_stamp
    from embeddings.tasks import schedule_statistics_refresh

    transaction.on_commit(bump_stamp)
    schedule_statistics_refresh(build.pk)
    log.info("%s: placed %d %s that arrived while it was built", build, len(keys), "faces" if keys[0][1] else "works")
    return len(keys)


def refresh_decades(build: MapBuild) -> int:
    """Typical and outlier works per decade, over the build's published works."""
    from embeddings.decades import summarise_decades

    feature_model = FeatureModel.objects.filter(version=build.feature_version).first()
    if feature_model is None:
        return 0
    members = Artwork.objects.published().filter(map_points__build=build)
    ids, X = load_vectors(feature_model, members)
    decades = dict(Artwork.objects.filter(pk__in=ids.tolist()).values_list("pk", "decade"))
    summaries = summarise_decades(
        X, [decades.get(int(i)) for i in ids], ids.tolist(),
        min_works=settings.DECADE_MIN_WORKS, n_typical=settings.DECADE_TOP_N, n_outliers=settings.DECADE_TOP_N,
        years_are_decades=True,
    ) if len(ids) else []
    rows = []
    for summary in summaries:
        for kind, ranked in ((DecadeWork.Kind.TYPICAL, summary.typical), (DecadeWork.Kind.OUTLIER, summary.outliers)):
            rows += [
                DecadeWork(
                    build=build, decade=summary.decade, decade_count=summary.count, kind=kind, rank=rank,
                    artwork_id=int(work.id), distance=float(work.distance),
                )
                for rank, work in enumerate(ranked)
            ]
    with transaction.atomic():
        build.decade_works.all().delete()
        DecadeWork.objects.bulk_create(rows)
    return len(summaries)


def placement_params(params: dict[str, Any]) -> PlacementParams:
    """A map's ``params["placement"]``, its perplexity defaulting to the map's own."""
    given = params.get("placement", {})
    if not isinstance(given, dict):
        raise MapBuildError("the map's params.placement must be an object, e.g. {\"n_iter\": 0}")
    try:
        return PlacementParams.from_dict({"perplexity": float(params.get("perplexity", 30.0)), **given})
    except (TypeError, ValueError) as exc:
        raise MapBuildError(f"bad placement parameters in the map's params: {exc}") from exc


def fitted_reference(build: MapBuild, normalisation: Any) -> Reference | None:
    """The build's fitted points (never those placed since) as vectors and raw map coordinates.

    Placed points are left out so a work's position does not depend on which
    works happened to be added before it. ``None`` when fewer than two points
    still have their vectors (e.g. the features were deleted).
    """
    fitted = build.points.filter(placed=False)
    if build.map.subject == Map.Subject.FACES:
        xy = {f: (x, y) for f, x, y in fitted.values_list("face_id", "x", "y")}
        face_ids, _, X = load_faces(build.feature_version, Artwork.objects.filter(map_points__in=fitted))
        keep = np.array([int(f) in xy for f in face_ids], dtype=bool)
        keys, X = face_ids[keep], X[keep]
    else:
        xy = {a: (x, y) for a, x, y in fitted.values_list("artwork_id", "x", "y")}
        feature_model = FeatureModel.objects.filter(version=build.feature_version).first()
        if feature_model is None:
            return None
        keys, X = load_vectors(feature_model, Artwork.objects.filter(map_points__in=fitted))
    if len(keys) < 2:
        return None
    coords = normalisation.invert(np.array([xy[int(k)] for k in keys], dtype=np.float64))
    return Reference(X, coords)


_placers: dict[int, tuple[int, Placer]] = {}  # build pk -> (fitted points when loaded, placer)


def placer(build: MapBuild) -> Placer:
    """Loaded once per process and build: the fitted vectors are O(works) to read.

    One placer per live map is kept, since one upload is placed on every map
    that covers it; those of builds no longer live are dropped on the next load.
    A fitted point that has gone since (its work deleted, or embedded again and
    so placed anew) makes the count differ and the placer is loaded again, so
    every process refines against the same fitted works.
    """
    from embeddings.parametric import ParametricTSNE

    fitted = build.points.filter(placed=False).count()
    hit = _placers.get(build.pk)
    if hit is None or hit[0] != fitted:
        net = ParametricTSNE.from_bytes(
            storage.get("private", build.parametric_key), feature_version=build.feature_version
        )
        # the build's own record: a later edit of the map's params applies from its next build
        params = placement_params(
            {"perplexity": build.params.get("tsne", {}).get("perplexity", 30.0), "placement": build.params.get("placement", {})}
        )
        reference = fitted_reference(build, net.normalisation) if params.n_iter > 0 else None
        hit = (fitted, Placer(net=net, reference=reference, params=params))
        live = set(Map.objects.exclude(live_build=None).values_list("live_build_id", flat=True))
        for pk in [pk for pk in _placers if pk not in live]:
            del _placers[pk]
        _placers[build.pk] = hit
    return hit[1]


def place_artwork(artwork: Artwork) -> list[MapPoint]:
    """On every live map that covers the work: the network's start, refined among the fitted works; no other point moves."""
    points: list[MapPoint] = []
    for map_obj, build in _live_builds_locked(Map.Subject.ARTWORKS):
        if not map_obj.covers(artwork) or not build.parametric_key:
            continue
        embedding = Embedding.objects.filter(artwork=artwork, feature_model__version=build.feature_version).first()
        if embedding is None:
            continue
        x, y = placer(build).place(embedding.array()[None, :].astype(np.float32))[0]
        point, _ = MapPoint.objects.update_or_create(
            build=build, artwork=artwork, defaults={"x": float(x), "y": float(y), "placed": True}
        )
        points.append(point)
        # Membership changed: decades and the placed-works metrics follow. Both read all the map's
        # vectors (O(works)), so a burst of placements is coalesced into one refresh after commit.
        from embeddings.tasks import schedule_statistics_refresh

        schedule_statistics_refresh(build.pk)
    return points


def _live_builds_locked(subject: str) -> Any:
    """Each live map of a subject with its live build, read under the map's row lock held for the loop body.

    A build going live takes the same lock to place the works that arrived while it was built
    (:func:`publish_build`), so a placement lands either on the old build before that catch-up
    sees it, or on the new build after the switch, never on the old one alone. The placer is
    loaded before the lock, so the lock is held for one placement only.
    """
    for map_pk, build_pk in Map.objects.filter(subject=subject, live_build__isnull=False).values_list("pk", "live_build"):
        build = MapBuild.objects.filter(pk=build_pk).first()
        if build is not None and build.parametric_key:
            placer(build)
        with transaction.atomic():
            map_obj = Map.objects.select_for_update().filter(pk=map_pk).first()
            if map_obj is None or map_obj.live_build_id is None:
                continue
            build = MapBuild.objects.select_related("map").get(pk=map_obj.live_build_id)
            yield map_obj, build


def refresh_statistics(build: MapBuild) -> dict[str, Any]:
    """What a change of membership invalidates: decade summaries and the placed-works metrics."""
    count_published(build)
    if build.map.subject == Map.Subject.FACES:
        return {"build": build.pk, "decades": 0, "placed": 0}
    decades = refresh_decades(build)
    placed = placed_quality(build)
    return {"build": build.pk, "decades": decades, "placed": int(placed.get("n_points", 0))}


def placed_quality(build: MapBuild) -> dict[str, float]:
    """Metrics for published works placed after the build, judged against the published fitted works.

    The maps API shows them to visitors, so neither the counts nor the figures may come from
    unpublished works; they are recomputed when publication changes.
    """
    from embeddings.metrics import placement_quality

    feature_model = FeatureModel.objects.filter(version=build.feature_version).first()
    shown = build.points.filter(artwork__published=True)
    placed = list(shown.filter(placed=True).values_list("artwork_id", "x", "y"))
    fitted = list(shown.filter(placed=False).values_list("artwork_id", "x", "y"))
    if feature_model is None or not placed:
        MapBuild.objects.filter(pk=build.pk).update(placed_metrics={})
        return {}
    f_ids, f_X = load_vectors(feature_model, Artwork.objects.filter(pk__in=[p[0] for p in fitted]))
    p_ids, p_X = load_vectors(feature_model, Artwork.objects.filter(pk__in=[p[0] for p in placed]))
    if len(f_ids) < 2 or not len(p_ids):
        MapBuild.objects.filter(pk=build.pk).update(placed_metrics={})
        return {}
    f_xy = {p[0]: (p[1], p[2]) for p in fitted}
    p_xy = {p[0]: (p[1], p[2]) for p in placed}
    metrics = placement_quality(
        f_X, np.array([f_xy[int(i)] for i in f_ids]), p_X, np.array([p_xy[int(i)] for i in p_ids]),
        k=min(10, max(1, len(f_ids) - 1)),
    )
    MapBuild.objects.filter(pk=build.pk).update(placed_metrics=metrics)
    return metrics


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
        coords = placer(build).place(X)
        with transaction.atomic():
            for face, (x, y) in zip(faces, coords):
                point, _ = MapPoint.objects.update_or_create(
                    build=build, face=face, defaults={"artwork": artwork, "x": float(x), "y": float(y), "placed": True}
                )
                points.append(point)
        from embeddings.tasks import schedule_statistics_refresh

        schedule_statistics_refresh(build.pk)  # the published count follows
    return points


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
    from embeddings.atlas import stored_keys

    keep = settings.MAP_BUILDS_KEPT if keep is None else keep
    live = map_obj.live_build_id
    ready = list(map_obj.builds.filter(status=MapBuild.Status.READY).order_by("-version").values_list("pk", flat=True))
    kept = set(ready[:keep]) | ({live} if live else set())
    newest_failure = map_obj.builds.filter(status=MapBuild.Status.FAILED).order_by("-version").values_list("pk", flat=True).first()
    if newest_failure:
        kept.add(newest_failure)
    # Builds still building belong to a job in progress.
    doomed = list(map_obj.builds.exclude(pk__in=kept).exclude(status=MapBuild.Status.BUILDING))
    for old in doomed:
        public_keys = stored_keys(old.atlases)
        private_keys = [old.parametric_key] if old.parametric_key else []
        old.delete()
        areas: tuple[tuple[Literal["public", "private"], list[str]], ...] = (
            ("public", public_keys), ("private", private_keys)
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
