"""A free spot for a placed work: it never covers a point already on the map (issue #16)."""

from __future__ import annotations

import numpy as np
import pytest

from maps.spacing import median_gap, nearest_free


@pytest.fixture(autouse=True)
def s3_storage() -> None:
    """Pure algorithm tests store nothing: skip the project-wide S3 bucket per test."""
    return None


def _island(n: int = 200, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=0.1, size=(n, 2))


def test_a_work_on_top_of_another_moves_to_the_nearest_spot_a_gap_from_every_point() -> None:
    taken = _island()
    gap = 0.5 * median_gap(taken)
    twin = taken[17] + 1e-4  # a near-duplicate lands on its twin
    spot = np.array(nearest_free(twin, taken, gap))
    clearance = np.linalg.norm(taken - spot, axis=1)
    assert clearance.min() >= gap - 1e-12
    # nearest: no free candidate on a finer scan of the disc it skipped over
    angles = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    for r in np.linspace(gap / 20, np.linalg.norm(spot - twin) - gap / 2, 10):
        disc = twin + r * np.column_stack([np.cos(angles), np.sin(angles)])
        assert (np.linalg.norm(disc[:, None] - taken[None], axis=2).min(axis=1) < gap).all()
    assert np.linalg.norm(spot - twin) <= 4 * gap  # it stays among its neighbours
    assert nearest_free(twin, taken, gap) == tuple(spot)  # and the same spot every time


def test_a_work_with_room_around_it_stays_where_it_was_put() -> None:
    taken = _island()
    gap = 0.5 * median_gap(taken)
    assert nearest_free((0.9, 0.9), taken, gap) == (0.9, 0.9)
    assert nearest_free((0.1, 0.2), np.empty((0, 2)), gap) == (0.1, 0.2)


def test_the_spot_stays_inside_the_maps_frame() -> None:
    taken = np.array([[1.0, 1.0], [0.98, 1.0], [1.0, 0.98]])
    x, y = nearest_free((1.0, 1.0), taken, 0.05)
    assert abs(x) <= 1 and abs(y) <= 1
    assert np.linalg.norm(taken - (x, y), axis=1).min() >= 0.05


def test_the_median_gap_is_the_typical_nearest_neighbour_distance() -> None:
    grid = np.stack(np.meshgrid(np.arange(10), np.arange(10)), axis=-1).reshape(-1, 2) * 0.1
    assert median_gap(grid) == pytest.approx(0.1)
    assert median_gap(grid, sample=30) == pytest.approx(0.1)
    assert median_gap(grid[:1]) == 0.0
