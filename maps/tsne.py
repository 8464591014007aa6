"""The reference t-SNE map, built with openTSNE.

openTSNE is the well-kept implementation (FFT-accelerated gradients, approximate
kNN affinities, and - crucially for benchmarking - its own ``transform`` for
placing new points against a fixed map). The map shown to users lives in a fixed
[-1, 1] frame, so the centre/scale that produced it is kept: anything placed
later must go through the very same transform to land in the same frame.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from openTSNE import TSNE, TSNEEmbedding

__all__ = ["Normalisation", "TSNEParams", "TSNEMap", "build_tsne"]


@dataclass(frozen=True)
class Normalisation:
    """Maps raw t-SNE coordinates into the [-1, 1] frame, keeping the aspect ratio."""

    centre: tuple[float, float]
    scale: float

    @classmethod
    def fit(cls, raw: np.ndarray) -> Normalisation:
        """The frame in which ``raw`` exactly spans [-1, 1] along its longer side."""
        raw = np.asarray(raw, dtype=np.float64)
        lo, hi = raw.min(axis=0), raw.max(axis=0)
        centre = (lo + hi) / 2.0
        scale = float(np.max(hi - lo) / 2.0)
        if not np.isfinite(scale) or scale <= 0.0:
            scale = 1.0  # all points coincide: any frame will do
        return cls((float(centre[0]), float(centre[1])), scale)

    def apply(self, raw: np.ndarray, *, clip: bool = True) -> np.ndarray:
        """Raw -> frame coordinates; clipping keeps late-placed outliers on the map."""
        out = (np.asarray(raw, dtype=np.float64) - np.asarray(self.centre)) / self.scale
        return np.clip(out, -1.0, 1.0) if clip else out

    def invert(self, coords: np.ndarray) -> np.ndarray:
        return np.asarray(coords, dtype=np.float64) * self.scale + np.asarray(self.centre)

    def to_dict(self) -> dict[str, Any]:
        return {"centre": [float(self.centre[0]), float(self.centre[1])], "scale": float(self.scale)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Normalisation:
        cx, cy = data["centre"]
        return cls((float(cx), float(cy)), float(data["scale"]))


@dataclass(frozen=True)
class TSNEParams:
    """openTSNE settings (its defaults, n_jobs sized for the 2-core build machines).

    ``negative_gradient_method="auto"`` lets openTSNE use FFT interpolation from
    10,000 points up, where it scales linearly, and Barnes-Hut below, where
    FFT's fixed grid cost dominates (3x slower at 3,000 points). Pass "fft" to
    force it.
    """

    perplexity: float = 30.0
    early_exaggeration_iter: int = 250
    n_iter: int = 500
    learning_rate: float | str = "auto"
    initialization: str = "pca"
    negative_gradient_method: str = "auto"
    neighbors: str = "auto"
    n_jobs: int = 2
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TSNEMap:
    """A fitted openTSNE map: frame coordinates plus what is needed to extend it."""

    coords: np.ndarray  # (n, 2) float64 in [-1, 1]
    normalisation: Normalisation
    embedding: TSNEEmbedding = field(repr=False)
    params: TSNEParams
    kl_divergence: float

    @property
    def raw_coords(self) -> np.ndarray:
        """Unnormalised t-SNE coordinates (the scale the KL objective lives at); a copy."""
        return np.array(self.embedding, dtype=np.float64)

    @property
    def affinities(self) -> sp.csr_matrix:
        """Symmetric, perplexity-calibrated P (sums to 1) - reusable by the parametric net."""
        return self.embedding.affinities.P.tocsr()

    def transform(self, X: np.ndarray, *, clip: bool = True, perplexity: float = 5.0) -> np.ndarray:
        """Place new points with openTSNE's optimiser against the fixed map.

        Existing points never move: openTSNE optimises only the new points'
        positions. This is the slow-but-principled baseline the parametric net
        is benchmarked against. openTSNE re-centres the reference embedding *in
        place* before placing; working on a copy and undoing that shift keeps
        both the fitted map and the frame of the new points fixed.
        ``perplexity`` is ``transform``'s own default (5), not the map's.
        """
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        reference = TSNEEmbedding(
            np.copy(self.embedding),
            self.embedding.affinities,
            random_state=self.embedding.random_state,
            optimizer=self.embedding.optimizer.copy(),
            **self.embedding.gradient_descent_params,
        )
        shift = (reference.max(axis=0) + reference.min(axis=0)) / 2.0
        partial = np.asarray(reference.transform(X, perplexity=perplexity), dtype=np.float64) + shift
        return self.normalisation.apply(partial, clip=clip)


def build_tsne(X: np.ndarray, params: TSNEParams | None = None) -> TSNEMap:
    """Fit openTSNE on ``X`` (rows = works) and normalise the result to [-1, 1]."""
    params = params or TSNEParams()
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    if n < 4:
        raise ValueError("t-SNE needs at least a handful of points")
    # Perplexity must leave room for 3*perplexity neighbours.
    perplexity = float(min(params.perplexity, max(1.0, (n - 1) / 3.0)))
    tsne = TSNE(
        n_components=2,
        perplexity=perplexity,
        learning_rate=params.learning_rate,
        early_exaggeration_iter=params.early_exaggeration_iter,
        n_iter=params.n_iter,
        initialization=params.initialization,
        negative_gradient_method=params.negative_gradient_method,
        neighbors=params.neighbors,
        metric="euclidean",
        n_jobs=params.n_jobs,
        random_state=params.seed,
        verbose=False,
    )
    embedding = tsne.fit(X)
    # Centre the box as openTSNE's transform would, so the raw frame is canonical.
    embedding -= (embedding.max(axis=0) + embedding.min(axis=0)) / 2.0
    raw = np.asarray(embedding, dtype=np.float64)
    normalisation = Normalisation.fit(raw)
    return TSNEMap(
        coords=normalisation.apply(raw, clip=True),
        normalisation=normalisation,
        embedding=embedding,
        params=params,
        kl_divergence=float(embedding.kl_divergence),
    )
