"""The grid, timeline and group layouts (maps.layouts): one cell per work, neighbourhoods kept."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.spatial import cKDTree

from maps.layouts import (
    Frame,
    assign_cells,
    grid_layout,
    group_layout,
    lattice_frame,
    nearest_free_cell,
    normalise,
    timeline_layout,
)


def _clustered_2d(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(8, 2)) * 6
    return centres[rng.integers(0, 8, n)] + rng.normal(size=(n, 2))


def _knn_overlap(a: np.ndarray, b: np.ndarray, k: int = 10) -> float:
    ia = cKDTree(a).query(a, k + 1)[1][:, 1:]
    ib = cKDTree(b).query(b, k + 1)[1][:, 1:]
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(ia, ib)]))


def _distinct(cells: np.ndarray) -> bool:
    return len({tuple(c) for c in np.asarray(cells).tolist()}) == len(cells)


@pytest.mark.parametrize("n,exact_max", [(1, 1000), (2, 1000), (37, 1000), (500, 1000), (2500, 0), (2500, 1000)])
def test_every_work_gets_its_own_cell_inside_the_lattice(n, exact_max):
    grid = grid_layout(_clustered_2d(n), exact_max=exact_max, leaf=64)
    assert grid.cells.shape == (n, 2) and _distinct(grid.cells)
    assert grid.cells[:, 0].min() >= 0 and grid.cells[:, 0].max() < grid.frame.cols
    assert grid.cells[:, 1].min() >= 0 and grid.cells[:, 1].max() < grid.frame.rows
    assert grid.frame.cols * grid.frame.rows < n + grid.frame.cols  # no more than one row to spare
    assert grid.method == ("exact" if n <= exact_max else "blocks")


@pytest.mark.parametrize("exact_max", [1000, 0])
def test_the_grid_keeps_t_sne_neighbourhoods_far_better_than_chance(exact_max):
    coords = _clustered_2d(900, seed=2)
    grid = grid_layout(coords, exact_max=exact_max, leaf=64)
    kept = _knn_overlap(coords, grid.cells.astype(float))
    chance = _knn_overlap(coords, np.random.default_rng(0).permutation(grid.cells).astype(float))
    assert kept > 0.45 and kept > 20 * chance, (kept, chance)


def test_blocks_solved_exactly_agree_with_the_exact_assignment_on_small_inputs():
    coords = _clustered_2d(200, seed=4)
    frame = lattice_frame(coords)
    lattice = frame.to_lattice(coords)
    exact, _ = assign_cells(lattice, frame.cols, frame.rows, exact_max=10_000)
    one_block, method = assign_cells(lattice, frame.cols, frame.rows, exact_max=0, leaf=10_000)
    assert method == "blocks"
    np.testing.assert_array_equal(one_block, exact)
    small_blocks, _ = assign_cells(lattice, frame.cols, frame.rows, exact_max=0, leaf=16)
    cost = lambda cells: float((((cells + 0.5) - lattice) ** 2).sum())  # noqa: E731
    assert cost(exact) <= cost(small_blocks) <= 1.5 * cost(exact)
    assert _knn_overlap(exact.astype(float), small_blocks.astype(float)) > 0.5


def test_the_grid_is_deterministic_and_its_frame_round_trips():
    coords = _clustered_2d(300, seed=5)
    a, b = grid_layout(coords), grid_layout(coords.copy())
    np.testing.assert_array_equal(a.cells, b.cells)
    assert Frame.from_dict(a.frame.to_dict()) == a.frame
    with pytest.raises(ValueError):
        Frame.from_dict({**a.frame.to_dict(), "version": 99})


def test_a_new_point_takes_the_nearest_free_cell():
    rng = np.random.default_rng(6)
    occupied = {(int(x), int(y)) for x, y in rng.integers(0, 8, size=(40, 2))}
    for target in rng.uniform(-2, 10, size=(50, 2)):
        cell = nearest_free_cell(target, occupied)
        assert cell not in occupied
        candidates = [c for c in itertools.product(range(-4, 14), repeat=2) if c not in occupied]
        best = min(((c[0] + 0.5 - target[0]) ** 2 + (c[1] + 0.5 - target[1]) ** 2) for c in candidates)
        assert (cell[0] + 0.5 - target[0]) ** 2 + (cell[1] + 0.5 - target[1]) ** 2 == pytest.approx(best)
    full = {(x, y) for x in range(5) for y in range(5)}
    assert nearest_free_cell((2.5, 2.5), full) not in full


def _no_overlap(cells: np.ndarray) -> bool:
    """Unit squares centred on the cells never intersect: every pair is a full pitch apart on some axis."""
    for i in range(len(cells)):
        d = np.abs(cells[i + 1 :] - cells[i])
        if np.any((d[:, 0] < 1 - 1e-9) & (d[:, 1] < 1 - 1e-9)):
            return False
    return True


def test_the_timeline_puts_decades_left_to_right_undated_last_and_the_typical_work_in_the_middle():
    coords = _clustered_2d(300, seed=1)
    rng = np.random.default_rng(1)
    decades: list[int | None] = [int(d) for d in rng.choice([1850, 1860, 1900], size=len(coords))]
    for i in range(0, len(coords), 7):
        decades[i] = None
    arranged = timeline_layout(coords, decades)
    assert _no_overlap(arranged.cells)
    labels = [r["label"] for r in arranged.regions]
    assert labels == ["1850s", "1860s", "1900s", "undated"]
    for region in arranged.regions:
        members = [i for i, d in enumerate(decades) if d == region["decade"]]
        xs = arranged.cells[members, 0]
        assert region["x0"] <= xs.min() and xs.max() < region["x1"]
        assert len(members) == region["count"]
    # In each band, the work nearest the band's median position sits within a row of the middle.
    members = [i for i, d in enumerate(decades) if d == 1850]
    rows = arranged.cells[members, 1]
    assert abs(np.median(rows)) <= 1.0 and rows.min() < -1 and rows.max() > 1


def _museum_like(seed: int = 3) -> tuple[np.ndarray, list[int | None]]:
    """A collection like the demo's: a few works a decade for six centuries, most in the late 1800s."""
    rng = np.random.default_rng(seed)
    early = [int(d) for d in rng.choice(np.arange(1270, 1800, 10), 40)]
    late = [int(d) for d in rng.choice(np.arange(1800, 1910, 10), 227, p=_weights(11))]
    return rng.normal(size=(267, 2)), [*early, *late]


