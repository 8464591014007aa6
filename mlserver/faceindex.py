"""Nearest painted faces, over the faces of published works (web side: numpy only, no dlib).

An exact index: every query is one matrix-vector difference over the visible
descriptors of one face model, which for a museum's tens of thousands of faces is
a few milliseconds and needs no approximate-search library. Each process keeps
the matrix in memory and reloads it when the shared stamp changes (faces
replaced, works published or unpublished), like the similar-works index.
Distances are Euclidean, the metric dlib's descriptor was trained for; below
about 0.6 dlib calls two faces the same person (on photos: a hint on paintings).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from embeddings.similar import current_stamp
from mlserver.faces import DESCRIPTOR_DIM, face_distances
from mlserver.models import Face

_lock = threading.Lock()
_cached: dict[str, tuple[str, "FaceIndex"]] = {}


@dataclass(frozen=True)
class Neighbour:
    id: int  # face id
    distance: float


class FaceIndex:
    def __init__(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        self.ids = ids
        self.matrix = matrix
        self._row = {int(face_id): row for row, face_id in enumerate(ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: np.ndarray, k: int, *, exclude: int | None = None) -> list[Neighbour]:
        if not len(self.ids):
            return []
        distances = face_distances(query, self.matrix)
        if exclude is not None and exclude in self._row:
            distances[self._row[exclude]] = np.inf
        k = min(k, len(self.ids) - (1 if exclude in self._row else 0))
        if k <= 0:
            return []
        top = np.argpartition(distances, k - 1)[:k] if k < len(distances) else np.arange(len(distances))
        top = top[np.lexsort((self.ids[top], distances[top]))]  # nearest first, ties by id: stable answers
        return [Neighbour(int(self.ids[i]), float(distances[i])) for i in top]


def _load(version: str) -> FaceIndex:
    rows = Face.objects.visible().filter(model_version=version).order_by("pk").values_list("pk", "descriptor")
    ids: list[int] = []
    chunks: list[bytes] = []
    for face_id, descriptor in rows.iterator(chunk_size=5000):
        ids.append(face_id)
        chunks.append(bytes(descriptor))
    matrix = np.frombuffer(b"".join(chunks), dtype="<f4").reshape(len(ids), DESCRIPTOR_DIM)
    return FaceIndex(np.asarray(ids, dtype=np.int64), matrix)


def visible_index(version: str) -> FaceIndex:
    """The published works' faces found by one face model (faces of other models are not comparable)."""
    stamp = current_stamp()
    with _lock:
        hit = _cached.get(version)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        index = _load(version)
        if len(_cached) > 4:  # a model rollout: old versions age out
            _cached.clear()
        _cached[version] = (stamp, index)
        return index


def similar_faces(face: Face, k: int) -> list[Neighbour]:
    return visible_index(face.model_version).search(face.array(), k, exclude=face.pk)


def nearest_faces(version: str, descriptor: np.ndarray, k: int) -> list[Neighbour]:
    return visible_index(version).search(np.asarray(descriptor, dtype=np.float32), k)


def with_faces(neighbours: list[Neighbour]) -> list[tuple[Face, float]]:
    """The neighbours' rows, still visible now (a work unpublished since the index loaded is dropped)."""
    faces = Face.objects.visible().select_related("artwork__image").in_bulk([n.id for n in neighbours])
    return [(faces[n.id], n.distance) for n in neighbours if n.id in faces]
