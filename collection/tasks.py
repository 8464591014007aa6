"""collection's own task: a picture's derivatives follow its works' publication. A work's stages are pipeline.tasks."""

from __future__ import annotations

from celery import shared_task

from collection import processing
from collection.models import ImageFile
from core.retry import RETRY


@shared_task(**RETRY)
def sync_image_visibility(image_pk: int) -> str:
    """After a work is published or unpublished: its picture's derivatives follow. Idempotent."""
    record = ImageFile.objects.filter(pk=image_pk).first()
    if record is None:
        return "skipped"
    return "public" if processing.sync_derivative_visibility(record) else "hidden"
