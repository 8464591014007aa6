"""Stored vectors as one matrix: the only place that reads feature vectors and face descriptors in bulk.

Map builds, placement on a map, similar works and search by face all read the same columns
the same way, so they share this loader: rows in a fixed order (works by id, faces by id),
streamed in chunks, and joined into one float32 matrix with a row per key. Vectors live next
to the models that make them (stage 2), so every later stage can read them without an upward
import. numpy and Django only: the web process loads it for its similar-works and faces indexes.
docs/decisions/one-vector-loader.md has what it replaced and the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import QuerySet

from analysis.faces import DESCRIPTOR_DIM
from analysis.models import Embedding, Face, FeatureModel
from collection.models import Artwork

CHUNK_ROWS = 2000


def load_matrix(
    rows: QuerySet[Any], column: str, keys: tuple[str, ...], dim: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """(one int64 array per key field, matrix): the rows' little-endian float32 ``column``, one row each.

    ``rows`` must be ordered by the caller: the order is what makes two loads of the same rows
    comparable (the fitted works of a build, a cached index). The matrix is backed by a
    bytearray, so torch and numpy can use it in place.
    """
    columns: list[list[int]] = [[] for _ in keys]
    chunks: list[bytes] = []
    for row in rows.values_list(*keys, column).iterator(chunk_size=CHUNK_ROWS):
        for values, value in zip(columns, row[:-1]):
            values.append(value)
        chunks.append(bytes(row[-1]))
    ids = [np.asarray(values, dtype=np.int64) for values in columns]
    if not chunks:
        return ids, np.empty((0, dim), dtype=np.float32)
    matrix = np.frombuffer(bytearray(b"".join(chunks)), dtype="<f4").reshape(len(chunks), -1)
    return ids, matrix


def work_vectors(
    feature_model: FeatureModel, artworks: QuerySet[Artwork] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(work ids, matrix) of the given works (default: the published ones) under one feature model."""
    if artworks is None:
        artworks = Artwork.objects.published()
    rows = Embedding.objects.filter(feature_model=feature_model, artwork__in=artworks).order_by("artwork_id")
    (ids,), matrix = load_matrix(rows, "vector", ("artwork_id",), feature_model.dim or 0)
    return ids, matrix


@dataclass(frozen=True)
class FaceVectors:
    """One face model's descriptors: row ``i`` is face ``face_ids[i]``, painted in work ``artwork_ids[i]``."""

    face_ids: np.ndarray
    artwork_ids: np.ndarray
    X: np.ndarray

    def __len__(self) -> int:
        return len(self.face_ids)


def face_vectors(version: str, faces: QuerySet[Face] | None = None) -> FaceVectors:
    """The descriptors of the given faces (default: all) found by face model ``version``, by face id.

    Only one model's faces are ever loaded together: descriptors of two models mean different things.
    """
    rows = (Face.objects.all() if faces is None else faces).filter(model_version=version).order_by("pk")
    (face_ids, artwork_ids), X = load_matrix(rows, "descriptor", ("pk", "artwork_id"), DESCRIPTOR_DIM)
    return FaceVectors(face_ids=face_ids, artwork_ids=artwork_ids, X=X)
