"""The layout and packing of thumbnail atlases: pure functions (Pillow and numpy only).

Drawing 100,000 works as 100,000 separate images would mean 100,000 requests and
textures. Instead, every work's ``thumb`` derivative is packed into a few large
sheets per level of detail:

* Level 0 has small cells (8–128 px, chosen so that the whole collection fits in
  about four 2048² sheets): it is what the overview draws, and all of it is loaded.
* Each further level has cells four times larger (up to 128 px), as long as the
  level stays within a storage budget; the browser loads those sheets only where
  the visitor has zoomed in.

Works are packed in Hilbert-curve order of their map position, so one sheet of a
detailed level covers one compact region of the map and a zoomed-in view needs
only the few sheets around it. Every level uses the same order, so a single index
(artwork ids, plus each image's aspect) describes all levels: work ``i`` sits in
sheet ``i // per_sheet``, cell ``i % per_sheet``, filled row by row.

Cells are square; the image is scaled to fit inside the cell less a one-pixel
gutter, centred, and its edge pixels are repeated into the gutter so that texture
filtering never bleeds a neighbour in. The browser computes each image's
rectangle with :func:`fit` (the same arithmetic in ``frontend/js/lib/atlas.js``).

Nothing here touches Django or storage, so the layout can be tested against the
browser's arithmetic without a database; :mod:`maps.atlas.storage` feeds it.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

SHEET_SIZE = 2048
PAD = 1
CELL_SIZES = (8, 16, 32, 64, 128)
# Level 0 is loaded whole by every visitor: keep it to about four full sheets.
FIRST_LEVEL_BUDGET_PX = 4 * SHEET_SIZE * SHEET_SIZE
# Every level together: about a hundred full sheets (~400 M pixels).
TOTAL_BUDGET_PX = 100 * SHEET_SIZE * SHEET_SIZE
INDEX_MAGIC = b"ATL1"
BACKGROUND = (34, 34, 34)
ASPECT_BOX = 255  # image sizes are stored fitted into 255×255 (one byte each)


def fit(width: int, height: int, box: int) -> tuple[int, int]:
    """Size of a width×height image scaled to fit a box×box square (round half up, at least 1 px).

    The browser does the same arithmetic (Math.floor(v + 0.5)) to find an image inside its cell.
    """
    width, height = max(1, int(width)), max(1, int(height))
    longest = max(width, height)
    return (
        max(1, min(box, math.floor(width * box / longest + 0.5))),
        max(1, min(box, math.floor(height * box / longest + 0.5))),
    )


def choose_levels(
    n: int,
    *,
    thumb_size: int = 128,
    sheet_size: int = SHEET_SIZE,
    first_budget_px: int = FIRST_LEVEL_BUDGET_PX,
    total_budget_px: int = TOTAL_BUDGET_PX,
) -> list[int]:
    """Cell sizes, smallest first, for a map of ``n`` works.

    >>> choose_levels(100_000), choose_levels(20_000), choose_levels(5_000), choose_levels(12)
    ([8, 32], [16, 64], [32, 128], [128])
    """
    sizes = [c for c in CELL_SIZES if c <= max(thumb_size, CELL_SIZES[0])]
    top = sizes[-1]
    n = max(1, n)
    first = sizes[0]
    for c in sizes:
        if n * c * c <= first_budget_px:
            first = c
    levels = [first]
    used = sheets_needed(n, first, sheet_size) * sheet_size * sheet_size
    cell = first
    while cell < top:
        cell = min(cell * 4, top)
        cost = sheets_needed(n, cell, sheet_size) * sheet_size * sheet_size
        if used + cost > total_budget_px:
            break
        levels.append(cell)
        used += cost
    return levels


def columns(cell: int, sheet_size: int = SHEET_SIZE) -> int:
    return sheet_size // cell


def per_sheet(cell: int, sheet_size: int = SHEET_SIZE) -> int:
    return columns(cell, sheet_size) ** 2


def sheets_needed(n: int, cell: int, sheet_size: int = SHEET_SIZE) -> int:
    return max(1, math.ceil(n / per_sheet(cell, sheet_size))) if n else 0


def sheet_height(count: int, cell: int, sheet_size: int = SHEET_SIZE) -> int:
    """A partly filled sheet is cut to the rows it uses, rounded up to a power of two (mipmaps on WebGL 1)."""
    rows = max(1, math.ceil(count / columns(cell, sheet_size)))
    return min(sheet_size, 1 << max(0, (rows * cell - 1).bit_length()))


def cell_origin(i: int, cell: int, sheet_size: int = SHEET_SIZE) -> tuple[int, int, int]:
    """(sheet, x, y) of the top-left corner of work ``i``'s cell."""
    cols = columns(cell, sheet_size)
    sheet, within = divmod(i, cols * cols)
    row, col = divmod(within, cols)
    return sheet, col * cell, row * cell


