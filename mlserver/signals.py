"""mlserver follows the collection: face crops leave public reach when their works are unpublished."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from core.signals import publication_changed


@receiver(publication_changed)
def _face_crops_follow_publication(image_ids: Any = (), **kwargs: Any) -> None:
    from mlserver.facecrops import enqueue_sync

    enqueue_sync(list(image_ids or ()))
