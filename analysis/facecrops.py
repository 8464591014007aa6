"""Where a face crop lives: public while a published work shows the picture, private otherwise.

Crops are keyed by the picture's hash, so every work sharing a picture shares
its crops, and a crop is public exactly when the picture's derivatives are
(collection.processing.sync_derivative_visibility). The web process imports
this module (no dlib, no torch).
"""

from __future__ import annotations

import logging

from django.db import transaction

from analysis.models import Face
from collection import storage
from collection.models import ImageFile

log = logging.getLogger(__name__)

CROP_SIZE = 160  # px, square: the map's largest icon cell is 128 px, the panel shows it at 160


def area_for(image: ImageFile) -> storage.Area:
    return "public" if image.shown_publicly() else "private"


def crop_url(face: Face) -> str | None:
    """A plain URL for a published work's crop; a signed, expiring one for curators looking at others."""
    if not face.crop_key:
        return None
    return storage.public_url(face.crop_key) if face.artwork.published else storage.private_url(face.crop_key)


def sync_crop_visibility(image: ImageFile) -> int:
    """Moves the picture's face crops to the area its publication calls for; idempotent. Returns moves made."""
    target = area_for(image)
    keys = set(Face.objects.filter(artwork__image=image).exclude(crop_key="").values_list("crop_key", flat=True))
    return sum(storage.move(key, to=target) for key in sorted(keys))


def enqueue_sync(image_ids: list[int] | set[int]) -> None:
    """After the publication change commits, re-file the crops of those pictures (on the default queue)."""
    ids = sorted({pk for pk in image_ids if pk is not None})
    if not ids or not Face.objects.filter(artwork__image_id__in=ids).exists():
        return

    def _send() -> None:
        from analysis.tasks import sync_face_crops

        for pk in ids:
            try:
                sync_face_crops.delay(pk)
            except Exception:
                log.exception("could not enqueue the face-crop sync of image %s", pk)

    transaction.on_commit(_send)


def delete_crops(keys: set[str]) -> None:
    """Deletes crops no face points at any more, from whichever area holds them."""
    if not keys:
        return
    still_used = set(Face.objects.filter(crop_key__in=keys).values_list("crop_key", flat=True))
    for key in keys - still_used:
        for area in ("public", "private"):
            try:
                if storage.exists(area, key):
                    storage.delete(area, key)
            except Exception:
                log.warning("could not delete the replaced face crop %s", key, exc_info=True)
