"""What the public reads of a map build besides its points: clusters, decades, counts and placed-works metrics.

All of it is derived from published works only, since the maps API shows it to visitors. It is
derived once when a build is made (:mod:`maps.builds`), again when membership changes
(placements, coalesced by ``maps.tasks.refresh_build_statistics``) and again when
publication changes (``maps.tasks.refresh_publication``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction

from analysis.models import FeatureModel
from analysis.vectors import work_vectors
from collection.models import Artwork
from maps.models import Cluster, DecadeWork, Map, MapBuild, MapPoint


def _terms(ids: np.ndarray) -> tuple[list[list[str]], list[str | None]]:
    """Words per work that cluster names are drawn from, and each work's first artist.

    Title words, curator labels (whole, however many words) and the classification, all
    lower-case so that a label and a title word that agree count once. Medium and decade are
    left out: they name how or when, not what a visitor sees, and put "Oil on panel" over
    regions of every subject. The artist is kept apart since it may name a region only when
    it dominates it (:func:`maps.clusters.name_clusters`).
    """
    from maps.terms import title_terms

    by_id: dict[int, set[str]] = {int(i): set() for i in ids}
    artist_of: dict[int, str | None] = {}
    labels = Artwork.labels.through.objects.filter(artwork_id__in=ids.tolist())
    for artwork_id, name in labels.values_list("artwork_id", "label__name"):
        by_id[artwork_id].add(" ".join(name.lower().split()))
    for artwork_id, title, classification, artist in (
        Artwork.objects.filter(pk__in=ids.tolist())
        .order_by("pk", "credits__order")
        .values_list("pk", "title", "classification", "credits__artist__name")
    ):
        by_id[artwork_id].update(title_terms(title))
        if classification:
            by_id[artwork_id].add(classification.lower())
        artist_of.setdefault(artwork_id, artist or None)
    return [sorted(by_id[int(i)]) for i in ids], [artist_of.get(int(i)) for i in ids]


def refresh_clusters(
    build: MapBuild, ids: np.ndarray, coords: np.ndarray, *, face_ids: np.ndarray | None = None
) -> None:
    """Groups of nearby points; ``ids`` are the points' works. Named by :func:`name_clusters_of`.

    On a faces map ``face_ids`` says which point each row is, since one work may have several.
    """
    from maps.clusters import NOISE, find_clusters

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


PREVIEWS = 5  # works shown for a cluster (the website's hotspots): those nearest its centre


def name_clusters_of(build: MapBuild) -> int:
    """The build's clusters (names, terms, sizes, centres) as the public may see them.

    Everything here is read from published works only: a cluster named after an artist whose works
    are all unpublished, or sized by unpublished works, tells visitors about works they may not
    see. Points keep the cluster they were grouped into (the layout is fitted on every work); a
    cluster left with no published point gets no row. Runs again whenever publication changes.
    """
    from maps.clusters import NOISE, name_clusters
    from maps.terms import display

    shown = build.points.filter(artwork__published=True).order_by("pk")
    rows = list(shown.values_list("artwork_id", "x", "y", "cluster", "face_id"))
    point_ids = np.array([r[4] if r[4] is not None else r[0] for r in rows], dtype=np.int64)
    labels = np.array([NOISE if r[3] is None else r[3] for r in rows], dtype=np.int64)
    coords = np.array([(r[1], r[2]) for r in rows], dtype=np.float64).reshape(-1, 2)
    names: dict[int, list[tuple[str, float]]] = {}
    if rows:
        words, artists = _terms(np.array([r[0] for r in rows], dtype=np.int64))
        names = name_clusters(labels, words, artists=artists)
    clusters = []
    for label in sorted(int(c) for c in np.unique(labels) if c != NOISE):
        member = np.flatnonzero(labels == label)
        cx, cy = coords[member].mean(axis=0)
        terms = names.get(label, [])
        nearest = member[np.argsort(np.hypot(coords[member, 0] - cx, coords[member, 1] - cy), kind="stable")]
        clusters.append(
            Cluster(
                build=build,
                label=label,
                size=len(member),
                points=[int(p) for p in point_ids[nearest[:PREVIEWS]]],
                x=float(cx),
                y=float(cy),
                terms=[t for t, _ in terms],
                # No word sets the region apart: no name ("Group 3" would tell a visitor nothing, in no language).
                name=display(", ".join(t for t, _ in terms[:2])),
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


def refresh_decades(build: MapBuild) -> int:
    """Typical and outlier works per decade, over the build's published works."""
    from maps.decades import summarise_decades

    feature_model = FeatureModel.objects.filter(version=build.feature_version).first()
    if feature_model is None:
        return 0
    ids, X = work_vectors(feature_model, Artwork.objects.published().filter(map_points__build=build))
    decades = dict(Artwork.objects.filter(pk__in=ids.tolist()).values_list("pk", "decade"))
    summaries = (
        summarise_decades(
            X,
            [decades.get(int(i)) for i in ids],
            ids.tolist(),
            min_works=settings.DECADE_MIN_WORKS,
            n_typical=settings.DECADE_TOP_N,
            n_outliers=settings.DECADE_TOP_N,
            years_are_decades=True,
        )
        if len(ids)
        else []
    )
    rows = []
    for summary in summaries:
        for kind, ranked in ((DecadeWork.Kind.TYPICAL, summary.typical), (DecadeWork.Kind.OUTLIER, summary.outliers)):
            rows += [
                DecadeWork(
                    build=build,
                    decade=summary.decade,
                    decade_count=summary.count,
                    kind=kind,
                    rank=rank,
                    artwork_id=int(work.id),
                    distance=float(work.distance),
                )
                for rank, work in enumerate(ranked)
            ]
    with transaction.atomic():
        build.decade_works.all().delete()
        DecadeWork.objects.bulk_create(rows)
    return len(summaries)


