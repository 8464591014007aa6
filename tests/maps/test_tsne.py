"""The openTSNE reference map: its [-1, 1] frame and placing works afterwards."""

from __future__ import annotations

import numpy as np
import pytest

from maps.metrics import map_quality
from maps.tsne import Normalisation, TSNEMap, TSNEParams, build_tsne
from tests.maps.synthetic import clustered_embeddings


@pytest.fixture(autouse=True)
def s3_storage() -> None:
    """Pure algorithm tests store nothing: skip the project-wide S3 bucket per test."""
    return None


N_FIT = 600
# Single-threaded: on a busy 2-core machine openTSNE's threads mostly wait for each other.
PARAMS = TSNEParams(perplexity=20, early_exaggeration_iter=125, n_iter=250, n_jobs=1, seed=7)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return clustered_embeddings(N_FIT + 40, dim=32, n_clusters=6, seed=11)


@pytest.fixture(scope="module")
def tsne_map(data: tuple[np.ndarray, np.ndarray]) -> TSNEMap:
    X, _ = data
    return build_tsne(X[:N_FIT], PARAMS)


def _neighbour_centroid(tsne_map: TSNEMap, fitted: np.ndarray, x: np.ndarray, k: int = 10) -> np.ndarray:
    nearest = np.argsort(((fitted - x) ** 2).sum(axis=1))[:k]
    return tsne_map.coords[nearest].mean(axis=0)


def test_building_gives_every_work_coordinates_within_the_frame(tsne_map: TSNEMap) -> None:
    coords = tsne_map.coords
    assert coords.shape == (N_FIT, 2)
    assert np.all(np.isfinite(coords))
    assert coords.min() >= -1.0 and coords.max() <= 1.0
    # the frame is tight: the longer side spans exactly [-1, 1]
    spans = coords.max(axis=0) - coords.min(axis=0)
    assert spans.max() == pytest.approx(2.0)


def test_the_frame_can_be_undone_to_recover_raw_tsne_coordinates(tsne_map: TSNEMap) -> None:
    restored = tsne_map.normalisation.invert(tsne_map.coords)
    np.testing.assert_allclose(restored, tsne_map.raw_coords, atol=1e-9)
    again = Normalisation.from_dict(tsne_map.normalisation.to_dict())
    assert again == tsne_map.normalisation


def test_the_map_keeps_clusters_apart(data: tuple[np.ndarray, np.ndarray], tsne_map: TSNEMap) -> None:
    X, labels = data
    quality = map_quality(X[:N_FIT], tsne_map.coords, labels[:N_FIT])
    assert quality["trustworthiness"] > 0.95
    assert quality["knn_accuracy"] > 0.95


def test_the_same_seed_builds_the_same_map(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = data
    params = TSNEParams(perplexity=10, early_exaggeration_iter=50, n_iter=100, n_jobs=1, seed=7)
    first, second = build_tsne(X[:200], params), build_tsne(X[:200], params)
    np.testing.assert_array_equal(first.coords, second.coords)


def test_it_places_new_works_without_moving_the_others(data: tuple[np.ndarray, np.ndarray], tsne_map: TSNEMap) -> None:
    X, _ = data
    before = tsne_map.coords.copy()
    raw_before = tsne_map.raw_coords.copy()
    placed = tsne_map.transform(X[N_FIT:])
    assert placed.shape == (40, 2)
    assert placed.min() >= -1.0 and placed.max() <= 1.0
    np.testing.assert_array_equal(tsne_map.coords, before)
    np.testing.assert_array_equal(tsne_map.raw_coords, raw_before)


def test_a_new_work_lands_near_its_nearest_neighbours_in_embedding_space(
    data: tuple[np.ndarray, np.ndarray], tsne_map: TSNEMap
) -> None:
    X, _ = data
    fitted, new = X[:N_FIT], X[N_FIT:]
    placed = tsne_map.transform(new)
    gaps = [np.linalg.norm(p - _neighbour_centroid(tsne_map, fitted, x)) for p, x in zip(placed, new)]
    # compared with the map's size (2 across), new works land right by their neighbours
    assert np.median(gaps) < 0.05
    assert np.max(gaps) < 0.3


def test_the_affinities_are_a_normalised_symmetric_neighbour_graph(tsne_map: TSNEMap) -> None:
    P = tsne_map.affinities
    assert P.shape == (N_FIT, N_FIT)
    assert P.sum() == pytest.approx(1.0)
    assert abs(P - P.T).max() < 1e-12
