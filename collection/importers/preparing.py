"""Turning one read record into the values of a work, without touching the database.

Everything a row can be refused for on its own (empty or malformed accession number,
text over the column limits, too many or too long terms, a picture that cannot be read)
is decided here, so the API's edits and the imports refuse the same things with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collection import sources
from collection.artists import parse_artists
from collection.dates import REASON_UNKNOWN, parse_date
from collection.models import LABEL_NAME_MAX_LENGTH, MAX_MOTIFS, MAX_STYLES, Classification
from collection.values import accession_problem, clean_text

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


class RowRejected(ValueError):
    """One record is unusable; the message says why."""


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
class Prepared:
    """A record parsed and checked before any lock is taken, so the write under the row lock stays short."""

    fields: dict[str, Any]
    credits: list[tuple[dict[str, Any], str]]
    styles: list[str]
    motifs: list[str]
    image_bytes: bytes | None
    image_name: str
    published: bool | None
    warnings: list[str]


def credits_from_text(artist_text: str) -> list[tuple[dict[str, Any], str]]:
    """``(artist identity, qualifier)`` per person a credit line names, cut to the columns' lengths.

    One reading for imports, API edits and the admin, so a credit typed by a curator finds the same
    Artist row as the same credit imported from the museum's file.
    """
    found: list[tuple[dict[str, Any], str]] = []
    for person in parse_artists(artist_text) if artist_text else []:
        identity = {
            "name": person.name[:300],
            "nationality": (person.nationality or "")[:120],
            "birth_year": person.birth_year,
            "death_year": person.death_year,
        }
        found.append((identity, (person.qualifier or "")[:60]))
    return found


def prepare(record: dict[str, Any], image_dir: Path | None) -> Prepared:
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
    artist_credits = credits_from_text(artist_text)
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
    return Prepared(
        fields={"accession_number": accession, **fields},
        credits=artist_credits,
        styles=_split_terms(record.get("styles"), "styles", MAX_STYLES),
        motifs=_split_terms(record.get("motifs"), "motifs", MAX_MOTIFS),
        image_bytes=image_bytes,
        image_name=image_ref,
        published=_published(record.get("published")),
        warnings=warnings,
    )
