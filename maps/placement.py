"""Placing new works on a fixed map: the network's forward pass, then a local t-SNE refinement.

The parametric network alone lands an unseen work near its neighbours but,
being a smooth function, seldom *among* its exact ten nearest ones where t-SNE
has folded a neighbourhood into 2-D. openTSNE's ``transform`` gets there by
optimising each new point's own t-SNE objective against the fixed map, but
spends most of each call setting up its kNN index and interpolation grid.

This module runs the same per-point objective (``transform``'s: perplexity-5
affinities to the work's 15 nearest fitted works in feature space, Student-t
similarities to every fitted work on the map, exaggeration 1.5, gains and
momentum, gradient norm clipped at 0.25), started from the network's output
instead of the neighbours' median, with the reference structures built once
per map and kept:

* attraction: the ``k`` nearest fitted works by exact search in feature space;
* repulsion: exact from the ``near`` fitted works closest to the start on the
  map (a Student-t kernel has fallen to 1/(1+r^2)^2 ~ 1e-5 of its peak a few
  dozen units away); the rest of the map only enters the normaliser Z as one
  sum computed at the start. Near sets are gathered again when a point has
  moved a quarter of their radius.

Only the new point moves, as in ``transform``, so no fitted work is ever
disturbed. Plain numpy and scipy (no torch, no Django), vectorised over a batch
of new works. The measurements behind the method and its defaults are in
docs/decisions/parametric-placement.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

# per new work: indices of the fitted works repelling it exactly, the radius they cover, the rest's share of Z
Near = tuple[np.ndarray, np.ndarray, np.ndarray]

__all__ = ["LAYOUTS", "PlacementParams", "Placer", "Reference", "choose_layout", "perplexity_affinities"]


@dataclass(frozen=True)
class PlacementParams:
    """The per-point objective and its optimiser; ``n_iter=0`` keeps the network's forward pass as it is.

    Optimiser settings are ``transform``'s. The perplexity is the map's own
    (30 by default) rather than ``transform``'s 5, because held-out recall rises
    with it; 100 steps from the network's start reach what 250 do from the
    neighbours' median, and 512 exactly repelling works what 2,048 do.
    """

    perplexity: float = 30.0
    k: int | None = None  # nearest fitted works that attract; None: 3 x perplexity, as openTSNE
    n_iter: int = 100
    learning_rate: float = 0.1
    exaggeration: float = 1.5
    momentum: float = 0.8
    max_grad_norm: float = 0.25
    min_gain: float = 0.01
    near: int = 512  # fitted works whose repulsion is computed exactly
    batch: int = 64  # new works placed together (the search holds batch x fitted works x 12 bytes)

    def __post_init__(self) -> None:
        if self.n_iter < 0 or (self.k is not None and self.k < 1) or self.near < 1 or self.batch < 1:
            raise ValueError("placement needs n_iter >= 0 and k, near, batch >= 1")
        positive = {
            "perplexity": self.perplexity,
            "learning_rate": self.learning_rate,
            "exaggeration": self.exaggeration,
            "max_grad_norm": self.max_grad_norm,
        }
        bad = [name for name, v in positive.items() if not (math.isfinite(v) and v > 0)]
        if not (math.isfinite(self.momentum) and 0 <= self.momentum < 1):
            bad.append("momentum (from 0 up to 1)")
        if not (math.isfinite(self.min_gain) and self.min_gain >= 0):
            bad.append("min_gain")
        if bad:
            raise ValueError(f"placement {', '.join(bad)} must be finite and positive")

    @property
    def neighbours(self) -> int:
        return int(self.k) if self.k is not None else max(1, int(3 * self.perplexity))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlacementParams:
        """Refuses unknown keys: a misspelt map parameter must not be silently ignored."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown placement parameter(s): {', '.join(sorted(unknown))}")
        counts = {"n_iter", "near", "batch"} | ({"k"} if data.get("k") is not None else set())
        typed: dict[str, Any] = {}
        for name, value in data.items():
            try:  # JSON from the admin may say 512.0 or "512"
                number = None if value is None and name == "k" else float(value)
            except (TypeError, ValueError):
                raise ValueError(f"placement parameters must be numbers: {name}={value!r}") from None
            if number is None:
                typed[name] = None
                continue
            if name in counts and not (math.isfinite(number) and number.is_integer()):
                raise ValueError(f"placement {name} must be a whole number, got {value!r}")
            typed[name] = int(number) if name in counts else number
        return cls(**typed)


LAYOUTS = ("auto", "parametric", "opentsne")
# "auto" keeps the network's own map while its kNN recall is within this share of openTSNE's
LAYOUT_RECALL_SHARE = 0.95


