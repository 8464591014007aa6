"""Web-side tasks: image derivatives, then hand-over to the ML worker on the ``gpu`` queue."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from collection import images, processing
from core.retry import RETRY, TRANSIENT_ERRORS
from collection.models import Artwork, ImageFile, ProcessingStatus

log = logging.getLogger(__name__)


@shared_task(bind=True, **RETRY)
def process_artwork(self, pk: int) -> str:
    """Idempotent: derivatives are content-addressed and skipped when present."""
    artwork = Artwork.objects.select_related("image").filter(pk=pk).first()
    if artwork is None or artwork.image is None:
        return "skipped"
    record = artwork.image

    def _derivatives() -> None:
        if not record.derivatives_complete():
            images.regenerate_derivatives(record)
        processing.sync_derivative_visibility(record)  # an unpublished work's pictures leave the public area

    try:
        processing.run_stage(
            artwork, "derivatives", _derivatives, final=not settings.ML_ENABLED, transient=TRANSIENT_ERRORS
        )
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:  # the service stayed away: a failure curators must see
            artwork.set_processing(
                ProcessingStatus.FAILED, stage="derivatives",
                error=f"gave up after {self.request.retries} retries: {type(exc).__name__}: {exc}",
            )
            return "failed"
        raise
    except Exception:  # noqa: BLE001 - stored on the work by run_stage; a permanent error is not retried
        log.exception("processing of artwork %s failed", pk)
        return "failed"
    if settings.ML_ENABLED:
        from mlserver.tasks import analyse_artwork

        analyse_artwork.delay(pk)
    return "ok"


@shared_task(**RETRY)
def sync_image_visibility(image_pk: int) -> str:
    """After a work is published or unpublished: its picture's derivatives follow. Idempotent."""
    record = ImageFile.objects.filter(pk=image_pk).first()
    if record is None:
        return "skipped"
    return "public" if processing.sync_derivative_visibility(record) else "hidden"
