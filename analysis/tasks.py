"""ML tasks outside a work's pipeline (bulk re-runs, training, visitors' photos), on the ``gpu`` queue.

A work's own stages are pipeline.tasks. Each task here takes primary keys, loads, calls one service, saves.

torch is imported inside the task bodies (through analysis.services), so the
web process can import this module to enqueue tasks without loading torch.
"""

from __future__ import annotations

import logging

from celery import Task
from django.conf import settings

from collection.models import Artwork
from core.models import Job, JobCancelled
from core.retry import RETRY, TRANSIENT_ERRORS
from core.tasknames import task

log = logging.getLogger(__name__)


@task(bind=True, **RETRY)
def detect_objects(self: Task, pk: int, force: bool = False) -> str:
    """Objects in one work, outside the pipeline (bulk re-runs). Idempotent per (image, detector version)."""
    from analysis import objects
    from analysis.detection import DetectorUnavailable

    artwork = Artwork.objects.select_related("image").filter(pk=pk).first()
    if artwork is None or artwork.image is None:
        return "skipped"
    try:
        run = objects.detect_artwork(artwork, force=force)
    except DetectorUnavailable:  # logged once per process by objects.current_detector
        return "unavailable"
    return f"{run.found if run else 0} objects"


# Visitors' photos: the request waits SEARCH_TIMEOUT_SECONDS at most, so these tasks are never retried,
# never redelivered after a lost worker (acknowledged on receipt) and sent with that expiry; the photo
# itself waits in the cache under the key they get (analysis.client), and is gone once the request is.
# Their answer is the one result the web process reads, so they keep it even where others are ignored.
PHOTO_TASK = {"acks_late": False, "reject_on_worker_lost": False, "max_retries": 0, "ignore_result": False}


def embed_photo(data: bytes) -> list[float]:
    """A visitor's photo for search by image: decoded in memory, embedded, forgotten."""
    from analysis import services

    return services.embed_bytes(data).tolist()


@task(**PHOTO_TASK)
def embed_upload(key: str) -> list[float] | None:
    """:func:`embed_photo` on the photo left under ``key``; nothing to do once the request gave up."""
    from analysis.client import take_photo

    data = take_photo(key)
    if data is None:
        return None
    try:
        return embed_photo(data)
    finally:
        del data


@task(bind=True, **RETRY)
def detect_faces(self: Task, pk: int) -> str:
    """Faces of one work (and their places on the live faces maps); a no-op when already current."""
    from analysis import facestage

    if not settings.FACES_ENABLED:
        return "disabled"
    artwork = Artwork.objects.select_related("image").filter(pk=pk).first()
    if artwork is None or artwork.image is None:
        return "skipped"
    outcome = facestage.analyse_faces(artwork)
    return "current" if outcome.skipped else f"{outcome.found} faces"


def describe_photo(data: bytes) -> dict:
    """A visitor's photo for search by face: decoded in memory, described, forgotten."""
    from analysis import facestage

    return facestage.descriptors_for_upload(data)


@task(**PHOTO_TASK)
def face_upload(key: str) -> dict | None:
    """:func:`describe_photo` on the photo left under ``key``; nothing to do once the request gave up."""
    from analysis.client import take_photo

    data = take_photo(key)
    if data is None:
        return None
    try:
        return describe_photo(data)
    finally:
        del data


@task(bind=True, **RETRY)
def embed_collection(self: Task, feature_model_pk: int, job_pk: int | None = None) -> dict:
    """(Re-)embeds every work missing a vector under one feature model, resumably.

    Works already embedded are skipped, so a restarted job continues where it
    stopped. When a new model finishes, it becomes active and maps are rebuilt;
    until then the previous model keeps serving.
    """
    from analysis import services
    from analysis.models import FeatureModel

    feature_model = FeatureModel.objects.get(pk=feature_model_pk)
    job = Job.objects.filter(pk=job_pk).first() if job_pk else None
    try:
        result = services.embed_collection(feature_model, job=job)
    except JobCancelled:
        return {"cancelled": True}
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:
        if job:
            job.fail(f"{type(exc).__name__}: {exc}")
        raise
    if job:
        job.produced(feature_model)
        job.finish(result, message=f"{result['embedded']} works embedded with {feature_model.version}")
    return result


@task(bind=True, acks_late=True)
def train_features(self: Task, job_pk: int) -> dict:
    """Fine-tunes the backbone on curator labels (and/or a labelled image set), then re-embeds."""
    from analysis import services
    from analysis.models import FeatureModel

    job = Job.objects.get(pk=job_pk)
    try:
        outcome = services.train_features(job)
    except JobCancelled:
        return {"trained": False, "reason": "cancelled"}
    except Exception as exc:
        job.fail(f"{type(exc).__name__}: {exc}")
        raise
    made = FeatureModel.objects.filter(version=outcome.get("version", "")).first()
    if made is not None:
        job.produced(made)
    return outcome


@task(**RETRY)
def sync_face_crops(image_pk: int) -> str:
    """After a publication change: the picture's face crops follow its derivatives. Idempotent; no ML."""
    from analysis.facecrops import area_for, sync_crop_visibility
    from collection.models import ImageFile

    image = ImageFile.objects.filter(pk=image_pk).first()
    if image is None:
        return "skipped"
    sync_crop_visibility(image)
    return area_for(image)


def enqueue_training(params: dict) -> Job:
    from django.db import transaction

    job = Job.objects.create(kind="train_features", params=params, target=settings.FEATURE_BACKBONE)
    transaction.on_commit(lambda: train_features.delay(job.pk))
    return job
