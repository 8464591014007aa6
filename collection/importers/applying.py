"""Saving one prepared record: create or update the work, and remember what the import set.

A re-import must not undo a curator's work, so each value carries provenance
(``Artwork.imported``): a value someone changed since the last import is kept and
reported as a conflict unless the caller overwrites edits. The steps of :func:`apply`
run under the work's row lock, so two saves of one accession number never interleave.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from collection import images, processing
from collection.importers.preparing import Prepared, RowRejected
from collection.models import PROVENANCE_TEXT_KEYS, Artist, Artwork, ArtworkArtist, ImageFile, Label


class AccessionTaken(RowRejected):
    """A create-only save found its accession number held by another work (maybe one the caller cannot read)."""


def _labels(kind: str, names: list[str]) -> list[Label]:
    return [Label.objects.get_or_create(kind=kind, name=name)[0] for name in names]


# Import column names of the provenance keys, for conflict lines.
_KEY_NAMES = {"artist_display": "artist", "date_display": "date", "credits": "artist credits"}


@dataclass
class Applied:
    outcome: str  # "created", "updated" or "unchanged"
    conflicts: list[str] = field(default_factory=list)


def _wanted(prepared: Prepared, digest: str | None) -> dict[str, Any]:
    """The record's values under the provenance keys (see Artwork.provenance_values)."""
    wanted: dict[str, Any] = {key: prepared.fields[key] for key in PROVENANCE_TEXT_KEYS}
    wanted["styles"] = sorted(prepared.styles)
    wanted["motifs"] = sorted(prepared.motifs)
    wanted["credits"] = [
        [who["name"], who["nationality"], who["birth_year"], who["death_year"], qualifier]
        for who, qualifier in prepared.credits
    ]
    if prepared.published is not None:  # empty: leave as it is
        wanted["published"] = prepared.published
    if digest is not None:  # no image in the row: leave as it is
        wanted["image"] = digest
    return wanted


def _edited(key: str, current: Any, recorded: dict[str, Any]) -> bool:
    """Whether someone other than an import put the current value there.

    With no record for the key (the work predates provenance, was made in the admin or API, or no
    import ever set this key), a value that is there is presumed to be someone's work; an empty one is not.
    """
    if key in recorded:
        return recorded[key] != current
    return current not in (None, "", [])


def _show(key: str, value: Any) -> str:
    if key == "image":
        return f"picture sha256 {value[:12]}…" if value else "no picture"
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _image_needed(accession: str, digest: str, *, provenance: bool, overwrite_edits: bool) -> bool:
    """Looked up before the row's lock, so a picture the import will not use is not even stored."""
    work = Artwork.objects.select_related("image").filter(accession_number=accession).first()
    if work is None or not provenance or overwrite_edits:
        return True
    current = work.image.sha256 if work.image is not None else None
    return current == digest or not _edited("image", current, work.imported)


def _image_record(prepared: Prepared, digest: str) -> ImageFile:
    record = ImageFile.objects.filter(sha256=digest).first()
    if record is None or not record.derivatives_complete():
        try:
            record = images.ingest(prepared.image_bytes or b"", name=prepared.image_name)
        except images.ImageRejected as exc:
            raise RowRejected(str(exc)) from None
    return record


@dataclass
class _Decision:
    """Which of the record's values one save takes, and which curator edits it keeps instead."""

    take: set[str]
    conflicts: list[str]
    current: dict[str, Any]  # the work's values before the save, under the provenance keys


def apply(
    prepared: Prepared,
    *,
    provenance: bool = False,
    overwrite_edits: bool = False,
    expected_version: int | None = None,
    create_only: bool = False,
) -> Applied:
    """Creates or updates one work.

    ``provenance`` is for imports: a value a curator changed since the last import is kept and
    reported as a conflict (unless ``overwrite_edits``), and what the import set is remembered on
    the work. Edits (API) take every value and leave that record alone, so the next import sees them.
    ``expected_version`` refuses the save with StaleVersion if the work moved on since the editor read it.
    ``create_only`` refuses with AccessionTaken when the number is held, checked under the same lock
    as the write, so a work inserted meanwhile is never updated by a create.
    """
    accession = prepared.fields["accession_number"]
    digest = hashlib.sha256(prepared.image_bytes).hexdigest() if prepared.image_bytes is not None else None
    image_record: ImageFile | None = None
    if digest is not None and _image_needed(accession, digest, provenance=provenance, overwrite_edits=overwrite_edits):
        image_record = _image_record(prepared, digest)
    wanted = _wanted(prepared, digest)
    with transaction.atomic():
        artwork = Artwork.objects.select_for_update().filter(accession_number=accession).first()
        created = artwork is None
        if artwork is None:
            artwork = Artwork(accession_number=accession)
            decision = _Decision(take=set(wanted), conflicts=[], current={})
        else:
            if create_only:
                raise AccessionTaken(f"accession number {accession!r} is taken")
            artwork.check_version(expected_version)
            decision = _decide(artwork, wanted, provenance=provenance, overwrite_edits=overwrite_edits)
        if "image" in decision.take and image_record is None:  # someone changed the work since the look before the lock
            image_record = _image_record(prepared, digest or "")
        row_changed = _set_fields(artwork, prepared, wanted, decision, image_record, created=created)
        recorded_changed = provenance and _record_provenance(artwork, wanted, decision, digest, created=created)
        if row_changed:
            artwork.full_clean(exclude=["image", "artists", "labels"], validate_unique=False)
            artwork.save()
        elif recorded_changed:
            artwork.save(update_fields=["imported"])  # bookkeeping only: no version bump
        related_changed = _set_related(artwork, prepared, decision.take, created=created)
        if related_changed and not row_changed:
            artwork.mark_edited()
        if "image" in decision.take:
            processing.enqueue(artwork)
    if created:
        return Applied("created")
    return Applied("updated" if row_changed or related_changed else "unchanged", _conflict_lines(decision, wanted))


