"""How faithful is a 2-D map to the embedding space it was drawn from?

Numpy/scikit-learn only, so the web process can report quality without torch.
Distances are euclidean in both spaces (embeddings arrive L2-normalised, where
euclidean order equals cosine order).

Exact neighbour ranks need a full distance row per point, i.e. O(n^2) work; for
large maps the *query* points are a seeded random sample while neighbours are
still searched among all points, so the figures are unbiased estimates of the
full-map values rather than values for a smaller map. The returned dict says so
(``subsampled`` = 1.0, ``n_evaluated`` = how many queries).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.neighbors import NearestNeighbors

__all__ = [
    "map_quality",
    "placement_quality",
    "trustworthiness",
    "knn_recall",
    "knn_label_accuracy",
]

DEFAULT_K = 10
DEFAULT_MAX_QUERIES = 5000
_CHUNK_ELEMENTS = 2**24  # ~128 MB of float64 per distance block


def _sq_dists(a: np.ndarray, b: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    d = (a * a).sum(axis=1)[:, None] + b_sq[None, :] - 2.0 * (a @ b.T)
    np.maximum(d, 0.0, out=d)
    return d


def _kth_smallest(d: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k smallest per row, ordered by distance (ties by index)."""
    part = np.argpartition(d, k - 1, axis=1)[:, :k]
    rows = np.arange(d.shape[0])[:, None]
    vals = d[rows, part]
    order = np.lexsort((part, vals), axis=1)
    return part[rows, order]


def _neighbour_scores(
    query_hi: np.ndarray,
    query_lo: np.ndarray,
    ref_hi: np.ndarray,
    ref_lo: np.ndarray,
    k: int,
    self_index: np.ndarray | None,
) -> tuple[float, float]:
    """(trustworthiness, kNN recall) of queries against a reference set.

    ``self_index[i]`` is the query's own row in the reference set (fitted map)
    and is excluded from its neighbours; ``None`` for held-out queries.
    Trustworthiness follows Venna & Kaski / scikit-learn: each 2-D neighbour that
    is not a true neighbour costs (its rank in embedding space - k), normalised
    by the worst possible cost, so a query set of all fitted points reproduces
    ``sklearn.manifold.trustworthiness`` exactly.
    """
    ref_hi = np.asarray(ref_hi, dtype=np.float64)
    ref_lo = np.asarray(ref_lo, dtype=np.float64)
    m = ref_hi.shape[0] - (1 if self_index is not None else 0)
    if not 0 < k < m:
        raise ValueError(f"k={k} needs more than k reference points (have {m})")
    hi_sq = (ref_hi * ref_hi).sum(axis=1)
    lo_sq = (ref_lo * ref_lo).sum(axis=1)
    n_q = query_hi.shape[0]
    chunk = max(1, _CHUNK_ELEMENTS // max(1, ref_hi.shape[0]))
    penalty = 0.0
    hits = 0
    for start in range(0, n_q, chunk):
        stop = min(n_q, start + chunk)
        d_hi = _sq_dists(np.asarray(query_hi[start:stop], dtype=np.float64), ref_hi, hi_sq)
        d_lo = _sq_dists(np.asarray(query_lo[start:stop], dtype=np.float64), ref_lo, lo_sq)
        rows = np.arange(stop - start)
        if self_index is not None:
            d_hi[rows, self_index[start:stop]] = np.inf
            d_lo[rows, self_index[start:stop]] = np.inf
        nn_hi = _kth_smallest(d_hi, k)
        nn_lo = _kth_smallest(d_lo, k)
        for r in rows:
            true_set = set(nn_hi[r].tolist())
            intruders = [j for j in nn_lo[r].tolist() if j not in true_set]
            hits += k - len(intruders)
            if intruders:
                row = d_hi[r]
                # rank (1-based) of each intruder among the query's others
                ranks = (row[None, :] < row[intruders][:, None]).sum(axis=1) + 1
                penalty += float((ranks - k).sum())
    trust = 1.0 - 2.0 / (n_q * k * (2.0 * m - 3.0 * k + 1.0)) * penalty
    return trust, hits / (n_q * k)


def _sample(n: int, max_queries: int, seed: int) -> np.ndarray:
    if n <= max_queries:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_queries, replace=False))


def trustworthiness(
    embeddings: np.ndarray,
    coords: np.ndarray,
    *,
    k: int = DEFAULT_K,
    max_queries: int = DEFAULT_MAX_QUERIES,
    seed: int = 0,
) -> float:
    """Do points that are close on the map really belong together? (1 = always)."""
    return map_quality(embeddings, coords, k=k, max_queries=max_queries, seed=seed)["trustworthiness"]