def choose_layout(requested: str, recall: dict[str, float | None]) -> str:
    """Which coordinates the fitted works get: the network's, or openTSNE's.

    ``recall`` holds each map's kNN recall@10 under "parametric" and "opentsne".
    The network's own map is the consistent choice (fitted works and the
    network's start for new ones come from one function), but how finely it
    reproduces neighbourhoods is bound by its training steps, which are capped
    to keep large builds affordable, so on large maps it falls well behind
    openTSNE's. Then the fitted works keep openTSNE's layout and the network,
    drawn in the same frame, only starts new works' placement.
    """
    if requested not in LAYOUTS:
        raise ValueError(f"unknown layout {requested!r}: choose one of {', '.join(LAYOUTS)}")
    if requested != "auto":
        return requested
    ours, theirs = recall.get("parametric"), recall.get("opentsne")
    if ours is None or theirs is None or ours >= LAYOUT_RECALL_SHARE * theirs:
        return "parametric"
    return "opentsne"


def perplexity_affinities(
    sq_dists: np.ndarray, perplexity: float, *, tol: float = 1e-5, max_iter: int = 100
) -> np.ndarray:
    """Row-wise Gaussian conditional probabilities with the given perplexity (rows sum to 1).

    Bisection on the precision per row, as openTSNE does for new points; rows
    are the new works, columns their nearest fitted works.
    """
    d = np.asarray(sq_dists, dtype=np.float64)
    d = d - d.min(axis=1, keepdims=True)  # shift for stability; probabilities are unchanged
    target = np.log(min(perplexity, d.shape[1]))
    beta = np.ones(d.shape[0])
    lo = np.full(d.shape[0], 0.0)
    hi = np.full(d.shape[0], np.inf)
    for _ in range(max_iter):
        w = np.exp(-d * beta[:, None])
        s = w.sum(axis=1)
        p = w / s[:, None]
        entropy = np.log(s) + beta * (d * p).sum(axis=1)
        diff = entropy - target
        if np.all(np.abs(diff) < tol):
            break
        too_flat = diff > 0  # entropy too high: sharpen
        lo = np.where(too_flat, beta, lo)
        hi = np.where(too_flat, hi, beta)
        beta = np.where(np.isinf(hi), beta * 2.0, (lo + hi) / 2.0)
    return p


