"""Visitors' search photos: reduced to what the models need before they cost the server anything.

A half-megabyte PNG can declare 10,950 x 10,950 pixels; decoding it whole costs a serving
process gigabytes. The models look at a few hundred pixels, so a search photo is judged by its
header first (refused above SEARCH_PHOTO_MAX_PIXELS of what would actually be decoded), a JPEG is
decoded at 1/2, 1/4 or 1/8 scale through Pillow's draft mode, and the result is downscaled to
SEARCH_PHOTO_SIDE and re-encoded as a plain sRGB JPEG, which is all that leaves the web process.
A process-wide semaphore bounds how many of these decodes run at once.
"""

from __future__ import annotations

import io
import logging
import threading

from django.conf import settings
from PIL import Image, ImageOps

from collection import images
from collection.images import ImageRejected

log = logging.getLogger(__name__)

# Modes that Pillow resizes as they are; others (palette, 16-bit, bilevel) are normalised to RGB first.
_RESIZABLE = {"RGB", "RGBA", "L", "LA", "CMYK", "YCbCr", "RGBX"}


class PhotoBusy(RuntimeError):
    """Every decode slot of this process stayed taken for SEARCH_PHOTO_WAIT_SECONDS."""


_slots_lock = threading.Lock()
_slots: tuple[int, threading.BoundedSemaphore] | None = None


def _decode_slots() -> threading.BoundedSemaphore:
    """The process-wide semaphore, rebuilt only if SEARCH_PHOTO_DECODES changed (tests override it)."""
    global _slots
    with _slots_lock:
        if _slots is None or _slots[0] != settings.SEARCH_PHOTO_DECODES:
            _slots = (settings.SEARCH_PHOTO_DECODES, threading.BoundedSemaphore(settings.SEARCH_PHOTO_DECODES))
        return _slots[1]


def reduce_photo(data: bytes, *, name: str = "upload") -> bytes:
    """The photo as a JPEG of at most SEARCH_PHOTO_SIDE pixels a side; ImageRejected says why not.

    Raises PhotoBusy when no decode slot frees within SEARCH_PHOTO_WAIT_SECONDS, so a burst of
    uploads queues briefly and is then turned away instead of piling decodes into memory.
    """
    slots = _decode_slots()
    if not slots.acquire(timeout=settings.SEARCH_PHOTO_WAIT_SECONDS):
        raise PhotoBusy("The server is busy with other photos; try again in a few seconds.")
    try:
        return _reduce(data, name)
    finally:
        slots.release()


def _reduce(data: bytes, name: str) -> bytes:
    images._configure_pillow()
    if not data:
        raise ImageRejected(f"{name}: the file is empty (0 bytes)")
    side = settings.SEARCH_PHOTO_SIDE
    cap = settings.SEARCH_PHOTO_MAX_PIXELS
    with images.decoding(name):
        img: Image.Image = Image.open(io.BytesIO(data))
        fmt = img.format or ""
        if fmt not in images.ACCEPTED_FORMATS:
            raise ImageRejected(f"{name}: {fmt or 'unknown'} images are not accepted")
        width, height = img.size
        if fmt in ("JPEG", "MPO"):
            img.draft("RGB", (side, side))  # the decoder itself scales down: nothing full-size is allocated
        if img.size[0] * img.size[1] > cap:
            raise ImageRejected(
                f"{name}: {width}×{height} is {width * height / 1e6:.1f} megapixels, above the limit of "
                f"{cap / 1e6:.1f} megapixels for a search photo; a photo of about {side} pixels a side is enough"
            )
        img.seek(0)  # animated GIF/WebP: the first frame
        img.load()
        if img.mode not in _RESIZABLE:
            img = images._to_srgb_rgb(img)
        img.thumbnail((side, side), Image.Resampling.LANCZOS)  # in place: keeps EXIF and ICC for below
        try:
            img = ImageOps.exif_transpose(img)
        except Exception as exc:  # noqa: BLE001 - broken EXIF is not fatal, the pixels are fine
            log.info("search photo: ignoring unreadable EXIF orientation (%s)", exc)
        img = images._to_srgb_rgb(img)
        out = io.BytesIO()
        img.save(out, "JPEG", quality=90)
    return out.getvalue()
