"""Parametric t-SNE: training on the KL objective, placing works, checkpoints."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from maps.artefacts import IncompatibleArtefact, check_artefact
from maps.metrics import map_quality, placement_quality
from maps.parametric import FORMAT_VERSION, ParametricConfig, ParametricTSNE
from maps.placement import PlacementParams, Reference
from maps.tsne import TSNEMap, TSNEParams, build_tsne
from tests.maps.synthetic import clustered_embeddings


@pytest.fixture(autouse=True)
def s3_storage() -> None:
    """Pure algorithm tests store nothing: skip the project-wide S3 bucket per test."""
    return None


N_FIT = 700
N_NEW = 60
FEATURES = "test-cnn-v1"
# A small budget: the tests check behaviour and a quality floor, not the best map.
CONFIG = ParametricConfig(
    hidden=(128, 128),
    pretrain_steps=(1200, 1200),
    kl_steps=(300, 300),
    log_every=20,
    seed=3,
)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return clustered_embeddings(N_FIT + N_NEW, dim=32, n_clusters=6, seed=21)


@pytest.fixture(scope="module")
def tsne_map(data: tuple[np.ndarray, np.ndarray]) -> TSNEMap:
    X, _ = data
    return build_tsne(X[:N_FIT], TSNEParams(perplexity=20, early_exaggeration_iter=125, n_iter=250, n_jobs=1, seed=3))


@pytest.fixture(scope="module")
def model(data: tuple[np.ndarray, np.ndarray], tsne_map: TSNEMap) -> ParametricTSNE:
    X, _ = data
    return ParametricTSNE.fit(
        X[:N_FIT],
        feature_version=FEATURES,
        init_coords=tsne_map.raw_coords,
        affinities=tsne_map.affinities,
        config=CONFIG,
    )


def test_the_kl_loss_decreases_during_training(model: ParametricTSNE) -> None:
    kl = model.loss_history
    assert len(kl) >= 10
    assert np.mean(kl[-3:]) < kl[0]
    assert model.pretrain_history[-1] < model.pretrain_history[0] / 10


def test_trained_from_scratch_the_kl_loss_falls_a_long_way(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, labels = data
    config = ParametricConfig(hidden=(64, 64), pretrain_steps=(100, 100), kl_steps=(400, 400), seed=1)
    scratch = ParametricTSNE.fit(X[:400], feature_version=FEATURES, config=config)
    assert np.mean(scratch.loss_history[-3:]) < 0.8 * scratch.loss_history[0]
    quality = map_quality(X[:400], scratch.transform(X[:400]), labels[:400])
    assert quality["knn_accuracy"] > 0.9


def test_every_fitted_work_gets_coordinates_within_the_frame(
    data: tuple[np.ndarray, np.ndarray], model: ParametricTSNE
) -> None:
    X, _ = data
    coords = model.transform(X[:N_FIT], clip=False)
    assert coords.min() >= -1.0 - 1e-9 and coords.max() <= 1.0 + 1e-9
    assert (coords.max(axis=0) - coords.min(axis=0)).max() == pytest.approx(2.0)


def test_the_map_meets_the_quality_floor_and_stays_close_to_opentsne(
    data: tuple[np.ndarray, np.ndarray], tsne_map: TSNEMap, model: ParametricTSNE
) -> None:
    X, labels = data
    ours = map_quality(X[:N_FIT], model.transform(X[:N_FIT]), labels[:N_FIT])
    reference = map_quality(X[:N_FIT], tsne_map.coords, labels[:N_FIT])
    assert ours["trustworthiness"] > 0.97
    assert ours["knn_recall"] > 0.3
    assert ours["knn_accuracy"] > 0.97
    assert ours["trustworthiness"] > 0.98 * reference["trustworthiness"]


def test_held_out_works_are_placed_as_well_as_fitted_ones(
    data: tuple[np.ndarray, np.ndarray], model: ParametricTSNE
) -> None:
    X, labels = data
    fitted = model.transform(X[:N_FIT])
    quality = placement_quality(
        X[:N_FIT],
        fitted,
        X[N_FIT:],
        model.transform(X[N_FIT:]),
        fitted_labels=labels[:N_FIT],
        new_labels=labels[N_FIT:],
    )
    assert quality["trustworthiness"] > 0.97
    assert quality["knn_recall"] > 0.25
    assert quality["knn_accuracy"] > 0.95


def test_it_places_a_new_point_without_moving_the_others(
    data: tuple[np.ndarray, np.ndarray], model: ParametricTSNE
) -> None:
    X, _ = data
    before = model.transform(X[:N_FIT])
    placed = model.transform(X[N_FIT:])
    after = model.transform(X[:N_FIT])
    np.testing.assert_array_equal(before, after)
    # placing one at a time or all together gives the same answer
    one_by_one = np.vstack([model.transform(x) for x in X[N_FIT : N_FIT + 5]])
    np.testing.assert_allclose(one_by_one, placed[:5], atol=1e-6)


def test_a_new_work_lands_near_its_nearest_neighbours_in_embedding_space(
    data: tuple[np.ndarray, np.ndarray], model: ParametricTSNE
) -> None:
    X, _ = data
    fitted, new = X[:N_FIT], X[N_FIT:]
    fitted_coords = model.transform(fitted)
    gaps = []
    for x, p in zip(new, model.transform(new)):
        nearest = np.argsort(((fitted - x) ** 2).sum(axis=1))[:10]
        gaps.append(np.linalg.norm(p - fitted_coords[nearest].mean(axis=0)))
    assert np.median(gaps) < 0.05
    assert np.max(gaps) < 0.3


def test_refined_placement_lands_held_out_works_among_their_neighbours_as_well_as_opentsne(
    data: tuple[np.ndarray, np.ndarray], model: ParametricTSNE, tsne_map: TSNEMap
) -> None:
    """The network's start refined against the fixed map closes the held-out gap of the forward pass."""
    X, labels = data
    fitted, new = X[:N_FIT], X[N_FIT:]
    on_network = model.transform_raw(fitted)
    start = model.transform_raw(new)
    refined = Reference(fitted, on_network).place(new, start, PlacementParams(perplexity=20.0))

    def recall(fitted_raw: np.ndarray, new_raw: np.ndarray) -> float:
        return placement_quality(fitted, fitted_raw, new, new_raw)["knn_recall"]

    forward_pass = recall(on_network, start)
    ours = recall(on_network, refined)
    on_opentsne = Reference(fitted, tsne_map.raw_coords).place(new, start, PlacementParams(perplexity=20.0))
    ours_on_opentsne = recall(tsne_map.raw_coords, on_opentsne)
    theirs = recall(tsne_map.raw_coords, tsne_map.normalisation.invert(tsne_map.transform(new, clip=False)))
    assert ours > forward_pass + 0.02
    assert ours_on_opentsne >= 0.95 * theirs
    assert (
        placement_quality(fitted, on_network, new, refined, fitted_labels=labels[:N_FIT], new_labels=labels[N_FIT:])[
            "knn_accuracy"
        ]
        > 0.95
    )