def placed_quality(build: MapBuild) -> dict[str, float]:
    """Metrics for published works placed after the build, judged against the published fitted works.

    The maps API shows them to visitors, so neither the counts nor the figures may come from
    unpublished works; they are recomputed when publication changes.
    """
    from maps.metrics import placement_quality

    feature_model = FeatureModel.objects.filter(version=build.feature_version).first()
    shown = build.points.filter(artwork__published=True)
    placed = list(shown.filter(placed=True).values_list("artwork_id", "x", "y"))
    fitted = list(shown.filter(placed=False).values_list("artwork_id", "x", "y"))
    if feature_model is None or not placed:
        MapBuild.objects.filter(pk=build.pk).update(placed_metrics={})
        return {}
    f_ids, f_X = work_vectors(feature_model, Artwork.objects.filter(pk__in=[p[0] for p in fitted]))
    p_ids, p_X = work_vectors(feature_model, Artwork.objects.filter(pk__in=[p[0] for p in placed]))
    if len(f_ids) < 2 or not len(p_ids):
        MapBuild.objects.filter(pk=build.pk).update(placed_metrics={})
        return {}
    f_xy = {p[0]: (p[1], p[2]) for p in fitted}
    p_xy = {p[0]: (p[1], p[2]) for p in placed}
    metrics = placement_quality(
        f_X,
        np.array([f_xy[int(i)] for i in f_ids]),
        p_X,
        np.array([p_xy[int(i)] for i in p_ids]),
        k=min(10, max(1, len(f_ids) - 1)),
    )
    MapBuild.objects.filter(pk=build.pk).update(placed_metrics=metrics)
    return metrics


def refresh_statistics(build: MapBuild) -> dict[str, Any]:
    """What a change of membership invalidates: decade summaries and the placed-works metrics."""
    count_published(build)
    if build.map.subject == Map.Subject.FACES:
        return {"build": build.pk, "decades": 0, "placed": 0}
    decades = refresh_decades(build)
    placed = placed_quality(build)
    return {"build": build.pk, "decades": decades, "placed": int(placed.get("n_points", 0))}


def refresh_published_view(build: MapBuild) -> dict[str, Any]:
    """Re-derives everything the public reads of a build from the works published now.

    Atlases (public images of every published thumbnail), cluster names and sizes, the published
    count, decades and placed-works metrics: what a publication change invalidates.
    """
    from maps.atlas import refresh_atlases

    atlases = int(refresh_atlases(build).get("count", 0)) if build.atlases else 0
    clusters = name_clusters_of(build)
    published = count_published(build)
    decades = 0
    if build.map.subject == Map.Subject.ARTWORKS:
        decades = refresh_decades(build)
        placed_quality(build)
    return {"build": build.pk, "atlases": atlases, "clusters": clusters, "published": published, "decades": decades}