class Reference:
    """The fitted works a new one is placed among: their vectors and raw map coordinates.

    Built once per map and reused for every placement (the kd-tree over the
    map and the vectors' squared norms are the set-up ``transform`` repeats).
    """

    def __init__(self, X: np.ndarray, coords: np.ndarray) -> None:
        X = np.ascontiguousarray(X, dtype=np.float32)
        coords = np.ascontiguousarray(coords, dtype=np.float64)
        if X.ndim != 2 or coords.shape != (X.shape[0], 2):
            raise ValueError(f"a reference needs one 2-D coordinate per vector, got {X.shape} and {coords.shape}")
        if X.shape[0] < 2:
            raise ValueError("a reference needs at least two fitted works")
        self.X = X
        self.sq_norms = np.einsum("ij,ij->i", X, X, dtype=np.float64)
        self.coords = coords
        self._x, self._y = coords[:, 0].copy(), coords[:, 1].copy()
        self.tree = cKDTree(coords)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def dim(self) -> int:
        return int(self.X.shape[1])

    def neighbours(self, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices and squared Euclidean distances of each row's ``k`` nearest fitted works, nearest first."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float32))
        if X.shape[1] != self.dim:
            raise ValueError(f"expected {self.dim}-dimensional vectors, got {X.shape[1]}")
        k = min(k, len(self))
        sq = self.sq_norms[None, :] - 2.0 * (X @ self.X.T).astype(np.float64)
        sq += np.einsum("ij,ij->i", X, X, dtype=np.float64)[:, None]
        idx = np.argpartition(sq, k - 1, axis=1)[:, :k]
        part = np.take_along_axis(sq, idx, axis=1)
        order = np.argsort(part, axis=1, kind="stable")
        return np.take_along_axis(idx, order, axis=1), np.maximum(np.take_along_axis(part, order, axis=1), 0.0)

    def place(self, X: np.ndarray, init: np.ndarray, params: PlacementParams | None = None) -> np.ndarray:
        """Raw map coordinates for new works ``X``, refined from ``init`` (the network's raw output)."""
        params = params or PlacementParams()
        init = np.atleast_2d(np.asarray(init, dtype=np.float64))
        X = np.atleast_2d(X)
        if init.shape != (X.shape[0], 2):
            raise ValueError(f"need one start per work, got {init.shape} for {X.shape[0]} works")
        if params.n_iter == 0 or X.shape[0] == 0:
            return init.copy()
        out = np.empty_like(init)
        for start in range(0, X.shape[0], params.batch):
            rows = slice(start, start + params.batch)
            idx, sq = self.neighbours(X[rows], params.neighbours)
            p = perplexity_affinities(sq, params.perplexity)
            # The network's start, unless the neighbours' median (transform's start) scores better on
            # the objective: a smooth network can be far off, and the refinement only moves locally.
            starts = (init[rows], np.median(self.coords[idx], axis=1))
            near = [self._near(y, params.near) for y in starts]
            better = self._objective(starts[1], idx, p, near[1]) < self._objective(starts[0], idx, p, near[0])
            chosen_near, chosen_far, chosen_w = (
                np.where(better.reshape((-1,) + (1,) * (a.ndim - 1)), b, a)
                for a, b in zip(near[0], near[1], strict=True)
            )
            chosen = (chosen_near, chosen_far, chosen_w)
            out[rows] = self._optimise(np.where(better[:, None], starts[1], starts[0]), idx, p, chosen, params)
        return out

    # ------------------------------------------------------------------ internals
    def _near(self, y: np.ndarray, near: int) -> Near:
        """Indices of the ``near`` fitted works closest on the map, their radius, and the rest's share of Z."""
        m = min(near, len(self))
        radius, idx = self.tree.query(y, k=m)
        idx = np.asarray(idx).reshape(len(y), m)
        radius = np.asarray(radius).reshape(len(y), m)[:, -1]
        if m == len(self):
            return idx, np.full(len(y), np.inf), np.zeros(len(y))
        far = np.empty(len(y))
        d2, dy = np.empty(len(self)), np.empty(len(self))
        for i, (y0, y1) in enumerate(y):  # one pass over the map per (re)gather, not per step
            np.subtract(self._x, y0, out=d2)
            np.multiply(d2, d2, out=d2)
            np.subtract(self._y, y1, out=dy)
            np.multiply(dy, dy, out=dy)
            d2 += dy
            d2 += 1.0
            far[i] = np.reciprocal(d2, out=d2).sum()
        near_d2 = ((self.coords[idx] - y[:, None, :]) ** 2).sum(axis=2)
        far -= (1.0 / (1.0 + near_d2)).sum(axis=1)
        return idx, radius, np.maximum(far, 0.0)

    def _objective(self, y: np.ndarray, attract: np.ndarray, p: np.ndarray, near: Near) -> np.ndarray:
        """Each new work's KL(p || q) up to a constant: -sum p log w + log Z."""
        near_idx, _, z_far = near
        w_a = 1.0 / (1.0 + ((y[:, None, :] - self.coords[attract]) ** 2).sum(axis=2))
        w_r = 1.0 / (1.0 + ((y[:, None, :] - self.coords[near_idx]) ** 2).sum(axis=2))
        return -(p * np.log(w_a)).sum(axis=1) + np.log(w_r.sum(axis=1) + z_far)

    def _optimise(
        self, y: np.ndarray, attract: np.ndarray, p: np.ndarray, near: Near, params: PlacementParams
    ) -> np.ndarray:
        update = np.zeros_like(y)
        gains = np.ones_like(y)
        k = attract.shape[1]
        weights = p * params.exaggeration
        near_idx, radius, z_far = (a.copy() for a in near)
        # one (m, k + near, 2) block: the attracting neighbours first, then the repelling near set
        points = np.concatenate([self.coords[attract], self.coords[near_idx]], axis=1)
        anchor = y.copy()
        for _ in range(params.n_iter):
            moved = ((y - anchor) ** 2).sum(axis=1) > (radius / 4.0) ** 2
            if moved.any():
                near_idx[moved], radius[moved], z_far[moved] = self._near(y[moved], params.near)
                points[moved, k:] = self.coords[near_idx[moved]]
                anchor[moved] = y[moved]
            diff = y[:, None, :] - points
            w = 1.0 / (1.0 + np.einsum("mjd,mjd->mj", diff, diff))
            coef = np.empty_like(w)
            coef[:, :k] = weights * w[:, :k]
            repel = w[:, k:]
            coef[:, k:] = -(repel * repel) / (repel.sum(axis=1) + z_far)[:, None]
            grad = np.einsum("mj,mjd->md", coef, diff)
            norm = np.sqrt(np.einsum("md,md->m", grad, grad))[:, None]
            grad *= np.minimum(1.0, params.max_grad_norm / (norm + 1e-6))
            flipped = np.sign(update) != np.sign(grad)
            gains = np.where(flipped, gains + 0.2, gains * 0.8 + params.min_gain)
            update = params.momentum * update - params.learning_rate * gains * grad
            y += update
        return y


@dataclass
class Placer:
    """What places new works on one map: its network, and the fitted works to refine against."""

    net: Any  # maps.parametric.ParametricTSNE; not imported here, so this module stays torch-free
    reference: Reference | None  # None: the network's forward pass alone
    params: PlacementParams

    def place(self, X: np.ndarray) -> np.ndarray:
        """Frame coordinates: the network's start, refined among the fitted works."""
        raw = self.net.transform_raw(X)
        if self.reference is not None:
            raw = self.reference.place(X, raw, self.params)
        return self.net.normalisation.apply(raw)
