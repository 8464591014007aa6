"""The pipeline starts where collection says a work is queued (core.signals.work_queued)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from core.signals import work_queued


@receiver(work_queued)
def _start_processing(pk: int, job_pk: int | None = None, **kwargs: Any) -> None:
    from pipeline.tasks import process_artwork

    if job_pk is None:
        process_artwork.delay(pk)
    else:  # one of a burst's works (an import, a bulk re-run): the pipeline counts it in its job
        process_artwork.delay(pk, job_pk)
