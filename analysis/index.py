"""Exact nearest-neighbour search over the collection's vectors (cosine) and face descriptors (Euclidean).

A museum collection is at most a few hundred thousand works, so an exact
matrix product over L2-normalised float32 vectors answers in milliseconds
(see bench/similar.py) with no approximate-index tuning or extra service.
Plain numpy, no Django, no torch: the web process can use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np


def l2_normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


@dataclass(frozen=True)
class Neighbour:
    id: int
    score: float  # cosine similarity in [-1, 1]; with metric="euclidean", the distance


class VectorIndex:
    """``cosine`` for feature vectors (nearest = highest similarity); ``euclidean`` for descriptors
    trained for that distance, such as dlib's faces (nearest = smallest distance)."""

    def __init__(
        self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray, *, metric: Literal["cosine", "euclidean"] = "cosine"
    ) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(ids) != vectors.shape[0]:
            raise ValueError("ids and vectors must have one row per id")
        if metric not in ("cosine", "euclidean"):
            raise ValueError(f"unknown metric {metric!r}")
        self.metric = metric
        self.ids = np.asarray(ids, dtype=np.int64)
        self.vectors = np.ascontiguousarray(l2_normalise(vectors) if metric == "cosine" else vectors)
        self._row = {int(i): r for r, i in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1]) if len(self) else 0

    def vector(self, id_: int) -> np.ndarray | None:
        row = self._row.get(int(id_))
        return None if row is None else self.vectors[row]

    def search(self, query: np.ndarray, k: int = 10, *, exclude: Sequence[int] = ()) -> list[Neighbour]:
        """Nearest first, ties broken by id so answers are stable."""
        if len(self) == 0:
            return []
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.dim:
            raise ValueError(f"query has {query.shape[0]} dimensions, the index has {self.dim}")
        if self.metric == "cosine":
            scores = self.vectors @ l2_normalise(query[None, :])[0]
            distance = -scores  # the sort key: smaller is nearer
        else:
            scores = distance = np.linalg.norm(self.vectors - query[None, :], axis=1)
        excluded = [self._row[int(id_)] for id_ in exclude if int(id_) in self._row]
        distance[excluded] = np.inf
        k = max(0, min(k, len(self) - len(excluded)))
        if k == 0:
            return []
        top = np.argpartition(distance, k - 1)[:k]
        top = top[np.lexsort((self.ids[top], distance[top]))]
        return [Neighbour(int(self.ids[r]), float(scores[r])) for r in top if np.isfinite(distance[r])]
