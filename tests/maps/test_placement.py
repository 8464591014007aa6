"""Placing new works against a fixed map: affinities, the refinement's guarantees, parameters, layout choice."""

from __future__ import annotations

import numpy as np
import pytest

from maps.placement import LAYOUTS, PlacementParams, Reference, choose_layout, perplexity_affinities
from maps.tsne import TSNEParams, build_tsne
from tests.maps.synthetic import clustered_embeddings


@pytest.fixture(autouse=True)
def s3_storage() -> None:
    """Pure algorithm tests store nothing: skip the project-wide S3 bucket per test."""
    return None


@pytest.fixture(scope="module")
def reference() -> tuple[Reference, np.ndarray]:
    """An openTSNE map of 600 fitted works, and 40 new ones from the same clusters."""
    X, _ = clustered_embeddings(640, dim=24, n_clusters=5, seed=4)
    fitted = build_tsne(X[:600], TSNEParams(early_exaggeration_iter=125, n_iter=250, n_jobs=1, seed=4))
    return Reference(X[:600], fitted.raw_coords), X[600:]


def test_a_new_works_affinities_have_the_requested_perplexity() -> None:
    sq = np.sort(np.random.default_rng(0).uniform(0.2, 9.0, size=(50, 90)), axis=1)
    p = perplexity_affinities(sq, 30.0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    entropy = -(p * np.log(p)).sum(axis=1)
    np.testing.assert_allclose(np.exp(entropy), 30.0, rtol=1e-3)
    assert np.all(np.diff(p, axis=1) <= 1e-15)  # nearer neighbours weigh more


def test_it_moves_no_fitted_work(reference: tuple[Reference, np.ndarray]) -> None:
    ref, new = reference
    before = ref.coords.copy()
    ref.place(new, np.zeros((len(new), 2)))
    np.testing.assert_array_equal(ref.coords, before)


def test_a_work_whose_start_is_far_off_the_map_starts_from_its_neighbours_instead(
    reference: tuple[Reference, np.ndarray],
) -> None:
    ref, new = reference
    start = ref.coords.max(axis=0) + 50.0  # outside the map, far from every cluster
    start = np.repeat(start[None, :], len(new), axis=0)
    placed = ref.place(new, start)
    idx, _ = ref.neighbours(new, 10)
    gaps = np.linalg.norm(placed - ref.coords[idx].mean(axis=1), axis=1)
    spread = np.linalg.norm(ref.coords[idx] - ref.coords[idx].mean(axis=1, keepdims=True), axis=2).mean(axis=1)
    assert np.median(gaps) < np.median(spread)  # within its neighbours' own scatter
    assert np.all(gaps < 3 * spread)


def test_refinement_lands_works_among_their_neighbours_more_often_than_its_start(
    reference: tuple[Reference, np.ndarray],
) -> None:
    """From a smooth interpolation (the mean position of the 30 nearest fitted works, the kind of
    start a network gives), the refinement finds the right ten neighbours markedly more often."""
    ref, new = reference
    idx, _ = ref.neighbours(new, 30)
    start = ref.coords[idx].mean(axis=1)

    def recall(placed: np.ndarray) -> float:
        truth, _ = ref.neighbours(new, 10)
        on_map = np.argsort(((placed[:, None, :] - ref.coords[None, :, :]) ** 2).sum(axis=2), axis=1)[:, :10]
        return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, on_map)]))

    assert recall(ref.place(new, start)) > recall(start) + 0.05


def test_placing_works_together_gives_each_the_position_it_gets_alone(
    reference: tuple[Reference, np.ndarray],
) -> None:
    ref, new = reference
    start = np.random.default_rng(1).normal(scale=np.ptp(ref.coords) / 4, size=(len(new), 2))
    together = ref.place(new, start, PlacementParams(batch=16))
    alone = np.vstack([ref.place(new[i : i + 1], start[i : i + 1]) for i in range(5)])
    # equal up to float32 rounding in the batched distance product, which can shift when a near set is
    # gathered again: within 1e-4 of the map's width
    np.testing.assert_allclose(alone, together[:5], atol=1e-4 * np.ptp(ref.coords))
    np.testing.assert_array_equal(ref.place(new, start), ref.place(new, start))  # deterministic


def test_repulsion_from_only_the_nearest_works_matches_repulsion_from_all(
    reference: tuple[Reference, np.ndarray],
) -> None:
    ref, new = reference
    start = np.random.default_rng(2).normal(scale=np.ptp(ref.coords) / 4, size=(len(new), 2))
    exact = ref.place(new, start, PlacementParams(near=len(ref)))
    local = ref.place(new, start, PlacementParams(near=128))
    assert np.median(np.linalg.norm(exact - local, axis=1)) < 0.05 * np.ptp(ref.coords)


def test_no_steps_keeps_the_networks_start(reference: tuple[Reference, np.ndarray]) -> None:
    ref, new = reference
    start = np.arange(len(new) * 2, dtype=np.float64).reshape(-1, 2)
    np.testing.assert_array_equal(ref.place(new, start, PlacementParams(n_iter=0)), start)


def test_vectors_of_the_wrong_width_or_starts_of_the_wrong_shape_are_refused(
    reference: tuple[Reference, np.ndarray],
) -> None:
    ref, new = reference
    with pytest.raises(ValueError, match="expected 24-dimensional vectors, got 7"):
        ref.place(new[:, :7], np.zeros((len(new), 2)))
    with pytest.raises(ValueError, match="one start per work"):
        ref.place(new, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="one 2-D coordinate per vector"):
        Reference(new, np.zeros((len(new) + 1, 2)))


def test_unknown_or_impossible_placement_parameters_are_refused() -> None:
    assert PlacementParams.from_dict({"n_iter": 0, "perplexity": 10}).neighbours == 30
    assert PlacementParams.from_dict({"near": 64.0, "k": "20", "exaggeration": "2"}) == PlacementParams(
        near=64, k=20, exaggeration=2.0
    )
    with pytest.raises(ValueError, match="must be numbers: near='many'"):
        PlacementParams.from_dict({"near": "many"})
    with pytest.raises(ValueError, match="near must be a whole number, got 512.7"):
        PlacementParams.from_dict({"near": 512.7})
    with pytest.raises(ValueError, match="perplexity must be finite and positive"):
        PlacementParams.from_dict({"perplexity": "inf"})
    with pytest.raises(ValueError, match="exaggeration, momentum"):
        PlacementParams(exaggeration=-1.0, momentum=1.0)
    with pytest.raises(ValueError, match="unknown placement parameter.*n_iters"):
        PlacementParams.from_dict({"n_iters": 50})
    with pytest.raises(ValueError, match="n_iter >= 0"):
        PlacementParams(n_iter=-1)
    with pytest.raises(ValueError, match="perplexity must be finite and positive"):
        PlacementParams(perplexity=0)


def test_the_network_keeps_its_own_layout_while_its_recall_is_close_to_opentsnes() -> None:
    close = {"parametric": 0.58, "opentsne": 0.60}
    far = {"parametric": 0.12, "opentsne": 0.53}
    assert choose_layout("auto", close) == "parametric"
    assert choose_layout("auto", far) == "opentsne"
    assert choose_layout("parametric", far) == "parametric"
    assert choose_layout("opentsne", close) == "opentsne"
    assert set(LAYOUTS) == {"auto", "parametric", "opentsne"}
    with pytest.raises(ValueError, match="unknown layout 'tsne'"):
        choose_layout("tsne", close)
