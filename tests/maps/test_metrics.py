"""Map-quality metrics, checked on cases small enough to work out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.manifold import trustworthiness as sklearn_trustworthiness

from maps.metrics import (
    knn_label_accuracy,
    knn_recall,
    map_quality,
    placement_quality,
    trustworthiness,
)


@pytest.fixture(autouse=True)
def s3_storage() -> None:
    """Pure algorithm tests store nothing: skip the project-wide S3 bucket per test."""
    return None


def _line(xs: list[float]) -> np.ndarray:
    return np.array([[x, 0.0] for x in xs])


def test_a_map_identical_to_the_embedding_is_perfect() -> None:
    points = np.random.default_rng(0).normal(size=(50, 2))
    quality = map_quality(points, points, k=5)
    assert quality["trustworthiness"] == pytest.approx(1.0)
    assert quality["knn_recall"] == pytest.approx(1.0)


def test_trustworthiness_agrees_with_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    embeddings = rng.normal(size=(80, 6))
    coords = embeddings[:, :2] + rng.normal(scale=0.5, size=(80, 2))
    expected = sklearn_trustworthiness(embeddings, coords, n_neighbors=5)
    assert trustworthiness(embeddings, coords, k=5) == pytest.approx(expected, abs=1e-12)


def test_knn_recall_counts_the_neighbours_the_map_keeps() -> None:
    # True line 0,1,3,7. The map swaps the last two works: A and B keep each other,
    # C (true neighbour B) and D (true neighbour C) both get the wrong one.
    embeddings = _line([0, 1, 3, 7])
    coords = _line([0, 1, 7, 3])
    assert knn_recall(embeddings, coords, k=1) == pytest.approx(0.5)


def test_knn_accuracy_votes_with_the_neighbours_on_the_map() -> None:
    coords = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [10, 10], [10, 11], [11, 10], [11, 11]], float)
    labels = ["a", "a", "a", "a", "b", "b", "b", "a"]  # the last one sits among the b's
    assert knn_label_accuracy(coords, labels, k=3) == pytest.approx(7 / 8)


def test_large_maps_are_estimated_on_a_seeded_sample_of_works_and_say_so() -> None:
    rng = np.random.default_rng(2)
    embeddings = rng.normal(size=(600, 5))
    coords = embeddings[:, :2] + rng.normal(scale=0.3, size=(600, 2))
    full = map_quality(embeddings, coords)
    sampled = map_quality(embeddings, coords, max_queries=200, seed=3)
    assert full["subsampled"] == 0.0 and full["n_evaluated"] == 600.0
    assert sampled["subsampled"] == 1.0 and sampled["n_evaluated"] == 200.0
    assert sampled["trustworthiness"] == pytest.approx(full["trustworthiness"], abs=0.02)
    assert sampled == map_quality(embeddings, coords, max_queries=200, seed=3)


def test_a_work_placed_exactly_where_it_belongs_scores_perfectly() -> None:
    fitted = _line([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    new = _line([2.1, 7.9])
    quality = placement_quality(fitted, fitted, new, new, k=3)
    assert quality["trustworthiness"] == pytest.approx(1.0)
    assert quality["knn_recall"] == pytest.approx(1.0)


def test_a_misplaced_new_work_is_penalised_by_how_far_its_map_neighbours_really_are() -> None:
    fitted = _line([0, 1, 2, 3, 4])
    new_embedding = _line([0.1])  # truly next to work 0, then 1, 2, ...
    new_coords = _line([4.1])  # but drawn next to work 4
    quality = placement_quality(fitted, fitted, new_embedding, new_coords, k=1)
    assert quality["knn_recall"] == 0.0
    # map neighbour is work 4, true rank 5 of m=5: cost (5-1), normalised by k(2m-3k+1)/2 = 4
    assert quality["trustworthiness"] == pytest.approx(0.0)


def test_placed_works_are_classified_by_the_labels_of_the_fitted_works_around_them() -> None:
    fitted = np.array([[0, 0], [0, 1], [1, 0], [9, 9], [9, 10], [10, 9]], float)
    labels = np.array([0, 0, 0, 1, 1, 1])
    new = np.array([[0.5, 0.5], [9.5, 9.5]])
    quality = placement_quality(fitted, fitted, new, new, fitted_labels=labels, new_labels=np.array([0, 0]), k=3)
    assert quality["knn_accuracy"] == pytest.approx(0.5)


def test_metrics_return_plain_floats() -> None:
    points = np.random.default_rng(4).normal(size=(30, 3))
    quality = map_quality(points, points[:, :2], np.arange(30) % 2, k=3)
    assert all(type(value) is float for value in quality.values())
