"""Queueing an artwork's image processing, and recording how it went.

Processing is enqueued only after the transaction that stored the image
commits, so a worker never looks for a row or an image that is not there yet,
and a rolled-back import enqueues nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

from collection.models import Artwork, ProcessingStatus

log = logging.getLogger(__name__)


def enqueue(artwork: Artwork) -> None:
    """Marks the work queued and sends it to the pipeline once the current transaction commits."""
    if artwork.image_id is None:
        return
    artwork.set_processing(ProcessingStatus.QUEUED, stage="queued")
    pk = artwork.pk

    def _send() -> None:
        from collection.tasks import process_artwork

        try:
            process_artwork.delay(pk)
        except Exception as exc:  # noqa: BLE001 - the broker is down: say so on the work, do not lose the import
            log.exception("could not enqueue processing of artwork %s", pk)
            Artwork.objects.get(pk=pk).set_processing(
                ProcessingStatus.FAILED, stage="queued", error=f"could not reach the task queue: {exc}"
            )

    transaction.on_commit(_send)


def enqueue_many(artworks: list[Artwork]) -> int:
    for artwork in artworks:
        enqueue(artwork)
    return len(artworks)


def run_stage(artwork: Artwork, stage: str, fn: Callable[[], None], *, final: bool = False) -> None:
    """Runs one stage with its status recorded; a failure is stored with its reason, then re-raised."""
    artwork.set_processing(ProcessingStatus.RUNNING, stage=stage)
    try:
        fn()
    except Exception as exc:
        artwork.set_processing(ProcessingStatus.FAILED, stage=stage, error=f"{type(exc).__name__}: {exc}")
        raise
    if final:
        artwork.set_processing(ProcessingStatus.DONE, stage="done")
