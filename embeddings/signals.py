"""Keep derived data in step: the similarity index and the decade summaries follow the collection."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from collection.models import Artwork
from collection.signals import publication_changed
from embeddings.similar import bump_stamp
from embeddings.models import MapPoint
from mlserver.models import Embedding, FeatureModel


@receiver(post_save, sender=Embedding)
@receiver(post_delete, sender=Embedding)
@receiver(post_save, sender=FeatureModel)
def _vectors_changed(**kwargs: Any) -> None:
    transaction.on_commit(bump_stamp)


@receiver(post_save, sender=MapPoint)
@receiver(post_save, sender=Artwork)
@receiver(post_delete, sender=Artwork)
def _artwork_changed(**kwargs: Any) -> None:
    transaction.on_commit(bump_stamp)


@receiver(publication_changed)
def _publication_changed(**kwargs: Any) -> None:
    """After a bulk publish/unpublish: fresh index and decades on every live map."""
    from embeddings.models import Map
    from embeddings.tasks import refresh_decades

    def _after() -> None:
        bump_stamp()
        for map_pk in Map.objects.exclude(live_build=None).values_list("pk", flat=True):
            refresh_decades.delay(map_pk)

    transaction.on_commit(_after)
