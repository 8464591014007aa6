"""One task per queue: each runs its queue's due stages of one work (pipeline.stages) and hands it on.

``process_artwork`` (``default`` queue, the web side) makes the derivatives, then sends the work
to ``analyse_artwork`` (``gpu`` queue, the ML worker) when ML stages are due. Both take a primary
key, retry only on the named transient errors (core.retry), are acknowledged late so that a lost
worker's task is redelivered, and may run twice (every stage is idempotent). torch is imported
inside the stages, so the web process imports this module without loading it.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from celery import Task, shared_task

from collection import processing
from collection.models import Artwork, ProcessingStatus
from core.models import Job
from core.retry import RETRY, TRANSIENT_ERRORS
from pipeline.stages import Stage, due

log = logging.getLogger(__name__)


def run_queue(task: Any, pk: int, queue: str, job_pk: int | None = None) -> str:
    """Runs the work's due stages on ``queue``; the last due stage of all marks the work done.

    A work of a burst (``job_pk``: an import's or a bulk re-run's job) is counted in its job once
    it is through or has failed; once that job is cancelled, its works not yet run are left failed
    with the reason, between two stages, so a re-run picks them up.
    """
    job = Job.objects.filter(pk=job_pk).first() if job_pk else None
    artwork = Artwork.objects.select_related("image").filter(pk=pk).first()
    if artwork is None or artwork.image is None:
        _count(job, pk, ok=True)
        return "skipped"
    if job is not None and job.status == Job.Status.CANCELLED:
        error = f"not processed: job #{job.pk} was cancelled; re-run processing to finish it"
        artwork.set_processing(ProcessingStatus.FAILED, stage=queue, error=error)
        return "cancelled"
    stages = due(artwork)
    mine = [stage for stage in stages if stage.queue == queue]
    stage: Stage | None = None
    try:
        for stage in mine:
            processing.run_stage(
                artwork, stage.name, partial(stage.run, artwork), final=stage is stages[-1], transient=TRANSIENT_ERRORS
            )
    except TRANSIENT_ERRORS as exc:
        if task.request.retries >= task.max_retries:  # the service stayed away: a failure curators must see
            error = f"gave up after {task.request.retries} retries: {type(exc).__name__}: {exc}"
            artwork.set_processing(ProcessingStatus.FAILED, stage=stage.name if stage else queue, error=error)
            _count(job, pk, ok=False, reason=error)
            return "failed"
        raise
    except Exception as exc:
        log.exception("processing of artwork %s failed on the %s queue", pk, queue)
        _count(job, pk, ok=False, reason=f"{stage.name if stage else queue}: {type(exc).__name__}: {exc}")
        return "failed"
    following = stages[stages.index(mine[-1]) + 1 :] if mine else stages
    if following and following[0].queue != queue:
        handover = NEXT[following[0].queue]
        handover.delay(pk) if job_pk is None else handover.delay(pk, job_pk)
    else:
        _count(job, pk, ok=True)
    return "ok"


def _count(job: Job | None, pk: int, *, ok: bool, reason: str = "") -> None:
    if job is not None:
        job.item_finished(
            ok=ok, message=f"work {pk} failed: {reason}" if not ok else "", ref=f"collection.artwork:{pk}"
        )


@shared_task(bind=True, **RETRY)
def process_artwork(self: Task, pk: int, job_pk: int | None = None) -> str:
    """The ``default`` queue's stages (derivatives), then the hand-over to the ML worker."""
    return run_queue(self, pk, "default", job_pk)


@shared_task(bind=True, **RETRY)
def analyse_artwork(self: Task, pk: int, job_pk: int | None = None) -> str:
    """The ``gpu`` queue's stages: features, objects, faces, then the work's place on every live map."""
    return run_queue(self, pk, "gpu", job_pk)


# The task that runs each queue's stages; config.settings.CELERY_TASK_ROUTES sends each to its queue.
NEXT = {"default": process_artwork, "gpu": analyse_artwork}

# Releases before the pipeline module queued works under these names; messages still in the broker at an
# upgrade run the same stages instead of being dropped as unknown tasks.
LEGACY_NAMES = {"collection.tasks.process_artwork": "default", "mlserver.tasks.analyse_artwork": "gpu"}


@shared_task(bind=True, name="collection.tasks.process_artwork", **RETRY)
def legacy_process_artwork(self: Task, pk: int) -> str:
    return run_queue(self, pk, "default")


@shared_task(bind=True, name="mlserver.tasks.analyse_artwork", **RETRY)
def legacy_analyse_artwork(self: Task, pk: int) -> str:
    return run_queue(self, pk, "gpu")