def knn_recall(
    embeddings: np.ndarray,
    coords: np.ndarray,
    *,
    k: int = DEFAULT_K,
    max_queries: int = DEFAULT_MAX_QUERIES,
    seed: int = 0,
) -> float:
    """Fraction of each point's k true neighbours that are also its k map neighbours."""
    return map_quality(embeddings, coords, k=k, max_queries=max_queries, seed=seed)["knn_recall"]


def _vote(neighbour_labels: np.ndarray) -> np.ndarray:
    """Majority label per row; ties go to the label met first (the nearer one)."""
    out = np.empty(neighbour_labels.shape[0], dtype=neighbour_labels.dtype)
    for i, row in enumerate(neighbour_labels):
        values, first, counts = np.unique(row, return_index=True, return_counts=True)
        best = counts == counts.max()
        out[i] = values[best][np.argmin(first[best])]
    return out


def _map_neighbours(ref_coords: np.ndarray, query_coords: np.ndarray, k: int, exclude_self: bool) -> np.ndarray:
    nn = NearestNeighbors(n_neighbors=k + int(exclude_self)).fit(ref_coords)
    _, idx = nn.kneighbors(query_coords)
    if not exclude_self:
        return idx
    # drop each point itself (not necessarily column 0 when points coincide)
    own = np.arange(query_coords.shape[0])[:, None]
    keep = idx != own
    keep[keep.sum(axis=1) > k, -1] = False  # self not among them: drop the farthest
    return idx[keep].reshape(-1, k)


def knn_label_accuracy(coords: np.ndarray, labels: Sequence | np.ndarray, *, k: int = DEFAULT_K) -> float:
    """Leave-one-out k-NN majority vote on the map: are groups kept together?"""
    coords = np.asarray(coords, dtype=np.float64)
    labels = np.asarray(labels)
    idx = _map_neighbours(coords, coords, k, exclude_self=True)
    return float(np.mean(_vote(labels[idx]) == labels))


def map_quality(
    embeddings: np.ndarray,
    coords: np.ndarray,
    labels: Sequence | np.ndarray | None = None,
    *,
    k: int = DEFAULT_K,
    max_queries: int = DEFAULT_MAX_QUERIES,
    seed: int = 0,
) -> dict[str, float]:
    """Quality of a fitted map: trustworthiness, kNN recall and (with labels) kNN accuracy."""
    embeddings = np.asarray(embeddings)
    coords = np.asarray(coords)
    n = embeddings.shape[0]
    if coords.shape[0] != n:
        raise ValueError("embeddings and coords must have the same number of rows")
    queries = _sample(n, max_queries, seed)
    trust, recall = _neighbour_scores(embeddings[queries], coords[queries], embeddings, coords, k, self_index=queries)
    out = {
        "trustworthiness": float(trust),
        "knn_recall": float(recall),
        "n_points": float(n),
        "n_evaluated": float(len(queries)),
        "subsampled": float(len(queries) < n),
        "k": float(k),
    }
    if labels is not None:
        out["knn_accuracy"] = knn_label_accuracy(coords, labels, k=k)
    return out


def placement_quality(
    fitted_embeddings: np.ndarray,
    fitted_coords: np.ndarray,
    new_embeddings: np.ndarray,
    new_coords: np.ndarray,
    *,
    fitted_labels: Sequence | np.ndarray | None = None,
    new_labels: Sequence | np.ndarray | None = None,
    k: int = DEFAULT_K,
    max_queries: int = DEFAULT_MAX_QUERIES,
    seed: int = 0,
) -> dict[str, float]:
    """Quality for works placed after the map was built, judged against the fitted works.

    Each new work's neighbours are searched among the fitted works only (that is
    what a visitor sees: the new work next to the existing map), in embedding
    space versus on the map.
    """
    new_embeddings = np.atleast_2d(np.asarray(new_embeddings))
    new_coords = np.atleast_2d(np.asarray(new_coords))
    n_new = new_embeddings.shape[0]
    queries = _sample(n_new, max_queries, seed)
    trust, recall = _neighbour_scores(
        new_embeddings[queries], new_coords[queries], fitted_embeddings, fitted_coords, k, self_index=None
    )
    out = {
        "trustworthiness": float(trust),
        "knn_recall": float(recall),
        "n_points": float(n_new),
        "n_evaluated": float(len(queries)),
        "subsampled": float(len(queries) < n_new),
        "k": float(k),
    }
    if fitted_labels is not None and new_labels is not None:
        fitted_labels = np.asarray(fitted_labels)
        idx = _map_neighbours(np.asarray(fitted_coords, dtype=np.float64), new_coords.astype(np.float64), k, False)
        out["knn_accuracy"] = float(np.mean(_vote(fitted_labels[idx]) == np.asarray(new_labels)))
    return out
