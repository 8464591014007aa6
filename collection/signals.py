"""Signals later pipeline stages listen to, so collection/ never imports them; and collection's own receivers."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save, pre_save
from django.dispatch import Signal, receiver

# Sent when works are published or unpublished, one by one (a saved change of ``published``) or in
# bulk (queryset.update sends no post_save), with ``artwork_ids`` and ``image_ids``: the works whose
# publication changed and their pictures. Later stages re-file what they derived from them (face
# crops, map atlases) without collection/ importing them.
publication_changed = Signal()


@receiver(publication_changed)
def _pictures_follow_their_works(image_ids: Any = (), **kwargs: Any) -> None:
    from collection.processing import enqueue_visibility_sync

    enqueue_visibility_sync(list(image_ids or ()))


@receiver(pre_save, sender="collection.Artwork")
def _remember_publication(instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """Reads the stored ``published`` before a save that may change it.

    Asked of the database rather than remembered at load time: an instance
    refreshed with refresh_from_db, or edited after a bulk update, would
    otherwise compare against a stale value and miss the change.
    """
    instance._published_before_save = None
    if instance.pk is None or (update_fields is not None and "published" not in update_fields):
        return
    stored = type(instance).objects.filter(pk=instance.pk).values_list("published", flat=True).first()
    instance._published_before_save = stored


@receiver(post_save, sender="collection.Artwork")
def _pictures_follow_publication(instance: Any, created: bool, **kwargs: Any) -> None:
    """A saved change of ``published`` is announced like a bulk one, so every stage follows it.

    A new work needs nothing here: its processing files its pictures (collection.tasks.process_artwork).
    """
    before = getattr(instance, "_published_before_save", None)
    if created or before is None or before == instance.published:
        return
    publication_changed.send(
        sender=type(instance), artwork_ids=[instance.pk], image_ids=[instance.image_id] if instance.image_id else []
    )