def test_a_checkpoint_round_trips_through_bytes(data: tuple[np.ndarray, np.ndarray], model: ParametricTSNE) -> None:
    X, _ = data
    blob = model.to_bytes()
    assert isinstance(blob, bytes)
    restored = ParametricTSNE.from_bytes(blob, feature_version=FEATURES, input_dim=32)
    np.testing.assert_array_equal(restored.transform(X[N_FIT:]), model.transform(X[N_FIT:]))
    assert restored.normalisation == model.normalisation
    assert restored.loss_history == model.loss_history
    assert restored.config == model.config


def test_a_checkpoint_holds_only_plain_data_safe_to_load(model: ParametricTSNE) -> None:
    checkpoint = torch.load(io.BytesIO(model.to_bytes()), weights_only=True)
    assert checkpoint["format_version"] == FORMAT_VERSION
    assert checkpoint["input_dim"] == 32
    assert checkpoint["feature_version"] == FEATURES
    assert set(checkpoint["normalisation"]) == {"centre", "scale"}
    assert checkpoint["architecture"]["hidden"] == [128, 128]


def test_a_checkpoint_for_another_feature_model_is_refused_loudly(model: ParametricTSNE) -> None:
    with pytest.raises(IncompatibleArtefact, match="feature model"):
        ParametricTSNE.from_bytes(model.to_bytes(), feature_version="test-cnn-v2")


