"""Texture atlases of a map build's thumbnails, for the WebGL map on the public website.

Drawing 100,000 works as 100,000 separate images would mean 100,000 requests and
textures. Instead, at build time the worker packs every work's ``thumb``
derivative into a few large sheets per level of detail:

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
rectangle with :func:`fit` (the same arithmetic in ``frontend/js/atlas.js``).

Keys are versioned by map, build and content hash, so sheets can be cached
forever (the public storage sends ``immutable``). The layout is recorded in
``MapBuild.atlases``; URLs are made at serve time (see :func:`public_description`).

The packing functions here are pure (Pillow and numpy only); :func:`build_atlases`
is the Django side that reads thumbnails from storage and writes the sheets.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
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


# --- Pure layout ------------------------------------------------------------------


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


def image_rect(i: int, aspect_w: int, aspect_h: int, cell: int, sheet_size: int = SHEET_SIZE, pad: int = PAD) -> tuple[int, int, int, int, int]:
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


# --- Pure packing -----------------------------------------------------------------


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
            level=self.level, cell=self.cell, index=self._sheet_no, first=self._placed - self._in_sheet,
            count=self._in_sheet, image=image,
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


# --- Django side ------------------------------------------------------------------


def _key_prefix(build: Any) -> str:
    return f"atlases/{build.map.slug}/v{build.version}-b{build.pk}"


def _content_key(prefix: str, name: str, data: bytes, ext: str) -> str:
    return f"{prefix}/{name}-{hashlib.sha256(data).hexdigest()[:16]}.{ext}"


def _atlas_works(build: Any) -> list[tuple[int, float, float, str]]:
    """(point id, x, y, image key) of the build's published works that have a thumbnail.

    On a faces map a point is a face: its id is the face's and its image the face crop.
    """
    if build.map.subject == "faces":
        faces = (
            build.points.filter(artwork__published=True, face__isnull=False)
            .exclude(face__crop_key="")
            .order_by("face_id")
            .values_list("face_id", "x", "y", "face__crop_key")
        )
        return list(faces.iterator(chunk_size=10000))
    rows = (
        build.points.filter(artwork__published=True, artwork__image__isnull=False)
        .order_by("artwork_id")
        .values_list("artwork_id", "x", "y", "artwork__image__derivatives")
    )
    works = []
    for artwork_id, x, y, derivatives in rows.iterator(chunk_size=10000):
        key = (derivatives or {}).get("thumb")
        if key:
            works.append((artwork_id, x, y, key))
    return works


class _ThumbReader:
    """Reads and decodes thumbnails in parallel (storage is the slow part), in order, a window at a time."""

    def __init__(self, threads: int = 8, window: int = 256, cache_size: int = 1024) -> None:
        self.threads, self.window = threads, window
        self._cache: OrderedDict[str, Image.Image | None] = OrderedDict()
        self._cache_size = cache_size

    def _read(self, key: str) -> Image.Image | None:
        from collection import storage

        cached = self._cache.get(key)
        if cached is not None or key in self._cache:
            return cached
        try:
            with Image.open(io.BytesIO(storage.get("public", key))) as img:
                img.draft("RGB", (img.width, img.height))
                image = img.convert("RGB")
        except FileNotFoundError:
            log.warning("atlas: thumbnail %s is missing; the work will load on its own", key)
            image = None
        except (OSError, ValueError) as exc:
            log.warning("atlas: thumbnail %s is unreadable (%s); the work will load on its own", key, exc)
            image = None
        self._cache[key] = image
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return image

    def read_all(self, keys: Sequence[str]) -> Iterator[Image.Image | None]:
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            for start in range(0, len(keys), self.window):
                yield from pool.map(self._read, keys[start : start + self.window])


def build_atlases(build: Any, *, progress: Callable[[int, int], None] | None = None, threads: int = 8) -> dict[str, Any]:
    """Packs the build's thumbnails into sheets, stores them in the public area and records them in ``build.atlases``."""
    from django.conf import settings
    from django.utils import timezone

    from collection import storage

    works = _atlas_works(build)
    fmt = "webp" if settings.IMAGE_DERIVATIVE_FORMAT == "webp" else "jpeg"
    ext = "webp" if fmt == "webp" else "jpg"
    prefix = _key_prefix(build)
    if not works:
        meta: dict[str, Any] = {"format": FORMAT_VERSION, "count": 0, "levels": [], "built": timezone.now().isoformat()}
        _save(build, meta)
        return meta
    order = hilbert_order([w[1] for w in works], [w[2] for w in works])
    ordered = [works[i] for i in order]
    cells = choose_levels(len(ordered), thumb_size=settings.IMAGE_SIZES["thumb"])
    packers = [SheetPacker(cell=c, level=n) for n, c in enumerate(cells)]
    levels: list[dict[str, Any]] = [
        {"cell": c, "columns": columns(c), "per_sheet": per_sheet(c), "sheets": []} for c in cells
    ]
    ids: list[int] = []
    aspects: list[tuple[int, int]] = []
    positions: list[tuple[float, float]] = []

    def store(sheet: PackedSheet) -> None:
        data = encode_sheet(sheet.image, fmt)
        key = _content_key(f"{prefix}/{sheet.cell}", f"{sheet.index:04d}", data, ext)
        storage.put("public", key, data)
        xy = np.asarray(positions[sheet.first : sheet.first + sheet.count])
        levels[sheet.level]["sheets"].append(
            {
                "key": key, "width": sheet.image.width, "height": sheet.image.height, "first": sheet.first,
                "count": sheet.count, "bytes": len(data),
                "bbox": [float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max())],
            }
        )

    reader = _ThumbReader(threads=threads)
    skipped = 0
    for n, (work, image) in enumerate(zip(ordered, reader.read_all([w[3] for w in ordered]))):
        if image is None:
            skipped += 1
            continue
        aspect = aspect_of(image)
        ids.append(work[0])
        aspects.append(aspect)
        positions.append((work[1], work[2]))
        for packer in packers:
            sheet = packer.add(image, aspect)
            if sheet is not None:
                store(sheet)
        if progress and n % 1000 == 0:
            progress(n, len(ordered))
    for packer in packers:
        sheet = packer.finish()
        if sheet is not None:
            store(sheet)
    index = encode_index(ids, aspects)
    index_key = _content_key(prefix, "index", index, "bin")
    storage.put("public", index_key, index)
    meta = {
        "format": FORMAT_VERSION, "count": len(ids), "skipped": skipped, "sheet_size": SHEET_SIZE, "pad": PAD,
        "aspect_box": ASPECT_BOX, "image_format": fmt, "index": index_key, "index_bytes": len(index),
        "levels": [lvl for lvl in levels if lvl["sheets"]], "built": timezone.now().isoformat(),
    }
    _save(build, meta)
    if progress:
        progress(len(ordered), len(ordered))
    log.info("atlases for %s: %d works, levels %s, %d sheets", build, len(ids), cells, sum(len(lv["sheets"]) for lv in levels))
    return meta


