"""Importing a collection from CSV, JSON or IIIF manifests.

Each record is its own transaction: a bad row is reported with its line number
and reason and the rest import. Works are matched by accession number, so
running the same import twice changes nothing the second time.

Column mapping (case and spaces ignored; the first alias present wins) is
documented in docs/importing.md.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from collection import iiif, images, processing, sources
from collection.artists import parse_artists
from collection.dates import REASON_UNKNOWN, parse_date
from collection.models import (
    LABEL_NAME_MAX_LENGTH,
    MAX_MOTIFS,
    MAX_STYLES,
    PROVENANCE_TEXT_KEYS,
    Artist,
    Artwork,
    ArtworkArtist,
    Classification,
    ImageFile,
    ImportRun,
    Label,
)
from collection.values import accession_problem, clean_text

log = logging.getLogger(__name__)

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "accession_number": ("accession_number", "accession", "object_id", "object_number", "inventory_number", "id"),
    "title": ("title", "name", "label"),
    "artist": ("artist", "artist_display", "artists", "creator", "maker"),
    "date": ("date", "date_display", "dated", "date_made"),
    "classification": ("classification", "object_type", "type", "category"),
    "medium": ("medium", "materials", "technique"),
    "dimensions": ("dimensions", "measurements", "size"),
    "credit_line": ("credit_line", "credit", "creditline"),
    "rights": ("rights", "copyright", "license", "licence"),
    "source_url": ("source_url", "url", "link", "web_url"),
    "iiif_manifest_url": ("iiif_manifest_url", "iiif_manifest", "manifest"),
    "image": ("image", "image_path", "image_file", "file", "filename", "image_url", "iiif_image"),
    "styles": ("styles", "style"),
    "motifs": ("motifs", "motif", "keywords", "tags", "subjects"),
    "published": ("published", "public", "is_published"),
}
REQUIRED_FIELDS = ("accession_number", "title")
TEXT_LIMITS = {
    "accession_number": 64,
    "title": 500,
    "artist": 1000,
    "date": 200,
    "medium": 500,
    "dimensions": 500,
    "credit_line": 500,
    "rights": 500,
    "source_url": 1000,
    "iiif_manifest_url": 1000,
}
_CLASSIFICATION_SYNONYMS = {
    "paintings": "painting",
    "oil painting": "painting",
    "drawings": "drawing",
    "drawing and watercolor": "drawing",
    "watercolor": "drawing",
    "prints": "print",
    "photographs": "photograph",
    "photography": "photograph",
    "sculptures": "sculpture",
    "textiles": "textile",
    "decorative arts": "design",
}
_TRUE = {"1", "true", "yes", "y", "published", "public"}
_FALSE = {"0", "false", "no", "n", "unpublished", "private", "draft"}

Progress = Callable[[int, int], None]


class ImportFileError(ValueError):
    """The whole file cannot be read (encoding, format, missing columns): nothing was imported."""


class RowRejected(ValueError):
    """One record is unusable; the message says why."""


class AccessionTaken(RowRejected):
    """A create-only save found its accession number held by another work (maybe one the caller cannot read)."""


@dataclass(frozen=True)
class RowProblem:
    line: int
    accession_number: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f" ({self.accession_number})" if self.accession_number else "")
        return f"{where}: {self.reason}"


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    # Fields where a curator's edit was kept instead of the file's value, one per work and field.
    conflicts: list[RowProblem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected

    def summary(self) -> str:
        text = f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, rejected {self.rejected}"
        if self.conflicts:
            text += f", {len(self.conflicts)} curator edit(s) kept (conflict lines above; --overwrite-edits takes the file's values)"
        return text


@dataclass
class Source:
    """Records read from one input, with the folder their relative image paths live in."""

    name: str
    records: list[tuple[int, dict[str, Any]]]
    image_dir: Path | None
    unknown_columns: list[str] = field(default_factory=list)


# --- Reading inputs -----------------------------------------------------------


def _normalise_header(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def build_column_map(headers: Iterable[str], overrides: dict[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """Maps file columns to fields; returns (column -> field, unknown columns)."""
    normalised = {_normalise_header(h): h for h in headers if h is not None}
    mapping: dict[str, str] = {}
    for column, target in (overrides or {}).items():
        if target not in COLUMN_ALIASES:
            raise ImportFileError(f"--map {column}={target}: {target!r} is not a field ({', '.join(COLUMN_ALIASES)})")
        key = _normalise_header(column)
        if key not in normalised:
            raise ImportFileError(f"--map {column}={target}: the file has no column {column!r}")
        mapping[normalised[key]] = target
    taken = set(mapping.values())
    for target, aliases in COLUMN_ALIASES.items():
        if target in taken:
            continue
        for alias in aliases:
            original = normalised.get(alias)
            if original is not None and original not in mapping:
                mapping[original] = target
                break
    unknown = [h for h in normalised.values() if h not in mapping]
    return mapping, unknown


def _decode(data: bytes, name: str, encoding: str | None) -> str:
    enc = encoding or "utf-8-sig"
    try:
        return data.decode(enc)
    except UnicodeDecodeError as exc:
        shown = encoding or "UTF-8"  # the default also accepts a byte-order mark, but users know it as UTF-8
        raise ImportFileError(
            f"{name} is not valid {shown} (byte 0x{data[exc.start]:02x} at position {exc.start}); "
            "save it as UTF-8 or pass --encoding (for example --encoding cp1252)"
        ) from None
    except LookupError:
        raise ImportFileError(f"unknown encoding {enc!r}") from None


def _read_bytes(ref: str) -> tuple[bytes, Path | None]:
    if sources.is_url(ref):
        try:
            return sources.fetch_url(ref, max_bytes=50 * 1024 * 1024, what="import file"), None
        except sources.SourceError as exc:
            raise ImportFileError(str(exc)) from None
    path = Path(ref)
    if not path.is_file():
        raise ImportFileError(f"{ref}: no such file")
    return path.read_bytes(), path.resolve().parent


def read_source(
    ref: str,
    *,
    image_dir: Path | None = None,
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
) -> Source:
    data, folder = _read_bytes(ref)
    base = image_dir or folder
    text = _decode(data, ref, encoding)
    stripped = text.lstrip()
    is_json = ref.lower().endswith(".json") or stripped.startswith(("{", "["))
    if is_json:
        return _read_json(ref, text, base, mapping)
    return _read_csv(ref, text, base, mapping)


def _read_csv(ref: str, text: str, base: Path | None, overrides: dict[str, str] | None) -> Source:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        headers = next(reader)
    except StopIteration:
        raise ImportFileError(f"{ref} is empty") from None
    column_map, unknown = build_column_map(headers, overrides)
    missing = [f for f in REQUIRED_FIELDS if f not in column_map.values()]
    if missing:
        raise ImportFileError(
            f"{ref} is missing required column(s): {', '.join(missing)} "
            f"(found: {', '.join(h for h in headers if h)}; see docs/importing.md for accepted names)"
        )
    records: list[tuple[int, dict[str, Any]]] = []
    index = {h: i for i, h in enumerate(headers)}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            records.append((reader.line_num, {"__error__": f"unreadable CSV row: {exc}"}))
            continue
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(headers):
            records.append(
                (line, {"__error__": f"the row has {len(row)} cells but the header has {len(headers)}"})
            )
            continue
        records.append((line, {target: row[index[col]] for col, target in column_map.items()}))
    return Source(name=ref, records=records, image_dir=base, unknown_columns=unknown)


def _read_json(ref: str, text: str, base: Path | None, overrides: dict[str, str] | None) -> Source:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{ref} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if iiif.is_manifest(doc):
        try:
            return Source(name=ref, records=[(1, iiif.read_manifest(doc, source=ref))], image_dir=base)
        except iiif.ManifestError as exc:
            raise ImportFileError(f"{ref}: {exc}") from None
    items = doc.get("artworks", doc.get("items")) if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise ImportFileError(f"{ref}: expected a list of artworks, an object with 'artworks', or a IIIF manifest")
    headers: list[str] = []
    for item in items:
        if isinstance(item, dict):
            headers.extend(k for k in item if k not in headers)
    column_map, unknown = build_column_map(headers, overrides)
    missing = [f for f in REQUIRED_FIELDS if f not in column_map.values()]
    if items and missing:
        raise ImportFileError(f"{ref}: records lack required field(s): {', '.join(missing)}")
    records: list[tuple[int, dict[str, Any]]] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            records.append((number, {"__error__": f"record {number} is not an object"}))
            continue
        records.append((number, {target: item.get(col) for col, target in column_map.items() if col in item}))
    return Source(name=ref, records=records, image_dir=base, unknown_columns=unknown)


# --- Applying records ---------------------------------------------------------


def _clean_text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    text = str(value) if name == "accession_number" else clean_text(str(value))
    text = " ".join(text.split())
    limit = TEXT_LIMITS.get(name)
    if limit and len(text) > limit:
        raise RowRejected(f"{name} is {len(text)} characters long, above the limit of {limit}")
    return text


def _split_terms(value: Any, name: str, cap: int) -> list[str]:
    """Terms as given, refused over the caps the API and admin also apply (collection.models), never cut."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        parts = [str(v) for v in value]
    else:
        text = str(value)
        sep = "|" if "|" in text else ";"
        parts = text.split(sep)
    terms = [term for term in (" ".join(clean_text(part).split()) for part in parts) if term]
    if len(terms) > cap:
        raise RowRejected(f"{name} has {len(terms)} terms, above the limit of {cap}")
    for term in terms:
        if len(term) > LABEL_NAME_MAX_LENGTH:
            raise RowRejected(
                f"{name} term {term[:30] + '…'!r} is {len(term)} characters long, above the limit of {LABEL_NAME_MAX_LENGTH}"
            )
    seen: list[str] = []
    for term in terms:
        if term.lower() not in (s.lower() for s in seen):
            seen.append(term)
    return seen


