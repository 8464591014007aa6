"""Atlases of a map build, in storage: reading its thumbnails, writing its sheets, describing them.

Keys are versioned by map, build and content hash, so sheets can be cached
forever (the public storage sends ``immutable``). The layout is recorded in
``MapBuild.atlases``; URLs are made at serve time (see :func:`public_description`).
Sheets are public images, so whatever changes who may see a work re-packs them
(:func:`refresh_atlases`). The pure layout is :mod:`maps.atlas.packing`.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from PIL import Image

from maps.atlas.packing import (
    ASPECT_BOX,
    PAD,
    SHEET_SIZE,
    PackedSheet,
    SheetPacker,
    aspect_of,
    choose_levels,
    columns,
    encode_index,
    encode_sheet,
    hilbert_order,
    per_sheet,
)

log = logging.getLogger(__name__)

FORMAT_VERSION = 1  # of the description recorded in MapBuild.atlases


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


class _Sheets:
    """Stores each packed sheet in the public area and records it, with its works' extent on the map, per level."""

    def __init__(self, prefix: str, fmt: str, cells: Sequence[int]) -> None:
        self.prefix, self.fmt = prefix, fmt
        self.ext = "webp" if fmt == "webp" else "jpg"
        self.levels: list[dict[str, Any]] = [
            {"cell": c, "columns": columns(c), "per_sheet": per_sheet(c), "sheets": []} for c in cells
        ]
        self.positions: list[tuple[float, float]] = []

    def store(self, sheet: PackedSheet) -> None:
        from collection import storage

        data = encode_sheet(sheet.image, self.fmt)
        key = _content_key(f"{self.prefix}/{sheet.cell}", f"{sheet.index:04d}", data, self.ext)
        storage.put("public", key, data)
        xy = np.asarray(self.positions[sheet.first : sheet.first + sheet.count])
        self.levels[sheet.level]["sheets"].append(
            {
                "key": key,
                "width": sheet.image.width,
                "height": sheet.image.height,
                "first": sheet.first,
                "count": sheet.count,
                "bytes": len(data),
                "bbox": [float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max())],
            }
        )


def _pack(
    ordered: list[Any],
    cells: Sequence[int],
    sheets: _Sheets,
    threads: int,
    progress: Callable[[int, int], None] | None,
) -> tuple[list[int], list[tuple[int, int]], int]:
    """Adds every readable thumbnail to each level's sheets; returns ids, aspects and how many were unreadable."""
    packers = [SheetPacker(cell=c, level=n) for n, c in enumerate(cells)]
    ids: list[int] = []
    aspects: list[tuple[int, int]] = []
    skipped = 0
    reader = _ThumbReader(threads=threads)
    for n, (work, image) in enumerate(zip(ordered, reader.read_all([w[3] for w in ordered]))):
        if image is None:
            skipped += 1
            continue
        aspect = aspect_of(image)
        ids.append(work[0])
        aspects.append(aspect)
        sheets.positions.append((work[1], work[2]))
        for packer in packers:
            sheet = packer.add(image, aspect)
            if sheet is not None:
                sheets.store(sheet)
        if progress and n % 1000 == 0:
            progress(n, len(ordered))
    for packer in packers:
        sheet = packer.finish()
        if sheet is not None:
            sheets.store(sheet)
    return ids, aspects, skipped


def build_atlases(
    build: Any, *, progress: Callable[[int, int], None] | None = None, threads: int = 8
) -> dict[str, Any]:
    """Packs the build's thumbnails into sheets, stores them in the public area and records them in ``build.atlases``."""
    from django.conf import settings
    from django.utils import timezone

    from collection import storage

    works = _atlas_works(build)
    fmt = "webp" if settings.IMAGE_DERIVATIVE_FORMAT == "webp" else "jpeg"
    prefix = _key_prefix(build)
    if not works:
        meta: dict[str, Any] = {"format": FORMAT_VERSION, "count": 0, "levels": [], "built": timezone.now().isoformat()}
        _save(build, meta)
        return meta
    order = hilbert_order([w[1] for w in works], [w[2] for w in works])
    ordered = [works[i] for i in order]
    cells = choose_levels(len(ordered), thumb_size=settings.IMAGE_SIZES["thumb"])
    sheets = _Sheets(prefix, fmt, cells)
    ids, aspects, skipped = _pack(ordered, cells, sheets, threads, progress)
    index = encode_index(ids, aspects)
    index_key = _content_key(prefix, "index", index, "bin")
    storage.put("public", index_key, index)
    meta = {
        "format": FORMAT_VERSION,
        "count": len(ids),
        "skipped": skipped,
        "sheet_size": SHEET_SIZE,
        "pad": PAD,
        "aspect_box": ASPECT_BOX,
        "image_format": fmt,
        "index": index_key,
        "index_bytes": len(index),
        "levels": [lvl for lvl in sheets.levels if lvl["sheets"]],
        "built": timezone.now().isoformat(),
    }
    _save(build, meta)
    if progress:
        progress(len(ordered), len(ordered))
    log.info(
        "atlases for %s: %d works, levels %s, %d sheets",
        build,
        len(ids),
        cells,
        sum(len(lv["sheets"]) for lv in sheets.levels),
    )
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
    except Exception as exc:
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
                "cell": level["cell"],
                "columns": level["columns"],
                "per_sheet": level["per_sheet"],
                "sheets": [
                    {
                        "url": storage.public_url(s["key"]),
                        "width": s["width"],
                        "height": s["height"],
                        "first": s["first"],
                        "count": s["count"],
                        "bbox": s["bbox"],
                        "bytes": s.get("bytes"),
                    }
                    for s in level["sheets"]
                ],
            }
            for level in atlases["levels"]
        ],
    }
