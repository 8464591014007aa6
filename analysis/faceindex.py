"""Nearest painted faces, over the faces of published works (web side: numpy only, no dlib).

An exact index (analysis.index.VectorIndex, Euclidean): every query is one matrix-vector difference over the visible
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

from analysis.index import VectorIndex
from analysis.models import Face
from analysis.vectors import face_vectors
from core.stamp import current_stamp

_lock = threading.Lock()
_cached: dict[str, tuple[str, VectorIndex]] = {}


@dataclass(frozen=True)
class Neighbour:
    id: int  # face id
    distance: float


def visible_index(version: str) -> VectorIndex:
    """The published works' faces found by one face model (faces of other models are not comparable)."""
    stamp = current_stamp()
    with _lock:
        hit = _cached.get(version)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        faces = face_vectors(version, Face.objects.visible())
        index = VectorIndex(faces.face_ids, faces.X, metric="euclidean")
        if len(_cached) > 4:  # a model rollout: old versions age out
            _cached.clear()
        _cached[version] = (stamp, index)
        return index


def similar_faces(face: Face, k: int) -> list[Neighbour]:
    found = visible_index(face.model_version).search(face.array(), k, exclude=[face.pk])
    return [Neighbour(n.id, n.score) for n in found]


def nearest_faces(version: str, descriptor: np.ndarray, k: int) -> list[Neighbour]:
    return [Neighbour(n.id, n.score) for n in visible_index(version).search(descriptor, k)]


def with_faces(neighbours: list[Neighbour]) -> list[tuple[Face, float]]:
    """The neighbours' rows, still visible now (a work unpublished since the index loaded is dropped)."""
    faces = Face.objects.visible().select_related("artwork__image").in_bulk([n.id for n in neighbours])
    return [(faces[n.id], n.distance) for n in neighbours if n.id in faces]
