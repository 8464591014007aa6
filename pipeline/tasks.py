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
from core.retry import RETRY, TRANSIENT_ERRORS
from pipeline.stages import Stage, due

log = logging.getLogger(__name__)


def run_queue(task: Any, pk: int, queue: str) -> str:
    """Runs the work's due stages on ``queue``; the last due stage of all marks the work done."""
    artwork = Artwork.objects.select_related("image").filter(pk=pk).first()
    if artwork is None or artwork.image is None:
        return "skipped"
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
            artwork.set_processing(
                ProcessingStatus.FAILED,
                stage=stage.name if stage else queue,
                error=f"gave up after {task.request.retries} retries: {type(exc).__name__}: {exc}",
            )
            return "failed"
        raise
    except Exception:
        log.exception("processing of artwork %s failed on the %s queue", pk, queue)
        return "failed"
    following = stages[stages.index(mine[-1]) + 1 :] if mine else stages
    if following and following[0].queue != queue:
        NEXT[following[0].queue].delay(pk)
    return "ok"


@shared_task(bind=True, **RETRY)
def process_artwork(self: Task, pk: int) -> str:
    """The ``default`` queue's stages (derivatives), then the hand-over to the ML worker."""
    return run_queue(self, pk, "default")


@shared_task(bind=True, **RETRY)
def analyse_artwork(self: Task, pk: int) -> str:
    """The ``gpu`` queue's stages: features, objects, faces, then the work's place on every live map."""
    return run_queue(self, pk, "gpu")


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
