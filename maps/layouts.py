"""Layouts of a map besides its t-SNE positions: a grid, a timeline, and blocks by group.

t-SNE puts similar works close but piles them up; these layouts give every work its own lattice
cell (pitch 1, so thumbnails of up to one cell never overlap) while keeping t-SNE's
neighbourhoods. The grid is an assignment of t-SNE positions to lattice cells minimising the
summed squared displacement: exact (``scipy.optimize.linear_sum_assignment``) up to
``EXACT_MAX`` works, above that a recursive split of the lattice into halves, the points going
to each half in order of their coordinate across the cut, each block of at most ``leaf`` cells
solved exactly (docs/decisions/grid-layout.md has the measured costs). Pure numpy/scipy with
no Django, so the web process may compute the timeline and group layouts of what it serves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

FORMAT_VERSION = 1
EXACT_MAX = 1000  # works assigned exactly in one problem (0.5 s on one core; 3,000 take 14-23 s)
LEAF = 256  # cells per block solved exactly below the recursive split
UNDATED = "undated"
BAND_GAP = 0.5  # cells between two timeline bands: enough to tell them apart, little width spent


@dataclass(frozen=True)
class Frame:
    """How t-SNE coordinates map onto lattice coordinates: lattice = (xy - origin) * scale."""

    origin: tuple[float, float]
    scale: tuple[float, float]
    cols: int
    rows: int

    def to_lattice(self, coords: np.ndarray) -> np.ndarray:
        return (np.asarray(coords, dtype=np.float64) - np.asarray(self.origin)) * np.asarray(self.scale)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "origin": list(self.origin),
            "scale": list(self.scale),
            "cols": self.cols,
            "rows": self.rows,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Frame:
        if int(data.get("version", 0)) != FORMAT_VERSION:
            raise ValueError(f"grid frame version {data.get('version')!r}, expected {FORMAT_VERSION}")
        ox, oy = data["origin"]
        sx, sy = data["scale"]
        return cls(
            origin=(float(ox), float(oy)), scale=(float(sx), float(sy)), cols=int(data["cols"]), rows=int(data["rows"])
        )


@dataclass(frozen=True)
class Grid:
    cells: np.ndarray  # (n, 2) int: column, row of each point
    frame: Frame
    method: str  # "exact" or "blocks"

    def to_dict(self) -> dict[str, Any]:
        return {**self.frame.to_dict(), "method": self.method}


def lattice_frame(coords: np.ndarray) -> Frame:
    """A lattice of about n cells shaped like the points' bounding box, and the map onto it.

    Each axis is stretched to the lattice separately: what a grid keeps is order and neighbours,
    not distances. Cell centres are at integer + 0.5, so the points span [0, cols] x [0, rows].
    """
    n = len(coords)
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    span = np.maximum(hi - lo, 1e-9)
    aspect = float(np.clip(span[0] / span[1], 0.25, 4.0))
    cols = max(1, math.ceil(math.sqrt(n * aspect)))
    rows = max(1, math.ceil(n / cols))
    scale = (cols / span[0] * (1 - 1e-9), rows / span[1] * (1 - 1e-9))
    return Frame(origin=(float(lo[0]), float(lo[1])), scale=(float(scale[0]), float(scale[1])), cols=cols, rows=rows)


def _solve_exact(pts: np.ndarray, x0: int, y0: int, w: int, h: int) -> np.ndarray:
    """Cells (absolute column, row) of the rectangle minimising the summed squared distance to pts."""
    cx, cy = np.meshgrid(np.arange(x0, x0 + w) + 0.5, np.arange(y0, y0 + h) + 0.5)
    centres = np.stack([cx.ravel(), cy.ravel()], axis=1)
    cost = ((pts[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    out = np.empty((len(pts), 2), dtype=np.int64)
    out[rows] = np.floor(centres[cols]).astype(np.int64)
    return out


def _split(pts: np.ndarray, idx: np.ndarray, rect: tuple[int, int, int, int], leaf: int, out: np.ndarray) -> None:
    """Splits the rectangle across its longer side; each half gets the points nearest it, as many as fit."""
    x0, y0, w, h = rect
    if len(idx) == 0:
        return
    if w * h <= leaf or len(idx) == 1:
        out[idx] = _solve_exact(pts[idx], x0, y0, w, h)
        return
    axis = 0 if w >= h else 1
    size = w if axis == 0 else h
    first = size // 2
    cap_a = first * (h if axis == 0 else w)
    cap_b = w * h - cap_a
    k = int(round(len(idx) * cap_a / (cap_a + cap_b)))
    k = min(max(k, len(idx) - cap_b), cap_a)
    order = idx[np.lexsort((pts[idx, 1 - axis], pts[idx, axis]))]
    if axis == 0:
        _split(pts, order[:k], (x0, y0, first, h), leaf, out)
        _split(pts, order[k:], (x0 + first, y0, w - first, h), leaf, out)
    else:
        _split(pts, order[:k], (x0, y0, w, first), leaf, out)
        _split(pts, order[k:], (x0, y0 + first, w, h - first), leaf, out)


def assign_cells(
    lattice: np.ndarray, cols: int, rows: int, *, exact_max: int = EXACT_MAX, leaf: int = LEAF
) -> tuple[np.ndarray, str]:
    """One distinct cell of the cols x rows lattice per point (lattice coordinates), and the method used."""
    n = len(lattice)
    if n > cols * rows:
        raise ValueError(f"{n} points do not fit a {cols} x {rows} lattice")
    out = np.zeros((n, 2), dtype=np.int64)
    if n <= exact_max:
        out[:] = _solve_exact(lattice, 0, 0, cols, rows)
        return out, "exact"
    _split(lattice, np.arange(n), (0, 0, cols, rows), max(1, leaf), out)
    return out, "blocks"


def grid_layout(coords: np.ndarray, *, exact_max: int = EXACT_MAX, leaf: int = LEAF) -> Grid:
    """Every point its own cell of a lattice shaped like the map, near its t-SNE position.

    Deterministic (no randomness: ties are broken by the coordinates' order), so no seed.
    """
    coords = np.asarray(coords, dtype=np.float64)
    if len(coords) == 0:
        return Grid(np.zeros((0, 2), dtype=np.int64), Frame((0.0, 0.0), (1.0, 1.0), 0, 0), "exact")
    frame = lattice_frame(coords)
    cells, method = assign_cells(frame.to_lattice(coords), frame.cols, frame.rows, exact_max=exact_max, leaf=leaf)
    return Grid(cells=cells, frame=frame, method=method)


def nearest_free_cell(target: Sequence[float] | np.ndarray, occupied: set[tuple[int, int]]) -> tuple[int, int]:
    """The free cell whose centre is nearest ``target`` (lattice coordinates); the lattice is unbounded.

    Searches square rings outwards and stops once a ring cannot hold anything nearer than the best.
    """
    tx, ty = float(target[0]), float(target[1])
    cx, cy = math.floor(tx), math.floor(ty)
    best: tuple[float, int, int] | None = None
    r = 0
    while best is None or (r - 1) ** 2 <= best[0]:
        for gx in range(cx - r, cx + r + 1):
            for gy in (cy - r, cy + r) if 0 < r and gx not in (cx - r, cx + r) else range(cy - r, cy + r + 1):
                if (gx, gy) in occupied:
                    continue
                d = (gx + 0.5 - tx) ** 2 + (gy + 0.5 - ty) ** 2
                if best is None or (d, gx, gy) < best:
                    best = (d, gx, gy)
        r += 1
    return best[1], best[2]


def _principal_order(pts: np.ndarray) -> np.ndarray:
    """Positions along the points' main axis (sign fixed so the result does not flip between runs)."""
    centred = pts - pts.mean(axis=0)
    if len(pts) < 2 or not np.any(centred):
        return np.zeros(len(pts))
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axis = vt[0] if vt[0][np.argmax(np.abs(vt[0]))] > 0 else -vt[0]
    return centred @ axis


@dataclass(frozen=True)
class Arranged:
    """Lattice positions (pitch 1, so no two overlap) and the named regions (bands or blocks) they form."""

    cells: np.ndarray  # (n, 2) float
    regions: list[dict[str, Any]]


def _periods(counts: dict[int, int], height: int) -> list[list[int]]:
    """Decades grouped into bands: a decade filling at least half a column has its own band.

    Thinner decades (the sparse early centuries of most collections) share a band with the thin
    decades next to them, up to one column of works, so that a run of decades with one or two
    works each does not become a row of half-empty columns with unreadable labels; the band's
    label names its first and last decade, so the period it spans stays visible.
    """
    bands: list[list[int]] = []
    thin = max(1, height / 2)
    for decade in sorted(counts):
        last = bands[-1] if bands else None
        if (
            last is not None
            and counts[decade] < thin
            and all(counts[d] < thin for d in last)
            and sum(counts[d] for d in last) + counts[decade] <= height
        ):
            last.append(decade)
        else:
            bands.append([decade])
    return bands


def _band_shape(counts: dict[int, int], undated: int, aspect: float) -> tuple[int, list[list[int]]]:
    """The common band height (rows) whose layout fills a screen of ``aspect`` best, and its bands.

    A layout of W x H cells shown on an aspect-wide screen is fitted by its longer relative side,
    so a cell's size on screen goes as 1 / max(W, aspect * H): the height minimising that makes the
    thumbnails largest (ties to the lower height, the wider timeline).
    """
    n = sum(counts.values()) + undated
    best: tuple[float, int, list[list[int]]] | None = None
    for height in range(1, max(1, n) + 1):
        if best is not None and aspect * height >= best[0]:
            break  # taller layouts only fit worse: the search stops near sqrt(n / aspect)
        bands = _periods(counts, height)
        widths = [math.ceil(sum(counts[d] for d in band) / height) for band in bands]
        if undated:
            widths.append(math.ceil(undated / height) + 1)  # a wider gap before the undated works
        width = sum(widths) + BAND_GAP * (len(widths) - 1)
        fit = max(width, aspect * height)
        if best is None or fit < best[0]:
            best = (fit, height, bands)
    assert best is not None
    return best[1], best[2]


def _pack_band(coords: np.ndarray, width: int) -> np.ndarray:
    """Cells (column, row around 0) of one band: the most typical works in the middle rows.

    Works are taken in order of their distance from the band's median position (t-SNE), the
    nearest filling the middle row and the next the rows just above and below, so a band's
    outliers end up at its top and bottom edges. Between the two rows of one distance, works on
    the negative side of the band's main axis go up; within a row the second axis orders them.
    """
    n = len(coords)
    out = np.zeros((n, 2))
    if n == 0:
        return out
    height = math.ceil(n / width)
    centred = coords - np.median(coords, axis=0)
    main = _principal_order(coords)
    across = centred[:, 1] if n > 1 else np.zeros(n)
    by_distance = np.lexsort((main, np.hypot(centred[:, 0], centred[:, 1])))
    mid = (height - 1) / 2
    rows = sorted(range(height), key=lambda r: (abs(r - mid), r))
    fill = [width] * height
    fill[rows[-1]] = n - width * (height - 1)  # the outermost row is the partial one
    taken = 0
    for level in sorted({abs(r - mid) for r in rows}):
        same = [r for r in rows if abs(r - mid) == level]
        size = sum(fill[r] for r in same)
        chunk = by_distance[taken : taken + size]
        taken += len(chunk)
        chunk = chunk[np.argsort(main[chunk], kind="stable")]
        start = 0
        for r in sorted(same):
            row = chunk[start : start + fill[r]]
            start += fill[r]
            row = row[np.argsort(across[row], kind="stable")]
            out[row, 0] = np.arange(len(row)) + (width - len(row)) / 2
            out[row, 1] = r - mid
    return out


def timeline_layout(coords: np.ndarray, decades: Sequence[int | None], *, aspect: float = 1.6) -> Arranged:
    """Bands of decades left to right (undated works last, apart), each a small packed grid.

    All bands share one height chosen so that the whole timeline is about as wide as the screen
    (``aspect``), each band as wide as its count needs; x reads as time, y as how typical a work
    is of its period (the typical works along the centre line, the outliers at the top and
    bottom). Thin decades of one century share a band (``_periods``).
    """
    coords = np.asarray(coords, dtype=np.float64)
    keys = [UNDATED if d is None else int(d) for d in decades]
    counts: dict[int, int] = {}
    for k in keys:
        if k != UNDATED:
            counts[int(k)] = counts.get(int(k), 0) + 1
    undated = sum(1 for k in keys if k == UNDATED)
    height, periods = _band_shape(counts, undated, aspect)
    groups: list[list[int] | None] = [*periods, *([None] if undated else [])]
    cells = np.zeros((len(coords), 2))
    regions = []
    x = 0.0
    for group in groups:
        if group is None:
            x += 1  # a wider gap before the works without a date
            idx = np.array([i for i, k in enumerate(keys) if k == UNDATED])
        else:
            wanted = set(group)
            idx = np.array([i for i, k in enumerate(keys) if k != UNDATED and k in wanted])
        width = max(1, math.ceil(len(idx) / height))
        cells[idx] = _pack_band(coords[idx], width) + np.array([x, 0.0])
        if group is None:
            label = UNDATED
        else:
            label = f"{group[0]}s" if len(group) == 1 else f"{group[0]}s\u2013{group[-1]}s"
        regions.append(
            {
                "label": label,
                "decade": None if group is None else group[0],
                "decades": [] if group is None else list(group),
                "x0": x,
                "x1": x + width,
                "count": len(idx),
            }
        )
        x += width + BAND_GAP
    return Arranged(cells=cells, regions=regions)


def group_layout(coords: np.ndarray, groups: Sequence[str | None], *, leaf: int = 64) -> Arranged:
    """One block per group (largest first, in shelves), a grid inside each laid out from t-SNE.

    Works without a group form a last block. Blocks are solved with small exact leaves, cheap enough
    to compute when serving.
    """
    coords = np.asarray(coords, dtype=np.float64)
    keys = np.array([g or "" for g in groups], dtype=object)
    members = {str(k): np.flatnonzero(keys == k) for k in np.unique(keys)} if len(keys) else {}
    names = sorted((k for k in members if k), key=lambda k: (-len(members[k]), k))
    order = [*names, *([""] if "" in members else [])]
    blocks = []
    for name in order:
        idx = members[name]
        grid = grid_layout(coords[idx], exact_max=leaf, leaf=leaf)
        blocks.append((name, idx, grid))
    total = sum(max(1, g.frame.cols) * max(1, g.frame.rows) for _, _, g in blocks)
    shelf_width = max(max(g.frame.cols for _, _, g in blocks), math.ceil(math.sqrt(total * 1.4)))
    cells = np.zeros((len(coords), 2))
    regions = []
    x = y = shelf_height = 0
    for name, idx, grid in blocks:
        w, h = grid.frame.cols, grid.frame.rows
        if x and x + w > shelf_width:
            x, y, shelf_height = 0, y + shelf_height + 1, 0
        cells[idx, 0] = grid.cells[:, 0] + x
        cells[idx, 1] = grid.cells[:, 1] + y
        regions.append({"label": name, "x0": x, "y0": y, "x1": x + w, "y1": y + h, "count": len(idx)})
        x += w + 1
        shelf_height = max(shelf_height, h)
    return Arranged(cells=cells, regions=regions)


def normalise(
    cells: np.ndarray, regions: Iterable[dict[str, Any]] = ()
) -> tuple[np.ndarray, float, list[dict[str, Any]]]:
    """Cell centres scaled into [-1, 1] (the longer side); the cell pitch and the regions alike.

    The map's y grows downwards on screen, as the lattice's rows do: the first row is at the top.
    """
    if len(cells) == 0:
        return np.zeros((0, 2)), 1.0, list(regions)
    centres = np.asarray(cells, dtype=np.float64) + 0.5
    lo, hi = centres.min(axis=0) - 0.5, centres.max(axis=0) + 0.5
    mid = (lo + hi) / 2
    half = max(float((hi - lo).max()) / 2, 1.0)
    out = (centres - mid) / half
    scaled = []
    for region in regions:
        region = dict(region)
        for key in ("x0", "x1"):
            if key in region:
                region[key] = (region[key] - mid[0]) / half
        for key in ("y0", "y1"):
            if key in region:
                region[key] = (region[key] - mid[1]) / half
        scaled.append(region)
    return out, 1.0 / half, scaled
