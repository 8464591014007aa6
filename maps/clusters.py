"""Automatic regions on the 2-D map, named by the metadata that sets them apart.

HDBSCAN (scikit-learn's, so the web process needs nothing beyond numpy and
scikit-learn) because t-SNE maps are islands of very different sizes and
densities: it needs no number of clusters, leaves sparse stragglers unlabelled
(-1) instead of forcing them into a region, and is deterministic for a given
input. Its exact tree is O(n^2) in time, so large maps are clustered on a
seeded subsample and the remaining points take the label of their nearest
sampled neighbour on the map.

HDBSCAN finds islands, and a t-SNE map of a few hundred works has few: the
demo's 267 paintings made three, the largest 113 works of every period, too
broad for a name or a hotspot. So a map gets about sqrt(n) / 2 regions: an
island larger than its share of them is cut into compact neighbourhoods by
seeded k-means on the map (PixPlot's hotspots are k-means on the layout too).
Regions never straddle two islands and no unclustered point joins one.

A name is the few terms most *over-represented* in a region compared with the
whole map: terms that are everywhere ("painting") say nothing about a region,
nor does a word found on one work of it. Terms are title words and curator
labels (:mod:`maps.terms`); an artist names a region only when they made
most of it, and medium or decade never do.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.neighbors import NearestNeighbors

__all__ = ["Cluster", "find_clusters", "name_clusters", "cluster_map", "split_islands", "target_regions", "NOISE"]

NOISE = -1


@dataclass(frozen=True)
class Cluster:
    label: int
    size: int
    centroid: tuple[float, float]  # mean map position, where a label can be drawn
    terms: list[tuple[str, float]]  # (term, score), best first


def find_clusters(
    coords: np.ndarray,
    *,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
    max_points: int = 20000,
    seed: int = 0,
    regions: int | None = None,
) -> np.ndarray:
    """Cluster label per point (``NOISE`` = -1 for unclustered points).

    ``regions`` is how many regions the map should have (default :func:`target_regions`);
    islands holding more than their share of it are cut (:func:`split_islands`).

    Labels are renumbered 0, 1, 2... by decreasing size (ties: the cluster
    holding the lowest point index first) so they are stable across identical
    runs and meaningful to humans. ``min_cluster_size`` defaults to 1% of the
    clustered points (at least 10): a region smaller than that is not worth a name.
    """
    coords = np.asarray(coords, dtype=np.float64)
    n = coords.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64)
    if n <= max_points:
        sample = np.arange(n)
    else:
        sample = np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))
    n_fit = len(sample)
    mcs = min_cluster_size or max(10, int(round(0.01 * n_fit)))
    mcs = max(2, min(mcs, n_fit))
    ms = min_samples or min(10, mcs)
    ms = max(1, min(ms, n_fit - 1)) if n_fit > 1 else 1
    if n_fit < 2:
        return np.full(n, NOISE, dtype=np.int64)

    fitted = HDBSCAN(min_cluster_size=mcs, min_samples=ms, cluster_selection_method="eom", copy=True).fit_predict(
        coords[sample]
    )

    labels = np.full(n, NOISE, dtype=np.int64)
    labels[sample] = fitted
    if n_fit < n:
        rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
        _, nearest = NearestNeighbors(n_neighbors=1).fit(coords[sample]).kneighbors(coords[rest])
        labels[rest] = fitted[nearest[:, 0]]
    regions = target_regions(n) if regions is None else regions
    labels = split_islands(coords, labels, regions, min_size=mcs, seed=seed)
    return _renumber(labels)


def target_regions(n: int) -> int:
    """About sqrt(n) / 2 regions: 8 for the demo's 267 works, 158 for 100,000.

    Few enough to read as a list of hotspots, many enough that a region is a few
    dozen works a name can describe (2 sqrt(n) works each on average).
    """
    return max(1, round(math.sqrt(n) / 2))


def split_islands(
    coords: np.ndarray, labels: np.ndarray, regions: int, *, min_size: int = 10, seed: int = 0
) -> np.ndarray:
    """Each island (cluster) cut into floor(size / share) neighbourhoods, share = clustered points / ``regions``.

    Nothing changes when the islands are already at least ``regions``, and no part is smaller
    than the share or ``min_size`` (a region too small for a name). k-means on the map
    coordinates gives compact parts of similar size, seeded so a build is repeatable.
    """
    found = [int(c) for c in np.unique(labels) if c != NOISE]
    clustered = int((labels != NOISE).sum())
    if regions <= len(found) or not clustered:
        return labels
    share = clustered / regions
    out = labels.copy()
    next_label = max(found) + 1
    for c in found:
        rows = np.flatnonzero(labels == c)
        parts = min(int(len(rows) // share), len(rows) // max(1, min_size))
        if parts < 2:
            continue
        cut = KMeans(n_clusters=parts, n_init=4, random_state=seed).fit_predict(coords[rows])
        for part in range(1, parts):
            out[rows[cut == part]] = next_label
            next_label += 1
    return out


def _renumber(labels: np.ndarray) -> np.ndarray:
    found = [c for c in np.unique(labels) if c != NOISE]
    sizes = {c: int((labels == c).sum()) for c in found}
    first = {c: int(np.argmax(labels == c)) for c in found}
    order = sorted(found, key=lambda c: (-sizes[c], first[c]))
    out = np.full_like(labels, NOISE)
    for new, old in enumerate(order):
        out[labels == old] = new
    return out


def _clean(terms: Iterable[str]) -> set[str]:
    return {t.strip() for t in terms if t and t.strip()}


def _dominant(artists: Sequence[str | None], rows: np.ndarray, share: float) -> str | None:
    """The artist of at least ``share`` of the rows, if there is one."""
    counts = Counter(artists[r] for r in rows if artists[r])
    if not counts:
        return None
    artist, count = counts.most_common(1)[0]
    return artist if count >= share * len(rows) else None


def _prefer_phrases(scored: dict[str, float], inside: Counter[str]) -> dict[str, float]:
    """A phrase ("still life") replaces its words when it is on most of the works they are on."""
    out = dict(scored)
    for phrase in [t for t in scored if " " in t and len(t.split()) == 2]:
        parts = [p for p in phrase.split() if p in out and inside[phrase] >= 0.8 * inside[p]]
        for part in parts:
            out[phrase] = max(out[phrase], out.pop(part))
    return out


def name_clusters(
    labels: np.ndarray | Sequence[int],
    terms: Sequence[Iterable[str]],
    *,
    top_n: int = 3,
    min_count: int = 2,
    min_share: float = 0.15,
    max_df: float = 0.5,
    artists: Sequence[str | None] | None = None,
    artist_share: float = 0.6,
) -> dict[int, list[tuple[str, float]]]:
    """Top terms per cluster by how much they distinguish it from the whole map.

    Score = p_c(t) * log(p_c(t) / p(t)), the term's contribution to the KL
    divergence between the cluster's and the map's term distributions (with
    p = fraction of works carrying the term): a TF-IDF for sets of works. Plain
    lift would crown a word seen on two works, plain frequency "painting". A term
    qualifies when it is on at least ``min_count`` works and ``min_share`` (15 %) of the
    cluster (one title's word says nothing about a region), on at most ``max_df``
    of the whole map (a word on most works says nothing either) and
    over-represented in the cluster (lift > 1); ties are broken alphabetically.

    ``artists`` (one name or None per point) are not terms: an artist names a
    region only when they made at least ``artist_share`` of it, and then comes
    first. Below that, a painter's name over a region misleads (the demo's
    "Peter Paul Rubens" over 113 works by many hands); above it, the region is
    mostly that painter's and the name is the clearest a visitor can get.
    """
    labels = np.asarray(labels)
    if len(terms) != len(labels) or (artists is not None and len(artists) != len(labels)):
        raise ValueError("need one list of terms per point")
    per_point = [_clean(t) for t in terms]
    n = len(per_point)
    overall: Counter[str] = Counter()
    for ts in per_point:
        overall.update(ts)
    names: dict[int, list[tuple[str, float]]] = {}
    for c in sorted(int(c) for c in np.unique(labels) if c != NOISE):
        rows = np.flatnonzero(labels == c)
        inside: Counter[str] = Counter()
        for r in rows:
            inside.update(per_point[r])
        support = max(min_count, math.ceil(min_share * len(rows)))
        scored = {}
        for term, count in inside.items():
            p_c, p = count / len(rows), overall[term] / n
            if count >= support and p <= max_df and p_c > p:
                scored[term] = p_c * math.log(p_c / p)
        ranked = sorted(_prefer_phrases(scored, inside).items(), key=lambda ts: (-ts[1], ts[0]))
        best = [(t, float(s)) for t, s in ranked[:top_n]]
        artist = _dominant(artists, rows, artist_share) if artists is not None else None
        if artist is not None and sum(a == artist for a in artists or []) < n:
            best = [(artist, best[0][1] + 1.0 if best else 1.0)] + best[: top_n - 1]
        names[c] = best
    return names


def cluster_map(
    coords: np.ndarray,
    terms: Sequence[Iterable[str]] | None = None,
    *,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
    max_points: int = 20000,
    top_n: int = 3,
    seed: int = 0,
    regions: int | None = None,
) -> tuple[np.ndarray, list[Cluster]]:
    """Labels per point and a named :class:`Cluster` per region, largest first."""
    coords = np.asarray(coords, dtype=np.float64)
    labels = find_clusters(
        coords,
        min_cluster_size=min_cluster_size,
        min_samples=min_samples,
        max_points=max_points,
        seed=seed,
        regions=regions,
    )
    names = name_clusters(labels, terms, top_n=top_n) if terms is not None else {}
    clusters = []
    for c in sorted(int(c) for c in np.unique(labels) if c != NOISE):
        member = labels == c
        cx, cy = coords[member].mean(axis=0)
        clusters.append(Cluster(c, int(member.sum()), (float(cx), float(cy)), names.get(c, [])))
    return labels, clusters
