"""Small services shared by the admin, the API and commands, so each front door behaves the same."""

from __future__ import annotations

from typing import Any

from django.db import transaction

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


def save_artwork(changes: dict[str, Any], *, existing: Artwork | None = None) -> Artwork:
    """Creates or updates a work from API fields; raises importers.RowRejected with the reason."""
    record = artwork_record(existing) if existing is not None else {}
    record.update({k: v for k, v in changes.items() if k != "image"})
    if existing is not None:
        record["accession_number"] = existing.accession_number
    prepared = importers.prepare(record, image_dir=None)
    importers.apply(prepared)
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
    """Re-runs processing for works that have an image (curators' 're-run' action)."""
    with transaction.atomic():
        with_images = [a for a in artworks if a.image_id]
        return processing.enqueue_many(with_images)


def set_published(queryset: Any, published: bool) -> int:
    from collection.signals import publication_changed

    rows = list(queryset.values_list("pk", "image_id"))
    count = queryset.update(published=published)
    publication_changed.send(
        sender=Artwork, artwork_ids=[pk for pk, _ in rows], image_ids={image for _, image in rows if image}
    )
    return count
