"""How much two layouts of the same works agree: the share of works whose map neighbours changed.

Plain numpy (the admin's comparison page runs in the web process, which loads no sklearn): brute-force
distances in chunks, from a seeded sample of at most ``max_queries`` works, so a comparison of two
100,000-point builds costs seconds, not minutes.
"""

from __future__ import annotations

import numpy as np

DEFAULT_K = 10
DEFAULT_MAX_QUERIES = 2000
# A work whose neighbours changed is one that kept fewer than half of its k nearest works.
CHANGED_BELOW = 0.5
_CHUNK = 256


def nearest(coords: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` nearest points to each query point (itself excluded), by squared distance."""
    coords = np.asarray(coords, dtype=np.float64)
    sq = (coords**2).sum(axis=1)
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), _CHUNK):
        idx = queries[start : start + _CHUNK]
        d = sq[idx, None] - 2.0 * coords[idx] @ coords.T + sq[None, :]
        d[np.arange(len(idx)), idx] = np.inf
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        out[start : start + len(idx)] = part
    return out


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
