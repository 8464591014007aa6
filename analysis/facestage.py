"""The faces stage of the per-work pipeline (worker side): detect, crop, store, replace.

dlib is imported only inside :mod:`analysis.faces`' functions, so importing this
module costs nothing, but only the worker calls it. A work's faces are replaced
in one transaction together with the :class:`~analysis.models.AnalysisRun` that
records which model saw which image, so a visitor never sees half a set of
faces and a work without faces is not analysed again and again.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from PIL import Image

from analysis import facecrops
from analysis.faces import Face as FoundFace
from analysis.faces import FaceConfig, FaceModel, crop_face, default_model
from analysis.models import AnalysisRun, Face
from collection import images, storage
from collection.models import Artwork

log = logging.getLogger(__name__)

CROP_SIZE = facecrops.CROP_SIZE
CROP_MARGIN = 0.3


def face_config() -> FaceConfig:
    return FaceConfig(detector=settings.FACE_DETECTOR, upsample=settings.FACE_UPSAMPLE)  # type: ignore[arg-type]  # env_choice: hog or cnn


def face_model() -> FaceModel:
    """The process-wide model for the configured detector (loaded once per worker)."""
    return default_model(face_config())


def current_version() -> str:
    return face_model().version


def crop_key(image_sha256: str, version: str, index: int) -> str:
    """Keyed by image and model: the same picture seen by the same model always gives the same crop."""
    ext = "webp" if settings.IMAGE_DERIVATIVE_FORMAT == "webp" else "jpg"
    model = hashlib.sha256(version.encode()).hexdigest()[:12]
    return f"faces/{image_sha256[:2]}/{image_sha256}/{model}-{index}.{ext}"


def encode_crop(image: Image.Image) -> bytes:
    out = io.BytesIO()
    if settings.IMAGE_DERIVATIVE_FORMAT == "webp":
        image.save(out, "WEBP", quality=82, method=4)
    else:
        image.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


@dataclass(frozen=True)
class FaceOutcome:
    found: int
    skipped: bool  # True: the same model already saw the same image; nothing changed


def is_current(artwork: Artwork, version: str) -> bool:
    image = artwork.image
    return (
        image is not None
        and AnalysisRun.objects.filter(
            artwork=artwork, kind=AnalysisRun.Kind.FACES, version=version, image_sha256=image.sha256
        ).exists()
    )


def detect_artwork_faces(artwork: Artwork, *, model: FaceModel | None = None) -> FaceOutcome:
    """Finds the work's faces and replaces the stored ones. Idempotent per (model version, image).

    Crops are written before the transaction (an interrupted run leaves only
    unreferenced files under deterministic keys, overwritten on retry); crops of
    replaced faces are deleted only after the new rows committed, and only when
    no other face (a work sharing the same image) still points at them.
    """
    image = artwork.image
    if image is None:
        return FaceOutcome(found=0, skipped=True)
    model = model or face_model()
    version = model.version
    if is_current(artwork, version):
        return FaceOutcome(found=Face.objects.filter(artwork=artwork, model_version=version).count(), skipped=True)
    picture = images.decode(storage.get("private", image.original), name=image.original).image
    found: list[FoundFace] = model.detect(picture)
    rows = []
    area = facecrops.area_for(image)  # an unpublished work's crops never reach the public area
    for index, face in enumerate(found):
        key = crop_key(image.sha256, version, index)
        storage.put(area, key, encode_crop(crop_face(picture, face, margin=CROP_MARGIN, size=CROP_SIZE)))
        x0, y0, x1, y1 = face.box
        rows.append(
            Face(
                artwork=artwork,
                model_version=version,
                index=index,
                score=face.score,
                x0=x0,
                y0=y0,
                x1=x1,
                y1=y1,
                descriptor=face.descriptor.astype("<f4").tobytes(),
                crop_key=key,
            )
        )
    with transaction.atomic():
        # Lock the work's row so two workers on the same work serialise here instead of colliding.
        Artwork.objects.select_for_update().filter(pk=artwork.pk).first()
        old_keys = set(Face.objects.filter(artwork=artwork).values_list("crop_key", flat=True))
        Face.objects.filter(artwork=artwork).delete()  # their faces-map points go with them (CASCADE)
        Face.objects.bulk_create(rows)
        # Runs of other versions described faces that no longer exist.
        AnalysisRun.objects.filter(artwork=artwork, kind=AnalysisRun.Kind.FACES).exclude(version=version).delete()
        AnalysisRun.objects.update_or_create(
            artwork=artwork,
            kind=AnalysisRun.Kind.FACES,
            version=version,
            defaults={"image_sha256": image.sha256, "found": len(rows), "trusted": True},
        )
        stale = old_keys - {row.crop_key for row in rows} - {""}
        transaction.on_commit(lambda: facecrops.delete_crops(stale))
        transaction.on_commit(_index_changed)
    log.debug("faces of artwork %s: %d with %s", artwork.pk, len(rows), version)
    return FaceOutcome(found=len(rows), skipped=False)


def _index_changed() -> None:
    from core.stamp import bump_stamp

    bump_stamp()


def analyse_faces(artwork: Artwork) -> FaceOutcome:
    """The pipeline stage: detection, then the new faces announced (``faces_found``: the maps stage places them)."""
    from analysis.signals import faces_found

    outcome = detect_artwork_faces(artwork)
    if not outcome.skipped and outcome.found:
        faces_found.send(sender=Face, artwork=artwork)
    return outcome


def descriptors_for_upload(data: bytes) -> dict:
    """A visitor's photo: the largest face's descriptor and box, or none. Nothing is written anywhere."""
    # The same checked decoding as every stored image (size limits, EXIF rotation applied, sRGB).
    photo = images.decode(data, name="upload").image
    model = face_model()
    faces = model.descriptor_for_upload(photo)
    if not faces:
        return {"version": model.version, "faces": 0, "descriptor": None, "box": None}
    largest = faces[0]
    return {
        "version": model.version,
        "faces": len(faces),
        "descriptor": [float(v) for v in largest.descriptor],
        "box": [float(v) for v in largest.box],
    }
