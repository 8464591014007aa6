"""Generated collections with known structure, for tests and benchmarks.

Real feature vectors are not available in CI, so map quality is measured on
data whose ground truth we control: clusters (labels) that a good map must keep
apart, and a low-dimensional shape inside each cluster so that "nearest
neighbours" mean something (isotropic noise alone has no local structure worth
preserving, which would make kNN recall meaningless for any method).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SyntheticCollection", "clustered_embeddings", "synthetic_collection"]


def clustered_embeddings(
    n: int,
    dim: int = 64,
    n_clusters: int = 10,
    *,
    intrinsic_dim: int = 4,
    cluster_spread: float = 0.35,
    noise: float = 0.05,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(embeddings, labels)``: L2-normalised float32 rows and int labels.

    Cluster centres are random directions on the unit sphere; each cluster
    spreads along its own random ``intrinsic_dim``-dimensional subspace plus a
    little isotropic noise, then rows are normalised (as the caller does with
    real CNN features). Cluster sizes are unequal (Dirichlet) because real
    collections are unbalanced, and the rows are shuffled so that no algorithm
    can profit from their order.
    """
    if n < n_clusters:
        raise ValueError("need at least one point per cluster")
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)

    weights = rng.dirichlet(np.full(n_clusters, 5.0))
    sizes = np.maximum(1, np.floor(weights * n).astype(int))
    sizes[np.argmax(sizes)] += n - int(sizes.sum())

    labels = np.repeat(np.arange(n_clusters), sizes)
    points = np.empty((n, dim))
    start = 0
    for c, size in enumerate(sizes):
        basis, _ = np.linalg.qr(rng.standard_normal((dim, intrinsic_dim)))
        scales = cluster_spread * rng.uniform(0.5, 1.0, intrinsic_dim)
        latent = rng.standard_normal((size, intrinsic_dim)) * scales
        iso = rng.standard_normal((size, dim)) * (noise / np.sqrt(dim))
        points[start : start + size] = centres[c] + latent @ basis.T + iso
        start += size

    points /= np.linalg.norm(points, axis=1, keepdims=True)
    order = rng.permutation(n)
    return points[order].astype(np.float32), labels[order].astype(np.int64)


@dataclass(frozen=True)
class SyntheticCollection:
    """A fake collection: what the real pipeline gets per work."""

    embeddings: np.ndarray  # (n, d) float32, L2-normalised
    labels: np.ndarray  # (n,) int ground-truth cluster
    ids: np.ndarray  # (n,) int work ids
    years: np.ndarray  # (n,) int creation years
    terms: list[list[str]]  # metadata terms per work


def synthetic_collection(
    n: int,
    dim: int = 64,
    n_clusters: int = 8,
    *,
    seed: int = 0,
) -> SyntheticCollection:
    """A clustered collection with years and metadata terms tied to the clusters.

    Each cluster has a "signature" (two terms that most of its works carry, and
    a period centred on its own decade) so that cluster naming and decade
    summaries have a right answer to find; shared filler terms appear
    everywhere and must never win.
    """
    embeddings, labels = clustered_embeddings(n, dim, n_clusters, seed=seed)
    rng = np.random.default_rng(seed + 1)
    centre_years = 1600 + 40 * np.arange(n_clusters)
    years = np.round(centre_years[labels] + rng.normal(0, 8, n)).astype(np.int64)
    filler = ["painting", "paper", "europe", "gift"]
    terms: list[list[str]] = []
    for label in labels:
        mine = [t for t in (f"style-{label}", f"subject-{label}") if rng.random() < 0.8]
        mine += [t for t in filler if rng.random() < 0.5]
        terms.append(mine)
    ids = np.arange(1, n + 1, dtype=np.int64)
    return SyntheticCollection(embeddings, labels, ids, years, terms)
