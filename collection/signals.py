"""Signals later pipeline stages listen to, so collection/ never imports them; and collection's own receivers."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_init, post_save
from django.dispatch import Signal, receiver

# Sent after a bulk publish/unpublish (queryset.update sends no post_save), with ``image_ids``: the
# pictures of the works whose publication changed.
publication_changed = Signal()


@receiver(publication_changed)
def _pictures_follow_bulk_publication(image_ids: Any = (), **kwargs: Any) -> None:
    from collection.processing import enqueue_visibility_sync

    enqueue_visibility_sync(list(image_ids or ()))


@receiver(post_init, sender="collection.Artwork")
def _remember_publication(instance: Any, **kwargs: Any) -> None:
    # __dict__, not the attribute: reading a deferred field here would query the database.
    instance._published_as_loaded = instance.__dict__.get("published")


@receiver(post_save, sender="collection.Artwork")
def _pictures_follow_publication(instance: Any, created: bool, **kwargs: Any) -> None:
    """A saved change of ``published`` on a work with a picture re-files the picture's derivatives.

    A new work needs nothing here: its processing files them (collection.tasks.process_artwork).
    """
    loaded = getattr(instance, "_published_as_loaded", None)
    instance._published_as_loaded = instance.published
    if created or loaded is None or loaded == instance.published or instance.image_id is None:
        return
    from collection.processing import enqueue_visibility_sync

    enqueue_visibility_sync([instance.image_id])