def _save(build: Any, meta: dict[str, Any]) -> None:
    build.atlases = meta
    type(build).objects.filter(pk=build.pk).update(atlases=meta)


def store_atlases(build: Any) -> dict[str, Any]:
    """What ``build_map`` calls: builds the atlases, and never fails the map build over them.

    Without atlases the map still works (the browser loads thumbnails one by one), so a
    failure here is logged and recorded in ``build.atlases["error"]`` instead of raised.
    """
    try:
        return build_atlases(build)
    except Exception as exc:  # noqa: BLE001 - recorded; the map is still usable without atlases
        log.exception("building atlases for %s failed", build)
        meta = {"format": FORMAT_VERSION, "count": 0, "levels": [], "error": f"{type(exc).__name__}: {exc}"}
        _save(build, meta)
        return meta


def stored_keys(atlases: dict[str, Any] | None) -> list[str]:
    """Every public storage key a build's atlases wrote (sheets and index), for deleting old builds."""
    if not atlases:
        return []
    keys = [sheet["key"] for level in atlases.get("levels", []) for sheet in level.get("sheets", [])]
    if atlases.get("index"):
        keys.append(atlases["index"])
    return keys


def refresh_atlases(build: Any) -> dict[str, Any]:
    """Rebuilds a build's atlases from its currently published works, then deletes the old sheets.

    Sheets are public images, so a work unpublished after the build would stay
    visible in them; this is what the publication signal runs. The new sheets are
    recorded before the old ones are deleted: a visitor sees either set, never a
    missing one, and a failure leaves the old atlases in place.
    """
    from collection import storage

    old = set(stored_keys(build.atlases))
    meta = build_atlases(build)
    for key in old - set(stored_keys(meta)):
        try:
            storage.delete("public", key)
        except Exception as exc:  # noqa: BLE001 - retried by the next refresh or build pruning
            log.warning("could not delete the old atlas sheet %s: %s", key, exc)
    return meta


def public_description(atlases: dict[str, Any] | None) -> dict[str, Any] | None:
    """``build.atlases`` as the browser needs it: the same layout, with public URLs instead of keys."""
    from collection import storage

    if not atlases or not atlases.get("levels") or not atlases.get("index"):
        return None
    return {
        "format": atlases.get("format", FORMAT_VERSION),
        "count": atlases.get("count", 0),
        "sheet_size": atlases.get("sheet_size", SHEET_SIZE),
        "pad": atlases.get("pad", PAD),
        "aspect_box": atlases.get("aspect_box", ASPECT_BOX),
        "index": storage.public_url(atlases["index"]),
        "index_bytes": atlases.get("index_bytes"),
        "levels": [
            {
                "cell": level["cell"], "columns": level["columns"], "per_sheet": level["per_sheet"],
                "sheets": [
                    {
                        "url": storage.public_url(s["key"]), "width": s["width"], "height": s["height"],
                        "first": s["first"], "count": s["count"], "bbox": s["bbox"], "bytes": s.get("bytes"),
                    }
                    for s in level["sheets"]
                ],
            }
            for level in atlases["levels"]
        ],
    }