def _weights(n: int) -> np.ndarray:
    w = np.exp(-0.5 * ((np.arange(n) - 7.5) / 2.0) ** 2) + 0.05
    return w / w.sum()


def test_the_timeline_packs_bands_into_a_screen_shaped_layout_in_year_order():
    coords, decades = _museum_like()
    arranged = timeline_layout(coords, decades, aspect=1.6)
    cells = arranged.cells
    assert _distinct(cells) and _no_overlap(cells)
    span = cells.max(axis=0) - cells.min(axis=0) + 1
    assert 1.2 <= span[0] / span[1] <= 2.2, span
    # Not one-work-wide columns: the busiest decade spreads over several columns.
    busiest = max(arranged.regions, key=lambda r: r["count"])
    assert busiest["x1"] - busiest["x0"] >= 3
    # Bands follow the years, each holding exactly its decades' works inside its own x range.
    firsts = [r["decades"][0] for r in arranged.regions]
    assert firsts == sorted(firsts)
    assert sum(r["count"] for r in arranged.regions) == len(decades)
    previous_end = -np.inf
    for region in arranged.regions:
        members = [i for i, d in enumerate(decades) if d in region["decades"]]
        assert len(members) == region["count"]
        xs = cells[members, 0]
        assert region["x0"] <= xs.min() and xs.max() < region["x1"] and region["x0"] > previous_end
        previous_end = region["x1"]
    # Thin early decades share a band, so far fewer bands than decades; the crowded ones keep theirs.
    assert len(arranged.regions) < len(set(decades)) - 10
    assert {"1870s", "1880s"} <= {r["label"] for r in arranged.regions}


def test_in_each_band_typical_works_sit_nearer_the_centre_line_than_its_outliers():
    # The period's works spread along x; its outliers lie off that main axis, above and below its middle.
    rng = np.random.default_rng(5)
    typical = rng.normal(size=(40, 2)) * [2.0, 0.2]
    outliers = np.column_stack([rng.normal(size=8) * 0.3, np.repeat([-4.0, 4.0], 4)])
    coords = np.vstack([typical, outliers])
    arranged = timeline_layout(coords, [1880] * len(coords))
    off_centre = np.abs(arranged.cells[:, 1])
    assert off_centre[40:].min() >= off_centre[:40].max()
    assert off_centre[40:].mean() > off_centre[:40].mean() + 1


def test_group_blocks_hold_their_members_only_and_never_overlap():
    coords = _clustered_2d(400, seed=8)
    groups: list[str | None] = [["painting", "print", "drawing"][i % 3] if i % 11 else None for i in range(400)]
    arranged = group_layout(coords, groups)
    assert _no_overlap(arranged.cells)
    assert [r["label"] for r in arranged.regions][-1] == ""  # the works without a group come last
    for region in arranged.regions:
        name = region["label"] or None
        members = [i for i, g in enumerate(groups) if g == name]
        inside = arranged.cells[members]
        assert np.all((inside[:, 0] >= region["x0"]) & (inside[:, 0] < region["x1"]))
        assert np.all((inside[:, 1] >= region["y0"]) & (inside[:, 1] < region["y1"]))


def test_normalised_layouts_fit_the_unit_square_with_the_pitch_between_neighbours():
    cells = np.array([[0, 0], [1, 0], [5, 3]], dtype=float)
    xy, pitch, regions = normalise(cells, [{"label": "a", "x0": 0, "x1": 6, "y0": 0, "y1": 4}])
    assert np.all(np.abs(xy) <= 1)
    assert xy[1, 0] - xy[0, 0] == pytest.approx(pitch)
    assert xy[2, 1] > xy[0, 1]  # rows count downwards, as the map's y does on screen
    assert regions[0]["x0"] == pytest.approx(-1) and regions[0]["x1"] == pytest.approx(1)
