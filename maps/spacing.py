"""A free spot for a work placed between builds, so that a new work never covers one already on the map.

Two images of one painting (a re-photographed work, a detail catalogued apart) get almost the same
vector, so the network puts the second right on top of the first and a visitor sees one thumbnail
where there are two works. The build itself never does this (t-SNE repels every pair), so only
placed works are moved: to the nearest spot at least ``gap`` from every point, searched on rings of
growing radius around where the network put it, in a fixed order, so the same map and work always
give the same spot. Plain numpy: the web process may import it.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["median_gap", "nearest_free", "GAP_SHARE"]

# The gap kept free around a placed work, as a share of the map's median distance between nearest
# neighbours: half the typical spacing leaves the work a visible thumbnail (the website sizes each
# thumbnail by the room around it) without pushing it out of a dense region.
GAP_SHARE = 0.5


def median_gap(coords: np.ndarray, *, sample: int = 1000, seed: int = 0) -> float:
    """The median distance from a point to its nearest neighbour (over a seeded sample of points), 0 for < 2 points.

    The sample is compared with every point in chunks: O(sample × n) time, O(chunk × n) memory.
    """
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    n = len(coords)
    if n < 2:
        return 0.0
    rows = np.arange(n) if n <= sample else np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))
    nearest = []
    for chunk in np.array_split(rows, max(1, len(rows) // 128)):
        d = np.sqrt(((coords[chunk, None, :] - coords[None, :, :]) ** 2).sum(axis=2))
        d[np.arange(len(chunk)), chunk] = np.inf
        nearest.append(d.min(axis=1))
    return float(np.median(np.concatenate(nearest)))


def nearest_free(
    start: tuple[float, float] | np.ndarray,
    taken: np.ndarray,
    gap: float,
    *,
    rings: int = 24,
    bound: float = 1.0,
) -> tuple[float, float]:
    """``start`` when no point of ``taken`` lies within ``gap`` of it, else the nearest spot that has none.

    Candidates lie on rings gap/2, gap, 3·gap/2... around ``start``, each ring's spaced about gap/2
    apart from angle 0; the first free one in (ring, angle) order wins and spots outside the map's
    [-bound, bound] frame are skipped. When none of ``rings`` rings has a free spot (a region packed
    tighter than ``gap``), the candidate furthest from its nearest point is taken: the least covered.
    """
    x0, y0 = float(start[0]), float(start[1])
    taken = np.asarray(taken, dtype=np.float64).reshape(-1, 2)
    if gap <= 0 or len(taken) == 0:
        return x0, y0

    def clearance(xy: np.ndarray) -> np.ndarray:
        return np.sqrt(((xy[:, None, :] - taken[None, :, :]) ** 2).sum(axis=2)).min(axis=1)

    if clearance(np.array([[x0, y0]]))[0] >= gap:
        return x0, y0
    best, best_clear = (x0, y0), -1.0
    for k in range(1, rings + 1):
        radius = k * gap / 2
        m = max(6, math.ceil(2 * math.pi * radius / (gap / 2)))
        angles = 2 * math.pi * np.arange(m) / m
        ring = np.column_stack([x0 + radius * np.cos(angles), y0 + radius * np.sin(angles)])
        ring = ring[(np.abs(ring) <= bound).all(axis=1)]
        if not len(ring):
            continue
        clear = clearance(ring)
        free = np.flatnonzero(clear >= gap)
        if len(free):
            return float(ring[free[0], 0]), float(ring[free[0], 1])
        i = int(np.argmax(clear))
        if clear[i] > best_clear:
            best, best_clear = (float(ring[i, 0]), float(ring[i, 1])), float(clear[i])
    return best
