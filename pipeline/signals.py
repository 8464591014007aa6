"""The pipeline starts where collection says a work is queued (core.signals.work_queued)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from core.signals import work_queued


@receiver(work_queued)
def _start_processing(pk: int, **kwargs: Any) -> None:
    from pipeline.tasks import process_artwork

    process_artwork.delay(pk)
