"""Reading import files: CSV, JSON lists and IIIF manifests into numbered records.

A file that cannot be read as a whole (encoding, format, missing columns) raises
ImportFileError before any row is touched; a single unreadable row becomes a
record carrying ``__error__``, so it is reported with its line number and the rest import.
Column mapping (case and spaces ignored; the first alias present wins) is
documented in docs/importing.md.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collection import iiif, sources

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


class ImportFileError(ValueError):
    """The whole file cannot be read (encoding, format, missing columns): nothing was imported."""


@dataclass
class Source:
    """Records read from one input, with the folder their relative image paths live in."""

    name: str
    records: list[tuple[int, dict[str, Any]]]
    image_dir: Path | None
    unknown_columns: list[str] = field(default_factory=list)


def _normalise_header(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def build_column_map(
    headers: Iterable[str], overrides: dict[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
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
            records.append((line, {"__error__": f"the row has {len(row)} cells but the header has {len(headers)}"}))
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
