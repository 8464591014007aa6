"""Similar works and search by vector, over published works only.

The web process keeps one in-memory index per feature model, rebuilt when a
shared stamp in the cache changes (new vectors, publish/unpublish), so every
process answers from memory and none serves a stale index for long.
"""

from __future__ import annotations

import threading

import numpy as np

from analysis.index import Neighbour, VectorIndex
from analysis.models import Embedding, FeatureModel
from analysis.vectors import work_vectors
from collection.models import Artwork
from core.stamp import current_stamp

_lock = threading.Lock()
_cached: dict[str, tuple[str, VectorIndex]] = {}


def published_index() -> tuple[FeatureModel, VectorIndex] | None:
    feature_model = FeatureModel.objects.active()
    if feature_model is None:
        return None
    stamp = current_stamp()
    with _lock:
        hit = _cached.get(feature_model.version)
        if hit is not None and hit[0] == stamp:
            return feature_model, hit[1]
        ids, matrix = work_vectors(feature_model)
        index = VectorIndex(ids, matrix)
        _cached.clear()
        _cached[feature_model.version] = (stamp, index)
        return feature_model, index


class NotEmbedded(LookupError):
    """The work has no vector under the active feature model yet."""


def similar_to(artwork: Artwork, k: int) -> list[Neighbour]:
    loaded = published_index()
    if loaded is None:
        raise NotEmbedded("no feature model is active yet: process the collection first")
    feature_model, index = loaded
    vector = index.vector(artwork.pk)
    if vector is None:
        embedding = Embedding.objects.filter(artwork=artwork, feature_model=feature_model).first()
        if embedding is None:
            raise NotEmbedded(f"artwork {artwork.accession_number} has no features yet")
        vector = embedding.array()
    return index.search(vector, k, exclude=[artwork.pk])


def nearest_to_vector(vector: np.ndarray, k: int) -> list[Neighbour]:
    loaded = published_index()
    if loaded is None:
        raise NotEmbedded("no feature model is active yet: process the collection first")
    return loaded[1].search(vector, k)


def with_artworks(neighbours: list[Neighbour]) -> list[tuple[Artwork, float]]:
    works = Artwork.objects.published().with_related().select_related("image").in_bulk([n.id for n in neighbours])
    return [(works[n.id], n.score) for n in neighbours if n.id in works]
