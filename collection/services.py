"""Small services shared by the admin, the API and commands, so each front door behaves the same."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F

from collection import images, importers, processing
from collection.models import Artwork


def artwork_record(artwork: Artwork) -> dict[str, Any]:
    """The work as an import record, so edits go through the same parsing as imports."""
    return {
        "accession_number": artwork.accession_number,
        "title": artwork.title,
        "artist": artwork.artist_display,
        "date": artwork.date_display,
        "classification": artwork.classification,
        "medium": artwork.medium,
        "dimensions": artwork.dimensions,
        "credit_line": artwork.credit_line,
        "rights": artwork.rights,
        "source_url": artwork.source_url,
        "iiif_manifest_url": artwork.iiif_manifest_url,
        "styles": artwork.styles,
        "motifs": artwork.motifs,
        "published": artwork.published,
    }


def save_artwork(
    changes: dict[str, Any], *, existing: Artwork | None = None, expected_version: int | None = None
) -> Artwork:
    """Creates or updates a work from API fields; raises importers.RowRejected with the reason, and
    StaleVersion when ``expected_version`` is given and someone saved the work since.

    The untouched fields are read under the row's lock, so a partial update never writes back a
    value someone else changed meanwhile.
    """
    with transaction.atomic():
        if existing is not None:
            existing = Artwork.objects.select_for_update().get(pk=existing.pk)
            existing.check_version(expected_version)
        record = artwork_record(existing) if existing is not None else {}
        record.update({k: v for k, v in changes.items() if k != "image"})
        if existing is not None:
            record["accession_number"] = existing.accession_number
        prepared = importers.prepare(record, image_dir=None)
        importers.apply(prepared, expected_version=expected_version, create_only=existing is None)
    return Artwork.objects.with_related().get(accession_number=prepared.fields["accession_number"])


def attach_image(artwork: Artwork, data: bytes, *, name: str = "upload") -> Artwork:
    """Stores the picture (once per content hash) and re-processes the work if it changed."""
    record = images.ingest(data, name=name)
    with transaction.atomic():
        locked = Artwork.objects.select_for_update().get(pk=artwork.pk)
        if locked.image_id != record.pk:
            locked.image = record
            locked.save(update_fields=["image", "updated"])
            processing.enqueue(locked)
    artwork.refresh_from_db()
    return artwork


def reprocess(artworks: list[Artwork]) -> int:
    """Re-runs processing for works that have an image (curators' 're-run' action), as one job."""
    from core.models import Job

    with_images = [a for a in artworks if a.image_id]
    job = Job.objects.create(kind="process", target=f"re-run of {len(with_images)} works")
    with transaction.atomic(), processing.burst(job):
        return processing.enqueue_many(with_images)


def set_published(queryset: Any, published: bool) -> int:
    from core.signals import publication_changed

    rows = list(queryset.values_list("pk", "image_id"))
    count = queryset.update(published=published, version=F("version") + 1)
    publication_changed.send(
        sender=Artwork, artwork_ids=[pk for pk, _ in rows], image_ids={image for _, image in rows if image}
    )
    return count
