"""Automatic map regions and their names."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from maps.clusters import NOISE, cluster_map, find_clusters, name_clusters, target_regions


@pytest.fixture(autouse=True)
def s3_storage() -> None:
    """Pure algorithm tests store nothing: skip the project-wide S3 bucket per test."""
    return None


def _islands(n_per: tuple[int, ...] = (300, 200, 100), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[-0.6, -0.5], [0.6, -0.4], [0.0, 0.6]])
    coords = np.concatenate([c + rng.normal(scale=0.08, size=(k, 2)) for c, k in zip(centres, n_per)])
    truth = np.repeat(np.arange(len(n_per)), n_per)
    return coords, truth


# Asked for as many regions as the map has islands, the regions are the islands: these tests check the
# island finding (HDBSCAN) alone. By default a map gets about sqrt(n) / 2 regions, so three islands of
# 600 points are cut into 12 (tested below).


def test_it_finds_the_islands_of_a_map() -> None:
    coords, truth = _islands()
    labels = find_clusters(coords, regions=3)
    clustered = labels != NOISE
    assert clustered.mean() > 0.9
    assert adjusted_rand_score(truth[clustered], labels[clustered]) > 0.95


def test_clusters_are_numbered_by_decreasing_size_and_the_same_every_run() -> None:
    coords, _ = _islands()
    labels = find_clusters(coords)
    sizes = [int((labels == c).sum()) for c in range(labels.max() + 1)]
    assert sizes == sorted(sizes, reverse=True)
    np.testing.assert_array_equal(labels, find_clusters(coords))


def test_large_maps_are_clustered_on_a_sample_and_the_rest_follow_their_neighbours() -> None:
    coords, truth = _islands((1500, 1000, 500))
    labels = find_clusters(coords, max_points=600, seed=1, regions=3)
    clustered = labels != NOISE
    assert clustered.mean() > 0.9
    assert adjusted_rand_score(truth[clustered], labels[clustered]) > 0.95


def test_a_cluster_is_named_by_the_terms_it_has_more_than_the_rest_of_the_map() -> None:
    labels = np.array([0, 0, 1, 1])
    terms = [["woodcut"], ["woodcut", "paper"], ["oil"], ["oil", "paper"]]
    names = name_clusters(labels, terms, top_n=3)
    # woodcut: on all of cluster 0, half the map -> 1 * ln(1 / 0.5); paper is everywhere alike
    assert names[0] == [("woodcut", pytest.approx(math.log(2)))]
    assert names[1] == [("oil", pytest.approx(math.log(2)))]


def test_terms_common_to_the_whole_map_never_name_a_cluster() -> None:
    coords, truth = _islands()
    rng = np.random.default_rng(5)
    signature = {0: "ukiyo-e", 1: "impressionism", 2: "bronze"}
    terms = [["painting", signature[t]] + (["japan"] if t == 0 and rng.random() < 0.5 else []) for t in truth]
    labels, clusters = cluster_map(coords, terms, regions=3)
    assert len(clusters) == 3
    for cluster in clusters:
        names = [term for term, _ in cluster.terms]
        assert "painting" not in names
        majority = np.bincount(truth[labels == cluster.label]).argmax()
        assert names[0] == signature[int(majority)]
    ukiyo = next(c for c in clusters if c.terms[0][0] == "ukiyo-e")
    assert [t for t, _ in ukiyo.terms] == ["ukiyo-e", "japan"]
    assert ukiyo.size == int((labels == ukiyo.label).sum())


def test_cluster_centroids_sit_on_their_islands() -> None:
    coords, _ = _islands()
    _, clusters = cluster_map(coords, regions=3)
    centroids = sorted((round(c.centroid[0], 1), round(c.centroid[1], 1)) for c in clusters)
    assert centroids == [(-0.6, -0.5), (0.0, 0.6), (0.6, -0.4)]
    assert all(c.terms == [] for c in clusters)


def test_a_map_gets_about_sqrt_n_over_2_regions_each_on_one_island() -> None:
    """Three islands of 300, 200 and 100 points: 12 regions of about 50, cut in proportion, none across two."""
    coords, truth = _islands()
    labels = find_clusters(coords)
    assert target_regions(len(coords)) == 12 and labels.max() + 1 == 12
    clustered = labels != NOISE
    assert clustered.mean() > 0.9  # cutting islands leaves no more points out
    islands_of = [set(truth[labels == c]) for c in range(12)]
    assert all(len(s) == 1 for s in islands_of)  # each region on one island
    per_island = np.bincount([next(iter(s)) for s in islands_of], minlength=3)
    assert per_island.tolist() == [6, 4, 2]
    sizes = np.bincount(labels[clustered])
    assert sizes.min() >= 25 and sizes.max() <= 100  # compact parts of about 50 each
    # on the same 12 regions, every run
    np.testing.assert_array_equal(labels, find_clusters(coords))


def test_a_map_with_enough_islands_keeps_them_whole() -> None:
    rng = np.random.default_rng(2)
    centres = np.stack(np.meshgrid(np.linspace(-0.8, 0.8, 4), np.linspace(-0.8, 0.8, 3)), axis=-1).reshape(-1, 2)
    coords = np.concatenate([c + rng.normal(scale=0.04, size=(50, 2)) for c in centres])
    truth = np.repeat(np.arange(12), 50)
    labels = find_clusters(coords)
    assert target_regions(len(coords)) == 12
    clustered = labels != NOISE
    assert clustered.mean() > 0.9
    assert adjusted_rand_score(truth[clustered], labels[clustered]) > 0.95
