"""Keep derived data in step: the similarity index and the decade summaries follow the collection."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from analysis.models import Embedding, FeatureModel
from analysis.signals import faces_found
from collection.models import Artwork
from core.signals import publication_changed
from core.stamp import bump_stamp
from maps.models import MapPoint


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
    """After a publish/unpublish: a fresh index, and everything the public reads of the ready builds
    that hold the works re-derived (atlases, cluster names and sizes, counts, decades, metrics).

    Every map's publication epoch is bumped under its row lock first. A build going live takes the
    same lock and compares epochs (``Map.go_live``), so a change landing while it goes live is seen
    by one side or the other: before the switch the build re-derives its public data; after it,
    the query below finds the build ready and refreshes it. Builds kept from before a switch are
    refreshed too: pages loaded before it still read them.
    """
    from maps.models import Map
    from maps.tasks import schedule_publication_refresh

    ids = list(artwork_ids or ())
    transaction.on_commit(bump_stamp)
    if not ids:
        return
    with transaction.atomic():
        locked = list(Map.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
        Map.objects.filter(pk__in=locked).update(publication_epoch=F("publication_epoch") + 1)
        builds = set(
            MapPoint.objects.filter(artwork_id__in=ids, build__status="ready")
            .values_list("build_id", flat=True)
            .distinct()
        )
    for build_pk in sorted(builds):
        schedule_publication_refresh(build_pk)


@receiver(faces_found)
def _place_new_faces(artwork: Any, **kwargs: Any) -> None:
    """A work's new faces on every live faces map that covers it (placing.place_faces); no other point moves."""
    from maps.placing import place_faces

    place_faces(artwork)
