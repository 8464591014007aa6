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
def _publication_changed(artwork_ids: Any = (), **kwargs: Any) -> None:
    """After a publish/unpublish: fresh index and decades on every live map, and fresh atlases on
    the builds that hold the works (atlas sheets are public images of every published thumbnail).

    Atlases of the kept previous build are refreshed too: pages loaded before a switch still read them.
    """
    from embeddings.models import Map
    from embeddings.tasks import refresh_decades, schedule_atlas_refresh

    ids = list(artwork_ids or ())

    def _after() -> None:
        bump_stamp()
        for map_pk in Map.objects.exclude(live_build=None).values_list("pk", flat=True):
            refresh_decades.delay(map_pk)

    transaction.on_commit(_after)
    builds = set(
        MapPoint.objects.filter(artwork_id__in=ids, build__status="ready")
        .exclude(build__atlases={})
        .values_list("build_id", flat=True)
        .distinct()
    ) if ids else set()
    for build_pk in sorted(builds):
        schedule_atlas_refresh(build_pk)