def image_rect(
    i: int, aspect_w: int, aspect_h: int, cell: int, sheet_size: int = SHEET_SIZE, pad: int = PAD
) -> tuple[int, int, int, int, int]:
    """(sheet, x, y, w, h): where work ``i``'s image lies, in pixels of its sheet."""
    sheet, x0, y0 = cell_origin(i, cell, sheet_size)
    inner = cell - 2 * pad
    w, h = fit(aspect_w, aspect_h, inner)
    return sheet, x0 + pad + (inner - w) // 2, y0 + pad + (inner - h) // 2, w, h


def hilbert_order(xs: Sequence[float] | np.ndarray, ys: Sequence[float] | np.ndarray, bits: int = 12) -> np.ndarray:
    """Indices that sort points along a Hilbert curve over their bounding box (stable for ties)."""
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    side = (1 << bits) - 1

    def quantise(v: np.ndarray) -> np.ndarray:
        lo, hi = float(v.min()), float(v.max())
        span = hi - lo or 1.0
        return np.clip(((v - lo) / span * side).round(), 0, side).astype(np.int64)

    qx, qy = quantise(x), quantise(y)
    d = np.zeros(len(x), dtype=np.int64)
    s = 1 << (bits - 1)
    while s > 0:
        rx = ((qx & s) > 0).astype(np.int64)
        ry = ((qy & s) > 0).astype(np.int64)
        d += s * s * ((3 * rx) ^ ry)
        # Rotate the quadrant so the curve stays continuous.
        flip = ry == 0
        swap_x = np.where(flip & (rx == 1), side - qx, qx)
        swap_y = np.where(flip & (rx == 1), side - qy, qy)
        qx, qy = np.where(flip, swap_y, swap_x), np.where(flip, swap_x, swap_y)
        s >>= 1
    return np.argsort(d, kind="stable")


@dataclass
class PackedSheet:
    level: int
    cell: int
    index: int  # sheet number within its level
    first: int  # position (in atlas order) of its first work
    count: int
    image: Image.Image


