"""Turning uploaded or imported bytes into a stored original plus map-ready derivatives.

An image is checked completely (decoded, not just sniffed) before anything is
written, so a corrupt file is rejected with a reason and never leaves half a
record behind. Originals and derivatives are keyed by the sha256 of the
original bytes: the same picture imported twice is stored once.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from collection import storage
from collection.models import ImageFile

log = logging.getLogger(__name__)

# Formats accepted as originals, by what Pillow sniffs from the bytes (never the file name).
ACCEPTED_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "TIFF": ("image/tiff", "tif"),
    "GIF": ("image/gif", "gif"),
    "BMP": ("image/bmp", "bmp"),
    "MPO": ("image/jpeg", "jpg"),
}
_SRGB = ImageCms.createProfile("sRGB")


class ImageRejected(ValueError):
    """The bytes are not an image the platform can store; the message says why."""


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, sRGB, orientation applied
    format: str
    sha256: str
    byte_size: int


def _configure_pillow() -> None:
    # The decompression-bomb guard stays on: above the limit Pillow raises, between
    # the limit and twice it Pillow warns, which we also turn into an error.
    Image.MAX_IMAGE_PIXELS = settings.IMAGE_MAX_PIXELS


@contextlib.contextmanager
def decoding(name: str) -> Iterator[None]:
    """Turns whatever Pillow raises on a hostile or broken file into ImageRejected with a human reason,
    and a decompression-bomb warning into a refusal; every decoder of uploads runs inside it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(f"{name}: refused as a possible decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise ImageRejected(f"{name}: not a recognisable image (is it HTML, text or another file type?)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"{name}: the image is corrupt or truncated ({exc})") from None


def decode(data: bytes, *, name: str = "image") -> DecodedImage:
    """Fully decodes and normalises, raising ImageRejected with a human reason on any problem."""
    _configure_pillow()
    if not data:
        raise ImageRejected(f"{name}: the file is empty (0 bytes)")
    if len(data) > settings.IMAGE_MAX_UPLOAD_BYTES:
        raise ImageRejected(
            f"{name}: the file is {len(data) / 1e6:.1f} MB, above the limit of "
            f"{settings.IMAGE_MAX_UPLOAD_BYTES / 1e6:.1f} MB"
        )
    with decoding(name):
        img: Image.Image = Image.open(io.BytesIO(data))
        fmt = img.format or ""
        if fmt not in ACCEPTED_FORMATS:
            raise ImageRejected(f"{name}: {fmt or 'unknown'} images are not accepted")
        width, height = img.size
        if width * height > settings.IMAGE_MAX_PIXELS:
            raise ImageRejected(
                f"{name}: {width}×{height} is {width * height / 1e6:.0f} megapixels, above the limit of "
                f"{settings.IMAGE_MAX_PIXELS / 1e6:.0f} megapixels"
            )
        img.seek(0)  # animated GIF/WebP: the first frame stands for the work
        img.load()
        # Orientation first: the colour conversion below builds new images without the EXIF data.
        try:
            img = ImageOps.exif_transpose(img)
        except Exception as exc:  # noqa: BLE001 - broken EXIF is not fatal, the pixels are fine
            log.warning("%s: ignoring unreadable EXIF orientation (%s)", name, exc)
        img = _to_srgb_rgb(img)
    return DecodedImage(image=img, format=fmt, sha256=hashlib.sha256(data).hexdigest(), byte_size=len(data))


def _to_srgb_rgb(img: Image.Image) -> Image.Image:
    """Museums send CMYK, 16-bit, Adobe RGB and transparent images; the map wants plain sRGB."""
    icc = img.info.get("icc_profile")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits instead of clipping to white.
        import numpy as np

        arr = np.asarray(img, dtype=np.float64)
        peak = arr.max() or 1.0
        img = Image.fromarray((arr / peak * 255.0).clip(0, 255).astype("uint8"), mode="L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            mode = img.mode if img.mode in ("RGB", "CMYK", "L") else "RGB"
            if img.mode != mode:
                img = img.convert(mode)
            converted = ImageCms.profileToProfile(img, src, _SRGB, outputMode="RGB")
            if converted is not None:  # None only when asked to convert in place
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError) as exc:
            log.warning("ignoring an unusable ICC profile (%s)", exc)
    return img.convert("RGB")


def derivative_key(sha256: str, size_name: str) -> str:
    ext = "webp" if settings.IMAGE_DERIVATIVE_FORMAT == "webp" else "jpg"
    return f"derivatives/{sha256[:2]}/{sha256}/{size_name}.{ext}"


def original_key(sha256: str, fmt: str) -> str:
    return f"originals/{sha256[:2]}/{sha256}.{ACCEPTED_FORMATS[fmt][1]}"


def encode_derivative(img: Image.Image, longest_side: int) -> bytes:
    copy = img.copy()
    copy.thumbnail((longest_side, longest_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if settings.IMAGE_DERIVATIVE_FORMAT == "webp":
        copy.save(out, "WEBP", quality=82, method=4)
    else:
        copy.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue()


def write_derivatives(decoded: DecodedImage) -> dict[str, str]:
    keys: dict[str, str] = {}
    for size_name, side in settings.IMAGE_SIZES.items():
        key = derivative_key(decoded.sha256, size_name)
        if not storage.exists("public", key):
            storage.put("public", key, encode_derivative(decoded.image, side))
        keys[size_name] = key
    return keys


def ingest(data: bytes, *, name: str = "image") -> ImageFile:
    """Stores an image once per content hash and returns its record.

    Storage is written before the database row, so a failure part-way leaves
    only unreferenced content-addressed blobs (harmless, and reused on retry),
    never a row pointing at missing files.
    """
    digest = hashlib.sha256(data).hexdigest() if data else ""
    existing = ImageFile.objects.filter(sha256=digest).first() if digest else None
    if existing is not None and existing.derivatives_complete():
        return existing
    decoded = decode(data, name=name)
    storage.put_if_absent("private", original_key(decoded.sha256, decoded.format), data)
    derivatives = write_derivatives(decoded)
    width, height = decoded.image.size
    fields = {
        "original": original_key(decoded.sha256, decoded.format),
        "content_type": ACCEPTED_FORMATS[decoded.format][0],
        "width": width,
        "height": height,
        "byte_size": decoded.byte_size,
        "derivatives": derivatives,
    }
    try:
        with transaction.atomic():
            record, _ = ImageFile.objects.update_or_create(sha256=decoded.sha256, defaults=fields)
    except IntegrityError:  # a concurrent import stored the same picture first
        record = ImageFile.objects.get(sha256=decoded.sha256)
    return record


def regenerate_derivatives(record: ImageFile) -> ImageFile:
    """Rebuilds missing derivatives (e.g. after IMAGE_DERIVATIVE_FORMAT changed) from the original."""
    decoded = decode(storage.get("private", record.original), name=record.original)
    record.derivatives = write_derivatives(decoded)
    record.save(update_fields=["derivatives"])
    return record
