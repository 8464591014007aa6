"""What a stored value may be: the one rule for accession numbers, free text and ids.

Every entrance (CSV/JSON/IIIF import, the API, the admin) passes values through here, so a value
one door accepts is never one another door, a URL or an export cannot handle. Nothing here
touches the database, so models, importers, serializers and URL configs can all import it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse

# The API's routes under a work: collection's own actions (image) and those later stages put there
# (embeddings: similar). An accession number ending in "/similar" would be shadowed by the
# similar-works route of its first part. The URL space under a work is collection's, so it keeps the list.
ARTWORK_ACTION_PATHS = ("image", "similar")

# One path segment that is not "." or ".." (browsers and proxies collapse those); an accession
# number is one or more segments joined by "/". The look-ahead sees the "/" routes put after it,
# or the end where the pattern stands alone (the OpenAPI schema's).
_SEGMENT = r"(?!\.{1,2}(?:/|$))[^/]+"
ACCESSION_REGEX = rf"{_SEGMENT}(?:/{_SEGMENT})*"

# Bidi embeddings, overrides and isolates: they make "gpj.exe" read as "exe.jpg".
_BIDI = "\u202a-\u202e\u2066-\u2069"
_LINE_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]")
# C0 and C1 controls (DEL too), bidi controls and lone surrogates (PostgreSQL cannot store those).
_UNWANTED = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")

INT64_MAX = 2**63 - 1


def clean_text(text: str, *, multiline: bool = False) -> str:
    """Drops control and bidi-override characters from free text (titles, artists, media, labels).

    They are never meant: they come from copy-pasting out of terminals and word processors, or are
    planted to make a title display (or export) as something else. Single-line fields get a space
    for a line break or tab; ``multiline`` keeps newlines and tabs.
    """
    if not multiline:
        text = _LINE_BREAKS.sub(" ", text)
    return _UNWANTED.sub("", text)


def _describe(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'control character')}"


def accession_problem(value: str) -> str | None:
    """Why ``value`` cannot be an accession number, or None.

    Accession numbers appear in URLs (/works/1986/23/), so any printable text a museum uses is
    accepted, "/" included, except what no URL can carry back to the same work.
    """
    if not value:
        return "is empty"
    for char in value:
        if not (char.isprintable() or char == " "):
            return f"contains {_describe(char)}: accession numbers hold printable characters only"
    if value.startswith("/") or value.endswith("/"):
        return "starts or ends with '/': a '/' may only separate parts, as in 1986/23"
    parts = value.split("/")
    if "" in parts:
        return "contains '//': a '/' may only separate parts, as in 1986/23"
    if "." in parts or ".." in parts:
        return "has '.' or '..' as a part between slashes, which URLs cannot carry"
    if len(parts) > 1 and parts[-1] in ARTWORK_ACTION_PATHS:
        endings = " or ".join(f"'/{name}'" for name in ARTWORK_ACTION_PATHS)
        return f"ends in '/{parts[-1]}': an accession number must not end in {endings}, the API's routes for a work"
    return None


def validate_accession_number(value: str) -> None:
    """The accession rule as a Django validator, for the model, the admin form and the API serializer."""
    problem = accession_problem(value)
    if problem:
        raise ValidationError(f"Accession number {value!r} {problem}.", code="invalid_accession_number")


class AccessionConverter:
    """Path converter for an accession number, "/" included (a "%2F" arrives decoded as "/")."""

    regex = ACCESSION_REGEX

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


def artwork_url(viewname: str, accession_number: str, **kwargs: Any) -> str | None:
    """The URL of a work's page or API detail, or None for a stored accession no route can carry.

    Rows stored before the accession rule may hold such values; one of them must not take down a
    list that links to every work.
    """
    try:
        return reverse(viewname, kwargs={"accession_number": accession_number, **kwargs})
    except NoReverseMatch:
        return None


def parse_id(raw: Any) -> int:
    """A database id from request input; ValueError unless a whole number from 1 to 2**63 - 1.

    Bigger numbers overflow the database driver (SQLite raises OverflowError), so they are refused
    before a query is built.
    """
    if isinstance(raw, bool):
        raise ValueError(raw)
    value = int(raw)
    if not 1 <= value <= INT64_MAX:
        raise ValueError(raw)
    return value


# Characters that make a spreadsheet read a cell as a formula when they start a field.
_FORMULA_START = re.compile(r"(^|[,;])([ \"]*)(?=[=+\-@\t\r])")


def csv_safe(value: Any) -> Any:
    """A cell no spreadsheet runs as a formula, whether it splits lines on ',' or on ';'.

    Spreadsheets in many locales (Norwegian, German, French) split CSV on ';', so a trigger
    after a ',' or ';' inside a cell starts a field too: each such start gets a "'" prefix.
    Control and bidi characters are dropped first, so old rows are not exported raw either.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    return _FORMULA_START.sub(r"\1\2'", clean_text(value))


class CleanTextMixin:
    """Model mixin: full_clean() (admin forms, imports, the API) drops control characters from text.

    Fields in ``verbatim_text_fields`` are left as given, for a rule that refuses instead (the
    accession number).
    """

    verbatim_text_fields: tuple[str, ...] = ()

    def clean_fields(self, exclude: Any = None) -> None:
        from django.db import models

        for field in self._meta.concrete_fields:  # type: ignore[attr-defined]
            if not isinstance(field, (models.CharField, models.TextField)) or field.name in self.verbatim_text_fields:
                continue
            value = getattr(self, field.attname)
            if isinstance(value, str):
                setattr(self, field.attname, clean_text(value, multiline=isinstance(field, models.TextField)))
        super().clean_fields(exclude)  # type: ignore[misc]