@dataclass
class SheetPacker:
    """Fills sheets of one level with images given in atlas order; yields each sheet when full."""

    cell: int
    level: int = 0
    sheet_size: int = SHEET_SIZE
    pad: int = PAD
    background: tuple[int, int, int] = BACKGROUND
    _sheet: Image.Image | None = field(default=None, repr=False)
    _sheet_no: int = 0
    _in_sheet: int = 0
    _placed: int = 0

    def __post_init__(self) -> None:
        if self.cell - 2 * self.pad < 1 or self.cell > self.sheet_size:
            raise ValueError(f"cell {self.cell} does not fit a {self.sheet_size} px sheet with a {self.pad} px gutter")

    @property
    def per_sheet(self) -> int:
        return per_sheet(self.cell, self.sheet_size)

    def add(self, image: Image.Image, aspect: tuple[int, int]) -> PackedSheet | None:
        """Places the next work; ``aspect`` is its (w, h) fitted into 255 px, as stored in the index."""
        if self._sheet is None:
            self._sheet = Image.new("RGB", (self.sheet_size, self.sheet_size), self.background)
        _, x, y, w, h = image_rect(self._placed, aspect[0], aspect[1], self.cell, self.sheet_size, self.pad)
        tile = image if image.size == (w, h) else image.resize((w, h), Image.Resampling.LANCZOS, reducing_gap=3.0)
        # Repeat the edge pixels into the gutter, then the image itself on top.
        for dx, dy in ((-self.pad, 0), (self.pad, 0), (0, -self.pad), (0, self.pad)):
            self._sheet.paste(tile, (x + dx, y + dy))
        self._sheet.paste(tile, (x, y))
        self._placed += 1
        self._in_sheet += 1
        if self._in_sheet == self.per_sheet:
            return self._emit()
        return None

    def finish(self) -> PackedSheet | None:
        return self._emit() if self._in_sheet else None

    def _emit(self) -> PackedSheet:
        assert self._sheet is not None
        height = sheet_height(self._in_sheet, self.cell, self.sheet_size)
        image = self._sheet if height == self.sheet_size else self._sheet.crop((0, 0, self.sheet_size, height))
        packed = PackedSheet(
            level=self.level,
            cell=self.cell,
            index=self._sheet_no,
            first=self._placed - self._in_sheet,
            count=self._in_sheet,
            image=image,
        )
        self._sheet, self._sheet_no, self._in_sheet = None, self._sheet_no + 1, 0
        return packed


def aspect_of(image: Image.Image) -> tuple[int, int]:
    return fit(image.width, image.height, ASPECT_BOX)


def pack(images: Iterable[Image.Image], cells: Sequence[int], *, sheet_size: int = SHEET_SIZE) -> Iterator[PackedSheet]:
    """Packs images (in atlas order) into sheets for every level; yields sheets as they fill.

    >>> imgs = [Image.new("RGB", (40, 30), (255, 0, 0))] * 5
    >>> [(s.cell, s.count, s.image.size) for s in pack(imgs, [8, 32], sheet_size=64)]
    [(32, 4, (64, 64)), (8, 5, (64, 8)), (32, 1, (64, 32))]
    """
    packers = [SheetPacker(cell=c, level=n, sheet_size=sheet_size) for n, c in enumerate(cells)]
    done: list[PackedSheet] = []
    for image in images:
        aspect = aspect_of(image)
        for packer in packers:
            sheet = packer.add(image, aspect)
            if sheet is not None:
                done.append(sheet)
        yield from done
        done.clear()
    for packer in packers:
        sheet = packer.finish()
        if sheet is not None:
            yield sheet


def encode_index(ids: Sequence[int], aspects: Sequence[tuple[int, int]]) -> bytes:
    """The atlas index: b"ATL1", uint32 n, int32 ids[n], uint8 widths[n], uint8 heights[n] (little-endian)."""
    n = len(ids)
    if len(aspects) != n:
        raise ValueError("one aspect per id")
    arr = np.asarray(aspects, dtype=np.uint8).reshape(n, 2) if n else np.zeros((0, 2), dtype=np.uint8)
    return (
        INDEX_MAGIC
        + struct.pack("<I", n)
        + np.asarray(ids, dtype="<i4").tobytes()
        + np.ascontiguousarray(arr[:, 0]).tobytes()
        + np.ascontiguousarray(arr[:, 1]).tobytes()
    )


def decode_index(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(ids, aspects n×2) from :func:`encode_index`'s bytes."""
    if data[:4] != INDEX_MAGIC:
        raise ValueError("not an atlas index")
    (n,) = struct.unpack("<I", data[4:8])
    ids = np.frombuffer(data, dtype="<i4", count=n, offset=8)
    w = np.frombuffer(data, dtype=np.uint8, count=n, offset=8 + 4 * n)
    h = np.frombuffer(data, dtype=np.uint8, count=n, offset=8 + 5 * n)
    return ids, np.stack([w, h], axis=1)


def encode_sheet(image: Image.Image, fmt: str = "webp") -> bytes:
    out = io.BytesIO()
    if fmt == "webp":
        image.save(out, "WEBP", quality=80, method=3)
    else:
        image.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()