def test_a_checkpoint_for_other_input_dimensions_is_refused_loudly(model: ParametricTSNE) -> None:
    with pytest.raises(IncompatibleArtefact, match="64-dimensional|32-dimensional"):
        ParametricTSNE.from_bytes(model.to_bytes(), feature_version=FEATURES, input_dim=64)


def test_a_checkpoint_in_another_format_is_refused_loudly(model: ParametricTSNE) -> None:
    checkpoint = model.to_checkpoint()
    checkpoint["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(IncompatibleArtefact, match="format_version"):
        ParametricTSNE.from_checkpoint(checkpoint, feature_version=FEATURES)


def test_a_checkpoint_from_before_the_stored_input_projection_is_refused_loudly(model: ParametricTSNE) -> None:
    old = model.to_checkpoint()
    old["format_version"] = 1
    state = old["state_dict"]
    state["in_std"] = torch.ones_like(state.pop("in_mean"))
    state.pop("in_proj")
    with pytest.raises(IncompatibleArtefact, match="format_version 1.*rebuild the map"):
        ParametricTSNE.from_checkpoint(old, feature_version=FEATURES)


def test_the_principal_component_projection_travels_with_the_network(
    data: tuple[np.ndarray, np.ndarray], tsne_map: TSNEMap
) -> None:
    X, _ = data
    config = ParametricConfig(
        hidden=(32,), input_pcs=8, whiten=True, pretrain_steps=(100, 100), kl_steps=(20, 20), seed=5
    )
    small = ParametricTSNE.fit(
        X[:N_FIT],
        feature_version=FEATURES,
        init_coords=tsne_map.raw_coords,
        affinities=tsne_map.affinities,
        config=config,
    )
    checkpoint = small.to_checkpoint()
    assert checkpoint["architecture"]["projected_dim"] == 8
    assert tuple(checkpoint["state_dict"]["in_proj"].shape) == (32, 8)
    # whitened: the fitted works' projected inputs have unit variance along every component
    projected = (torch.from_numpy(X[:N_FIT]) - small.net.in_mean) @ small.net.in_proj
    np.testing.assert_allclose(projected.var(dim=0).numpy(), 1.0, rtol=0.01)
    restored = ParametricTSNE.from_bytes(small.to_bytes(), feature_version=FEATURES, input_dim=32)
    np.testing.assert_array_equal(restored.transform(X[N_FIT:]), small.transform(X[N_FIT:]))


def test_bytes_that_are_not_a_checkpoint_are_refused_loudly() -> None:
    with pytest.raises(IncompatibleArtefact):
        ParametricTSNE.from_bytes(b"definitely not a checkpoint", feature_version=FEATURES)
    buffer = io.BytesIO()
    torch.save({"kind": "something_else", "format_version": FORMAT_VERSION}, buffer)
    with pytest.raises(IncompatibleArtefact, match="kind"):
        ParametricTSNE.from_bytes(buffer.getvalue(), feature_version=FEATURES)


def test_check_artefact_accepts_a_matching_artefact_and_ignores_unasked_questions() -> None:
    meta = {"kind": "map", "format_version": 2, "feature_version": "v1", "input_dim": 8}
    check_artefact(meta, kind="map", format_version=2, feature_version="v1", input_dim=8)
    check_artefact(meta, kind="map", format_version=2, feature_version=None)
    with pytest.raises(IncompatibleArtefact):
        check_artefact(meta, kind="map", format_version=1, feature_version=None)


def test_features_of_the_wrong_width_are_rejected_at_placement(model: ParametricTSNE) -> None:
    with pytest.raises(ValueError, match="32-dimensional"):
        model.transform(np.zeros((1, 31), dtype=np.float32))


def test_the_network_map_is_drawn_over_the_opentsne_map(
    data: tuple[np.ndarray, np.ndarray], tsne_map: TSNEMap, model: ParametricTSNE
) -> None:
    X, _ = data
    reference = tsne_map.raw_coords
    deviation = np.sqrt(((model.transform_raw(X[:N_FIT]) - reference) ** 2).sum(axis=1).mean())
    assert deviation < 0.15 * reference.std()
    in_opentsne_frame = tsne_map.normalisation.apply(model.transform_raw(X[:N_FIT]), clip=False)
    assert np.mean(np.abs(in_opentsne_frame) <= 1.0) > 0.95
