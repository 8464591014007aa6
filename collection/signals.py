"""collection's receivers: pictures follow their works' publication, which is announced on core.signals.publication_changed."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from core.signals import publication_changed


@receiver(publication_changed)
def _pictures_follow_their_works(image_ids: Any = (), **kwargs: Any) -> None:
    from collection.processing import enqueue_visibility_sync

    enqueue_visibility_sync(list(image_ids or ()))


@receiver(pre_save, sender="collection.Artwork")
def _remember_publication(instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """Reads the stored ``published`` and picture before a save that may change them.

    Asked of the database rather than remembered at load time: an instance
    refreshed with refresh_from_db, or edited after a bulk update, would
    otherwise compare against a stale value and miss the change.
    """
    instance._stored_before_save = None
    watched = {"published", "image"}
    if instance.pk is None or (update_fields is not None and not watched & set(update_fields)):
        return
    instance._stored_before_save = (
        type(instance).objects.filter(pk=instance.pk).values_list("published", "image_id").first()
    )


@receiver(post_save, sender="collection.Artwork")
def _pictures_follow_publication(instance: Any, created: bool, **kwargs: Any) -> None:
    """A saved change of ``published`` is announced like a bulk one, so every stage follows it; a
    replaced picture is re-filed, so one that no published work shows any more leaves public reach.

    A new work needs nothing here: its processing files its pictures (pipeline.stages.Derivatives).
    """
    stored = getattr(instance, "_stored_before_save", None)
    if created or stored is None:
        return
    was_published, old_image_id = stored
    if old_image_id is not None and old_image_id != instance.image_id:
        from collection.processing import enqueue_visibility_sync

        enqueue_visibility_sync([old_image_id])
    if was_published != instance.published:
        publication_changed.send(
            sender=type(instance), artwork_ids=[instance.pk], image_ids=[instance.image_id] if instance.image_id else []
        )