def _classification(value: str) -> tuple[str, str | None]:
    if not value:
        return Classification.PAINTING, None
    key = value.strip().lower()
    key = _CLASSIFICATION_SYNONYMS.get(key, key)
    if key in Classification.values:
        return key, None
    if key.endswith("s") and key[:-1] in Classification.values:
        return key[:-1], None
    return Classification.OTHER, f"classification {value!r} is not known; stored as 'other'"


def _published(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RowRejected(f"published value {value!r} is not yes/no")


@dataclass
class _Prepared:
    fields: dict[str, Any]
    credits: list[tuple[dict[str, Any], str]]
    styles: list[str]
    motifs: list[str]
    image_bytes: bytes | None
    image_name: str
    published: bool | None
    warnings: list[str]


def prepare(record: dict[str, Any], image_dir: Path | None) -> _Prepared:
    """Parses and validates a record without touching the database."""
    if "__error__" in record:
        raise RowRejected(record["__error__"])
    for name, value in record.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        if any(isinstance(v, str) and "\x00" in v for v in values):
            # PostgreSQL refuses NUL in text; say so instead of failing with a database error.
            raise RowRejected(f"{name} contains a NUL character (0x00); is the file binary or corrupt?")
    accession = _clean_text(record, "accession_number")
    if not accession:
        raise RowRejected("accession number is empty")
    if problem := accession_problem(accession):
        raise RowRejected(f"accession number {accession!r} {problem}")
    title = _clean_text(record, "title")
    if not title:
        raise RowRejected("title is empty")
    warnings: list[str] = []
    date_text = _clean_text(record, "date")
    parsed_date = parse_date(date_text)
    if parsed_date.reason and date_text and parsed_date.reason != REASON_UNKNOWN:
        warnings.append(f"date {date_text!r} kept as written without years: {parsed_date.reason}")
    artist_text = _clean_text(record, "artist")
    credits = []
    for person in parse_artists(artist_text) if artist_text else []:
        identity = {
            "name": person.name[:300],
            "nationality": (person.nationality or "")[:120],
            "birth_year": person.birth_year,
            "death_year": person.death_year,
        }
        credits.append((identity, (person.qualifier or "")[:60]))
    classification, problem = _classification(_clean_text(record, "classification"))
    if problem:
        warnings.append(problem)
    image_ref = _clean_text(record, "image")
    image_bytes = None
    if image_ref:
        try:
            image_bytes = sources.read_image(image_ref, image_dir)
        except sources.SourceError as exc:
            raise RowRejected(str(exc)) from None
    fields = {
        "title": title,
        "artist_display": artist_text,
        "date_display": date_text,
        "year_start": parsed_date.year_start,
        "year_end": parsed_date.year_end,
        "decade": parsed_date.decade,
        "classification": classification,
        "medium": _clean_text(record, "medium"),
        "dimensions": _clean_text(record, "dimensions"),
        "credit_line": _clean_text(record, "credit_line"),
        "rights": _clean_text(record, "rights"),
        "source_url": _clean_text(record, "source_url"),
        "iiif_manifest_url": _clean_text(record, "iiif_manifest_url"),
    }
    for url_field in ("source_url", "iiif_manifest_url"):
        if fields[url_field] and not sources.is_url(str(fields[url_field])):
            raise RowRejected(f"{url_field} {fields[url_field]!r} is not an http(s) URL")
    return _Prepared(
        fields={"accession_number": accession, **fields},
        credits=credits,
        styles=_split_terms(record.get("styles"), "styles", MAX_STYLES),
        motifs=_split_terms(record.get("motifs"), "motifs", MAX_MOTIFS),
        image_bytes=image_bytes,
        image_name=image_ref,
        published=_published(record.get("published")),
        warnings=warnings,
    )


def _labels(kind: str, names: list[str]) -> list[Label]:
    return [Label.objects.get_or_create(kind=kind, name=name)[0] for name in names]


# Import column names of the provenance keys, for conflict lines.
_KEY_NAMES = {"artist_display": "artist", "date_display": "date", "credits": "artist credits"}


@dataclass
class Applied:
    outcome: str  # "created", "updated" or "unchanged"
    conflicts: list[str] = field(default_factory=list)


def _wanted(prepared: _Prepared, digest: str | None) -> dict[str, Any]:
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


def _image_record(prepared: _Prepared, digest: str) -> ImageFile:
    record = ImageFile.objects.filter(sha256=digest).first()
    if record is None or not record.derivatives_complete():
        try:
            record = images.ingest(prepared.image_bytes or b"", name=prepared.image_name)
        except images.ImageRejected as exc:
            raise RowRejected(str(exc)) from None
    return record


def apply(
    prepared: _Prepared,
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
    if digest is not None and _image_needed(
        accession, digest, provenance=provenance, overwrite_edits=overwrite_edits
    ):
        image_record = _image_record(prepared, digest)
    wanted = _wanted(prepared, digest)
    with transaction.atomic():
        artwork = Artwork.objects.select_for_update().filter(accession_number=accession).first()
        created = artwork is None
        conflicts: list[str] = []
        if artwork is None:
            artwork = Artwork(accession_number=accession)
            current: dict[str, Any] = {}
            take = set(wanted)
        else:
            if create_only:
                raise AccessionTaken(f"accession number {accession!r} is taken")
            artwork.check_version(expected_version)
            current = artwork.provenance_values()
            take = {key for key, value in wanted.items() if current[key] != value}
            if provenance and not overwrite_edits:
                conflicts = [key for key in sorted(take) if _edited(key, current[key], artwork.imported)]
            if "artist_display" in conflicts or (not provenance and "artist_display" not in take):
                # Credits follow the artist text: kept with a kept text, and an edit of something else
                # does not re-derive credits a curator fixed by hand.
                take.discard("credits")
                if "credits" in conflicts:
                    conflicts.remove("credits")
            take -= set(conflicts)
        if "image" in take and image_record is None:  # someone changed the work since the look before the lock
            image_record = _image_record(prepared, digest or "")

        row_changed = created
        for key in take & {*PROVENANCE_TEXT_KEYS, "published"}:
            setattr(artwork, key, wanted[key])
            row_changed = True
        if "date_display" not in conflicts:  # the span and decade follow the date text
            for name in ("year_start", "year_end", "decade"):
                if getattr(artwork, name) != prepared.fields[name]:
                    setattr(artwork, name, prepared.fields[name])
                    row_changed = True
        if "image" in take:
            artwork.image = image_record
            row_changed = True
        recorded_changed = False
        if provenance:
            recorded = {**artwork.imported, **{k: v for k, v in wanted.items() if k not in conflicts}}
            if created:  # what the import left at its default is the import's too
                recorded.update(published=artwork.published, image=digest)
            recorded_changed = recorded != artwork.imported
            artwork.imported = recorded
        if row_changed:
            artwork.full_clean(exclude=["image", "artists", "labels"], validate_unique=False)
            artwork.save()
        elif recorded_changed:
            artwork.save(update_fields=["imported"])  # bookkeeping only: no version bump

        related_changed = False
        if "credits" in take and (prepared.credits or not created):
            artwork.credits.all().delete()
            for order, (identity, qualifier) in enumerate(prepared.credits):
                artist, _ = Artist.objects.get_or_create(**identity)
                ArtworkArtist.objects.create(artwork=artwork, artist=artist, qualifier=qualifier, order=order)
            related_changed = True
        if "styles" in take or "motifs" in take:
            labels: list[Label] = []
            for kind, key, names in ((Label.Kind.STYLE, "styles", prepared.styles), (Label.Kind.MOTIF, "motifs", prepared.motifs)):
                labels += _labels(kind, names) if key in take else list(artwork.labels.filter(kind=kind))
            artwork.labels.set(labels)
            related_changed = True
        if related_changed and not row_changed:
            artwork.mark_edited()
        if "image" in take:
            processing.enqueue(artwork)
    lines = [
        f"{_KEY_NAMES.get(key, key)}: kept the curator's {_show(key, current[key])}; "
        f"the file has {_show(key, wanted[key])}"
        for key in conflicts
    ]
    if created:
        return Applied("created")
    return Applied("updated" if row_changed or related_changed else "unchanged", lines)


def import_records(
    source: Source,
    progress: Progress | None = None,
    *,
    seen: dict[str, tuple[str, int]] | None = None,
    overwrite_edits: bool = False,
) -> ImportResult:
    """``seen`` (accession number -> source and line) is shared by the files of one run, so a work
    given twice is reported on its second occurrence, whichever file it is in, and never applied twice."""
    result = ImportResult()
    seen = {} if seen is None else seen
    total = len(source.records)
    if source.unknown_columns:
        result.warnings.append(
            RowProblem(1, "", f"ignored column(s) with no field: {', '.join(source.unknown_columns)}")
        )
    for done, (line, record) in enumerate(source.records, start=1):
        accession = str(record.get("accession_number") or "").strip()
        try:
            if accession and accession in seen:
                first_source, first_line = seen[accession]
                where = "" if first_source == source.name else f" in {first_source}"
                raise RowRejected(f"duplicate accession number {accession!r} (first seen{where} on line {first_line})")
            prepared = prepare(record, source.image_dir)
            if accession:
                seen[accession] = (source.name, line)
            applied = apply(prepared, provenance=True, overwrite_edits=overwrite_edits)
        except (RowRejected, images.ImageRejected) as exc:
            result.rejected += 1
            result.errors.append(RowProblem(line, accession, str(exc)))
        except ValidationError as exc:
            result.rejected += 1
            reasons = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            result.errors.append(RowProblem(line, accession, f"invalid value(s): {reasons}"))
        except Exception as exc:  # noqa: BLE001 - one broken row must not stop the others
            log.exception("unexpected error importing line %s of %s", line, source.name)
            result.rejected += 1
            result.errors.append(RowProblem(line, accession, f"unexpected error: {type(exc).__name__}: {exc}"))
        else:
            setattr(result, applied.outcome, getattr(result, applied.outcome) + 1)
            result.warnings.extend(RowProblem(line, accession, w) for w in prepared.warnings)
            result.conflicts.extend(RowProblem(line, accession, c) for c in applied.conflicts)
        if progress:
            progress(done, total)
    return result


def import_collection(
    refs: list[str],
    *,
    image_dir: Path | None = None,
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
    progress_factory: Callable[[Source], Progress | None] | None = None,
    overwrite_edits: bool = False,
) -> ImportResult:
    """Reads every input first, so a file that cannot be read raises ImportFileError before any row of any file."""
    sources_read = [read_source(ref, image_dir=image_dir, mapping=mapping, encoding=encoding) for ref in refs]
    total = ImportResult()
    seen: dict[str, tuple[str, int]] = {}
    for ref, source in zip(refs, sources_read, strict=True):
        run = ImportRun.objects.create(source=ref[:1000])
        result = import_records(
            source, progress_factory(source) if progress_factory else None, seen=seen, overwrite_edits=overwrite_edits
        )
        run.created, run.updated, run.unchanged, run.rejected = (
            result.created,
            result.updated,
            result.unchanged,
            result.rejected,
        )
        run.errors = [str(e) for e in result.errors[:1000]]
        run.conflicts = [str(c) for c in result.conflicts[:1000]]
        run.finished = timezone.now()
        run.save()
        for name in ("created", "updated", "unchanged", "rejected"):
            setattr(total, name, getattr(total, name) + getattr(result, name))
        total.errors.extend(result.errors)
        total.warnings.extend(result.warnings)
        total.conflicts.extend(result.conflicts)
    return total


def iter_lines(result: ImportResult) -> Iterator[str]:
    for problem in result.errors:
        yield f"rejected {problem}"
    for problem in result.conflicts:
        yield f"conflict {problem}"
    for problem in result.warnings:
        yield f"warning  {problem}"
