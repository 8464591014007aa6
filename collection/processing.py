"""Queueing an artwork's image processing, and recording how it went.

Processing is enqueued only after the transaction that stored the image
commits, so a worker never looks for a row or an image that is not there yet,
and a rolled-back import enqueues nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction

from collection import storage
from collection.models import Artwork, ImageFile, ProcessingStatus
from core.models import Job

log = logging.getLogger(__name__)

# The processing job the works queued now belong to (an import's, a bulk re-run's); see burst().
_burst: ContextVar[Job | None] = ContextVar("processing_burst", default=None)


@contextmanager
def burst(job: Job) -> Iterator[Job]:
    """Every work queued inside counts towards ``job``: its total grows as works are queued, the
    pipeline counts each one done or failed (pipeline.tasks), and it finishes once sealed here and
    every work is through. A job that queued nothing is removed, so the Jobs list shows real work."""
    token = _burst.set(job)
    try:
        yield job
    finally:
        _burst.reset(token)
        job.refresh_from_db(fields=["total"])
        if job.total == 0 and job.status != Job.Status.CANCELLED:
            job.delete()
        else:
            job.seal()


def enqueue(artwork: Artwork) -> None:
    """Marks the work queued and announces it (core.signals.work_queued) once the current transaction commits."""
    if artwork.image_id is None:
        return
    artwork.set_processing(ProcessingStatus.QUEUED, stage="queued")
    pk = artwork.pk
    job = _burst.get()
    if job is not None:
        job.add_total()
    extra = {"job_pk": job.pk} if job is not None else {}

    def _send() -> None:
        from core.signals import work_queued

        try:
            work_queued.send(sender=Artwork, pk=pk, **extra)  # the pipeline app starts it (pipeline.signals)
        except Exception as exc:
            log.exception("could not enqueue processing of artwork %s", pk)
            error = f"could not reach the task queue: {exc}"
            Artwork.objects.get(pk=pk).set_processing(ProcessingStatus.FAILED, stage="queued", error=error)
            if job is not None:
                job.item_finished(ok=False, message=f"{pk}: {error}", ref=f"collection.artwork:{pk}")

    transaction.on_commit(_send)


def enqueue_many(artworks: list[Artwork]) -> int:
    for artwork in artworks:
        enqueue(artwork)
    return len(artworks)


def run_stage(
    artwork: Artwork,
    stage: str,
    fn: Callable[[], None],
    *,
    final: bool = False,
    transient: tuple[type[Exception], ...] = (),
) -> None:
    """Runs one stage with its status recorded; a failure is stored with its reason, then re-raised.

    A ``transient`` error (the task will be retried) leaves the work queued with the reason, so
    curators see "waiting for storage" rather than a failure that is about to fix itself.
    """
    artwork.set_processing(ProcessingStatus.RUNNING, stage=stage)
    try:
        fn()
    except transient as exc:
        artwork.set_processing(ProcessingStatus.QUEUED, stage=stage, error=f"will retry: {type(exc).__name__}: {exc}")
        raise
    except Exception as exc:
        artwork.set_processing(ProcessingStatus.FAILED, stage=stage, error=f"{type(exc).__name__}: {exc}")
        raise
    if final:
        artwork.set_processing(ProcessingStatus.DONE, stage="done")


def sync_derivative_visibility(record: ImageFile) -> bool:
    """Keeps a picture's derivatives in the public area only while a published work shows it.

    Public derivatives are plain URLs anyone can fetch, so those of a picture that only unpublished
    works use are moved to the private area (curators reach them through signed URLs) and moved
    back when a work using it is published. Returns whether the derivatives are now public.
    """
    public = record.artworks.filter(published=True).exists()
    for key in record.derivatives.values():
        storage.move(key, to="public" if public else "private")
    return public


def enqueue_visibility_sync(image_ids: set[int] | list[int]) -> None:
    """After the publication change commits, re-file the pictures' derivatives (see sync_derivative_visibility)."""
    ids = sorted({pk for pk in image_ids if pk is not None})
    if not ids:
        return

    def _send() -> None:
        from collection.tasks import sync_image_visibility

        for pk in ids:
            try:
                sync_image_visibility.delay(pk)
            except Exception:
                log.exception("could not enqueue the visibility sync of image %s", pk)

    transaction.on_commit(_send)
