"""analysis follows the collection (face crops leave public reach when their works are unpublished), and
announces what it found to later stages, which connect to it in their own AppConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal, receiver

from core.signals import publication_changed

# Sent with ``artwork`` once a work's faces were found anew (not when its analysis was already current):
# the maps stage places them on the live faces maps (maps.signals).
faces_found = Signal()


@receiver(publication_changed)
def _face_crops_follow_publication(image_ids: Any = (), **kwargs: Any) -> None:
    from analysis.facecrops import enqueue_sync

    enqueue_sync(list(image_ids or ()))