def _decide(artwork: Artwork, wanted: dict[str, Any], *, provenance: bool, overwrite_edits: bool) -> _Decision:
    current = artwork.provenance_values()
    take = {key for key, value in wanted.items() if current[key] != value}
    conflicts: list[str] = []
    if provenance and not overwrite_edits:
        conflicts = [key for key in sorted(take) if _edited(key, current[key], artwork.imported)]
    if "artist_display" in conflicts or (not provenance and "artist_display" not in take):
        # Credits follow the artist text: kept with a kept text, and an edit of something else
        # does not re-derive credits a curator fixed by hand.
        take.discard("credits")
        if "credits" in conflicts:
            conflicts.remove("credits")
    take -= set(conflicts)
    return _Decision(take=take, conflicts=conflicts, current=current)


def _set_fields(
    artwork: Artwork,
    prepared: Prepared,
    wanted: dict[str, Any],
    decision: _Decision,
    image_record: ImageFile | None,
    *,
    created: bool,
) -> bool:
    """Sets the work's own columns; whether the row changed decides the save and the version bump."""
    row_changed = created
    for key in decision.take & {*PROVENANCE_TEXT_KEYS, "published"}:
        setattr(artwork, key, wanted[key])
        row_changed = True
    if "date_display" not in decision.conflicts:  # the span and decade follow the date text
        for name in ("year_start", "year_end", "decade"):
            if getattr(artwork, name) != prepared.fields[name]:
                setattr(artwork, name, prepared.fields[name])
                row_changed = True
    if "image" in decision.take:
        artwork.image = image_record
        row_changed = True
    return row_changed


def _record_provenance(
    artwork: Artwork, wanted: dict[str, Any], decision: _Decision, digest: str | None, *, created: bool
) -> bool:
    """Remembers what this import set (not the kept edits), so the next import can tell an edit from its own value."""
    recorded = {**artwork.imported, **{k: v for k, v in wanted.items() if k not in decision.conflicts}}
    if created:  # what the import left at its default is the import's too
        recorded.update(published=artwork.published, image=digest)
    changed = recorded != artwork.imported
    artwork.imported = recorded
    return changed


def replace_credits(artwork: Artwork, credit_list: list[tuple[dict[str, Any], str]]) -> None:
    """The work's credits become ``credit_list`` (from :func:`~collection.importers.preparing.credits_from_text`).

    Artists are found by their whole identity before one is made, so saving the same credit line
    again, here or from the admin, links the same Artist rows instead of adding copies.
    """
    artwork.credits.all().delete()
    for order, (identity, qualifier) in enumerate(credit_list):
        artist, _ = Artist.objects.get_or_create(**identity)
        ArtworkArtist.objects.create(artwork=artwork, artist=artist, qualifier=qualifier, order=order)


def _set_related(artwork: Artwork, prepared: Prepared, take: set[str], *, created: bool) -> bool:
    """Credits and labels live in other tables, so they are written after the work's row exists."""
    related_changed = False
    if "credits" in take and (prepared.credits or not created):
        replace_credits(artwork, prepared.credits)
        related_changed = True
    if "styles" in take or "motifs" in take:
        labels: list[Label] = []
        for kind, key, names in (
            (Label.Kind.STYLE, "styles", prepared.styles),
            (Label.Kind.MOTIF, "motifs", prepared.motifs),
        ):
            labels += _labels(kind, names) if key in take else list(artwork.labels.filter(kind=kind))
        artwork.labels.set(labels)
        related_changed = True
    return related_changed


def _conflict_lines(decision: _Decision, wanted: dict[str, Any]) -> list[str]:
    return [
        f"{_KEY_NAMES.get(key, key)}: kept the curator's {_show(key, decision.current[key])}; "
        f"the file has {_show(key, wanted[key])}"
        for key in decision.conflicts
    ]
