"""How much two layouts of the same works agree: the share of works whose map neighbours changed.

numpy and scipy's k-d tree, no Django and no sklearn (the admin's comparison page runs in the web
process), from a seeded sample of at most ``max_queries`` works: comparing two 100,000-point
builds takes about a second.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

DEFAULT_K = 10
DEFAULT_MAX_QUERIES = 20000
# A work whose neighbours changed is one that kept fewer than half of its k nearest works.
CHANGED_BELOW = 0.5


def nearest(coords: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` nearest points to each query point, itself excluded (even where points coincide)."""
    coords = np.asarray(coords, dtype=np.float64)
    _, idx = cKDTree(coords).query(coords[queries], k=k + 1)
    keep = idx != queries[:, None]
    keep[keep.sum(axis=1) > k, -1] = False  # the point itself was not among them: drop the farthest
    return idx[keep].reshape(-1, k)


def neighbour_change(
    a: np.ndarray, b: np.ndarray, *, k: int = DEFAULT_K, max_queries: int = DEFAULT_MAX_QUERIES, seed: int = 0
) -> dict[str, float]:
    """``a`` and ``b``: the same works' coordinates (row i is one work in both).

    Returns the mean share of each work's ``k`` map neighbours that both layouts agree on, and the
    share of works that kept fewer than half of them ("changed"). Fewer than k + 1 works: nothing to say.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    n = len(a)
    if n != len(b):
        raise ValueError(f"the layouts hold {n} and {len(b)} works; compare the same works")
    if n <= k:
        return {"n_works": float(n), "n_evaluated": 0.0}
    queries = np.arange(n) if n <= max_queries else np.sort(np.random.default_rng(seed).choice(n, max_queries, False))
    na, nb = nearest(a, queries, k), nearest(b, queries, k)
    kept = np.array([len(np.intersect1d(x, y, assume_unique=True)) / k for x, y in zip(na, nb)])
    return {
        "n_works": float(n),
        "n_evaluated": float(len(queries)),
        "k": float(k),
        "neighbours_kept": float(kept.mean()),
        "share_changed": float((kept < CHANGED_BELOW).mean()),
    }
