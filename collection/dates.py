"""Turn the free-text dates museums publish into numbers we can sort and facet on.

Museum catalogues do not store dates as data; they store *how a curator chose to
phrase the evidence* ("c. 1875–90", "late 15th century", "1690/95").  Timelines
and decade facets need numbers, so this module translates the phrasing into a
``(year_start, year_end)`` span while keeping the original text untouched for
display.

Design rules, and why:

* **Never guess.**  A date we cannot read, or one that is plainly wrong (a year in
  the future, a range that ends before it starts), comes back with empty years
  and a ``reason``.  A wrong year silently placed on a timeline is worse than a
  missing one, and the reason lets importers list what needs a curator's eye.
* **Spans, not points.**  Every phrasing maps to the earliest and latest year it
  allows.  ``before``/``after`` dates keep the open side empty rather than
  inventing a bound.
* **BCE years are negative** (``500 BCE`` → ``-500``).  We do not shift to
  astronomical numbering (where 1 BCE is year 0) because curators and visitors
  read "-500" as "500 BCE"; there is simply no year 0.
* **Centuries run 00–99** (the 18th century is 1700–1799).  That is how people
  and decade facets think of "the 1700s"; the pedantic 1701–1800 would file a
  work dated 1800 under the 18th century.

Pure Python on purpose: importers, management commands and tests can use it
without Django.
"""

from __future__ import annotations

import datetime
import math
import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "ParsedDate",
    "parse_date",
    "decade_for",
    "MAX_DECADE_SPAN",
    "REASON_EMPTY",
    "REASON_UNKNOWN",
]

#: Ranges wider than this many years get no decade (see :func:`decade_for`).
MAX_DECADE_SPAN = 20

#: ``reason`` for a blank date field.
REASON_EMPTY = "no date given"
#: ``reason`` when the museum itself says the date is unknown ("n.d.", "undated").
#: Importers can compare against this to tell honest unknowns from parse failures.
REASON_UNKNOWN = "date recorded as unknown"


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """A museum date string together with the span of years it allows.

    ``text`` is always the string exactly as the museum wrote it, because that
    phrasing ("c.", "/", "late") carries scholarly nuance a year range cannot.
    ``reason`` is ``None`` when years were found; otherwise it explains why not,
    so importers can report it instead of silently dropping the date.
    """

    text: str
    year_start: int | None
    year_end: int | None
    decade: int | None
    approximate: bool
    reason: str | None

    @property
    def is_parsed(self) -> bool:
        """True when at least one bound is known, i.e. the work can go on a timeline."""
        return self.year_start is not None or self.year_end is not None


class _DateError(ValueError):
    """Raised inside the parser; ``invalid`` marks dates we understood but reject."""

    def __init__(self, reason: str, *, invalid: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.invalid = invalid


@dataclass(frozen=True, slots=True)
class _Span:
    start: int | None
    end: int | None
    approximate: bool = False


# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------

_DASHES = re.compile(r"[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]")
_SPACES = re.compile(r"\s+")

_UNKNOWN = re.compile(
    r"^(?:n\.?\s?d|s\.?\s?d|no\s+date|undated|unknown|unknown\s+date|date\s+unknown"
    r"|not\s+dated|date\s+not\s+known|not\s+known|\?+|-+)\.?$"
)

_CIRCA = r"(?:circa|ca\.?|c\.|c(?=\s*\d)|about|around|approx\.?|approximately)"
_ERA = r"(?:b\.?\s?c\.?\s?e\.?|b\.?\s?c\.?|c\.?\s?e\.?|a\.?\s?d\.?)"
_BCE = re.compile(r"^b")

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?"
    r"|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
# "5 March 1890", "March 5, 1890", "March 1890" -> keep only the year.
_MONTH_DAY = re.compile(rf"\b(?:{_DAY}\s+)?{_MONTH}(?:\s+{_DAY})?,?\s+(?=\d{{3,4}}\b)")
# Only full ISO dates: "1890-06" is far more likely a range (1890–1906? 1806?)
# than a year-month, so it goes through range parsing and its checks.
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

_YEAR_SIDE = re.compile(
    rf"^(?P<circa>{_CIRCA}\s*)?"
    rf"(?:(?P<pre_era>a\.?\s?d\.?|c\.?\s?e\.?)\s*(?=\d))?"
    rf"(?P<num>\d+)"
    rf"(?:\s*(?P<era>{_ERA}))?"
    rf"\s*(?P<query>\?)?$"
)

_DECADE_SIDE = re.compile(
    rf"^(?P<mod>early|mid|late)?\s*(?P<circa>{_CIRCA}\s*)?"
    rf"(?P<num>\d*0)'?s(?:\s*(?P<era>{_ERA}))?\s*(?P<query>\?)?$"
)

_ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "twenty-first": 21,
}
_ORDINAL = r"(?:\d{1,2}(?:st|nd|rd|th)|" + "|".join(sorted(map(re.escape, _ORDINAL_WORDS), key=len, reverse=True)) + ")"

_PART_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4}
_PART_COUNT = {"half": 2, "third": 3, "quarter": 4}

_CENTURY_SIDE = re.compile(
    rf"^(?P<circa>{_CIRCA}\s*)?(?:the\s+)?"
    rf"(?:(?P<mod>early|mid|middle|late|beginning|end)\s+(?:of\s+)?(?:the\s+)?"
    rf"|(?P<part>first|second|third|fourth|last)\s+(?P<unit>half|third|quarter)\s+of\s+(?:the\s+)?)?"
    rf"(?P<ord>{_ORDINAL})"
    rf"(?P<word>\s*(?:century|centuries|cent\.?|c\.))?"
    rf"(?:\s*(?P<era>{_ERA}))?\s*(?P<query>\?)?$"
)
_MOD_ALIASES = {"middle": "mid", "beginning": "early", "end": "late"}

_BOUND = re.compile(
    r"^(?P<kw>before|by|not\s+after|no\s+later\s+than|ante|until|"
    r"after|not\s+before|no\s+earlier\s+than|post|since)\s+(?P<rest>.+)$"
)
_UPPER_BOUND_WORDS = {"before", "by", "not after", "no later than", "ante", "until"}

_RANGE_SEPARATOR = re.compile(r"\s*(?:-|/|\bto\b|\bor\b|\buntil\b)\s*")
# Once a whole-string parse fails we retry on the text before the first
# comma/semicolon/parenthesis: "1850, printed 1890" is dated by its first date.
_QUALIFIER_TAIL = re.compile(r"\s*[,;(\[]")


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def parse_date(text: str | None) -> ParsedDate:
    """Read a museum date string into a :class:`ParsedDate`; never raises.

    Never raising matters because importers process thousands of rows and one
    odd catalogue entry must not abort a run; failures surface via ``reason``.
    """
    original = "" if text is None else str(text)
    norm = _normalise(original)
    if not norm:
        return ParsedDate(original, None, None, None, False, REASON_EMPTY)
    if _UNKNOWN.match(norm):
        return ParsedDate(original, None, None, None, False, REASON_UNKNOWN)

    try:
        span = _parse_expression(norm)
    except _DateError as whole_error:
        span = None
        head_match = _QUALIFIER_TAIL.search(norm)
        head = norm[: head_match.start()].strip() if head_match else ""
        error = whole_error
        if head:
            try:
                span = _parse_expression(head)
            except _DateError as head_error:
                # Prefer the head's verdict when it understood but rejected the
                # year: "30000, printed 1890" should say the year is absurd.
                if head_error.invalid:
                    error = head_error
        if span is None:
            return ParsedDate(original, None, None, None, False, error.reason)
    assert span is not None  # every path above either parsed a span or returned

    return ParsedDate(
        text=original,
        year_start=span.start,
        year_end=span.end,
        decade=decade_for(span.start, span.end),
        approximate=span.approximate,
        reason=None,
    )


def decade_for(year_start: int | None, year_end: int | None) -> int | None:
    """Pick the single decade a work is filed under in decade facets.

    We use the floor of the midpoint of the span, and only when the span is at
    most :data:`MAX_DECADE_SPAN` (20) years.  Why the midpoint: for "1868–70" or
    "c. 1875–90" the middle is the least-biased single guess and keeps short
    ranges from all piling up at their start.  Why the cut-off: a century or
    "1600–50" spans several decades, and assigning one would fake precision the
    curator never claimed, so those works stay out of decade facets.  Open
    ranges ("before 1500") get no decade for the same reason.

    BCE decades truncate toward zero so ``-455`` lands in ``-450`` ("the 450s
    BCE", i.e. 459–450 BCE), matching how BCE decades are named.
    """
    if year_start is None or year_end is None:
        return None
    if year_end - year_start > MAX_DECADE_SPAN:
        return None
    middle = math.floor((year_start + year_end) / 2)
    if middle < 0:
        return -((-middle) // 10 * 10)
    return middle // 10 * 10


# ---------------------------------------------------------------------------
# Internals
# ---------------------------------------------------------------------------


def _max_year() -> int:
    """Next year is the latest plausible date: a work can be catalogued ahead of its year."""
    return datetime.date.today().year + 1


def _normalise(text: str) -> str:
    """Fold the typographic variety museums use into one spelling to match against."""
    text = unicodedata.normalize("NFKC", text)
    text = _DASHES.sub("-", text).lower()
    text = _SPACES.sub(" ", text).strip()
    text = re.sub(r"\b(early|mid|late)-(?=\S)", r"\1 ", text)
    text = text.strip(" ,;")
    text = re.sub(r"^\[(.*)\]$", r"\1", text)  # "[1850]" = editorially supplied
    return text


def _parse_expression(norm: str) -> _Span:
    text = _MONTH_DAY.sub("", norm).strip()
    if text.endswith(".") and not re.search(rf"{_ERA}$|\bc\.$|\bcent\.$", text):
        text = text[:-1].rstrip()

    iso = _ISO_DATE.match(text)
    if iso and 1 <= int(iso.group(2)) <= 12 and 1 <= int(iso.group(3)) <= 31:
        year = _validated(int(iso.group(1)))
        return _Span(year, year)

    bound = _BOUND.match(text)
    if bound:
        keyword = _SPACES.sub(" ", bound.group("kw"))
        inner = _parse_range(bound.group("rest"))
        if keyword in _UPPER_BOUND_WORDS:
            return _Span(None, inner.start, True)
        return _Span(inner.end, None, True)

    return _parse_range(text)


def _parse_range(text: str) -> _Span:
    parts = _RANGE_SEPARATOR.split(text)
    if len(parts) == 1:
        return _to_span(_parse_side(text, in_range=False))
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise _DateError(f"could not read {text!r} as a date or a date range")

    century_context = bool(re.search(r"centur|cent\.|\bc\.$", text))
    left = _parse_side(parts[0], in_range=True, century_context=century_context)
    right = _parse_side(parts[1], in_range=True, century_context=century_context)

    # Abbreviated end years borrow the start's leading digits: 1868–70, 1690/95.
    # Not when the ends name different eras: "500 BC–AD 50" ends in AD 50.
    eras_differ = left.era is not None and right.era is not None and left.era != right.era
    if right.kind == "year" and left.kind == "year" and not eras_differ and right.digits < left.digits:
        prefix = str(left.number)[: left.digits - right.digits]
        right = right.with_number(int(prefix + str(right.number).zfill(right.digits)))

    # An era written once covers both ends: "c. 500–450 BC".
    if left.era is None and right.era is not None:
        left = left.with_era(right.era)
    elif right.era is None and left.era is not None:
        right = right.with_era(left.era)

    start_span = _to_span(left)
    end_span = _to_span(right)
    start, end = start_span.start, end_span.end
    assert start is not None and end is not None
    if end < start:
        raise _DateError(f"range ends ({_show(end)}) before it starts ({_show(start)})", invalid=True)
    return _Span(start, end, start_span.approximate or end_span.approximate)


@dataclass(frozen=True, slots=True)
class _Side:
    """One end of a range before era and abbreviation are resolved."""

    kind: str  # "year" | "decade" | "century"
    number: int
    digits: int
    era: str | None  # "bce" | "ce" | None (unstated)
    approximate: bool
    modifier: str | None = None  # early/mid/late
    part: tuple[int, int] | None = None  # (index, count): "first half" = (1, 2)

    def with_era(self, era: str) -> _Side:
        return _Side(self.kind, self.number, self.digits, era, self.approximate, self.modifier, self.part)

    def with_number(self, number: int) -> _Side:
        return _Side(self.kind, number, len(str(number)), self.era, self.approximate, self.modifier, self.part)


def _era_of(raw: str | None) -> str | None:
    if not raw:
        return None
    return "bce" if _BCE.match(raw) else "ce"


def _parse_side(text: str, *, in_range: bool, century_context: bool = False) -> _Side:
    text = text.strip()
    year = _YEAR_SIDE.match(text)
    if year:
        era = _era_of(year.group("era") or year.group("pre_era"))
        digits = len(year.group("num"))
        if era is None and not in_range and digits < 3:
            raise _DateError(f"{text!r} is too short to be a year without an era (AD/BCE)")
        return _Side("year", int(year.group("num")), digits, era, bool(year.group("circa") or year.group("query")))

    decade = _DECADE_SIDE.match(text)
    if decade:
        modifier = decade.group("mod")
        return _Side(
            "decade",
            int(decade.group("num")),
            len(decade.group("num")),
            _era_of(decade.group("era")),
            bool(decade.group("circa") or decade.group("query") or modifier),
            modifier,
        )

    century = _CENTURY_SIDE.match(text)
    if century and (century.group("word") or century_context):
        ordinal = century.group("ord")
        number = _ORDINAL_WORDS.get(ordinal) or int(re.sub(r"\D", "", ordinal))
        modifier = century.group("mod")
        modifier = _MOD_ALIASES.get(modifier or "", modifier)
        part = None
        if century.group("part"):
            count = _PART_COUNT[century.group("unit")]
            word = century.group("part")
            index = count if word == "last" else _PART_INDEX[word]
            if index > count:
                raise _DateError(f"{text!r} names a part the century does not have")
            part = (index, count)
        return _Side(
            "century",
            number,
            len(str(number)),
            _era_of(century.group("era")),
            bool(century.group("circa") or century.group("query") or modifier),
            modifier,
            part,
        )

    raise _DateError(f"could not read {text!r} as a date")


def _to_span(side: _Side) -> _Span:
    bce = side.era == "bce"
    if side.kind == "year":
        year = _validated(-side.number if bce else side.number)
        return _Span(year, year, side.approximate)

    if side.kind == "decade":
        if bce:  # "the 450s BCE" = 459..450 BCE
            start, end = -(side.number + 9), -side.number
        else:
            start, end = side.number, side.number + 9
    else:
        if side.number < 1:
            raise _DateError("there is no 0th century", invalid=True)
        if bce:  # the 5th century BCE = 500..401 BCE
            start, end = -side.number * 100, -(side.number - 1) * 100 - 1
        else:
            start, end = (side.number - 1) * 100, (side.number - 1) * 100 + 99
        if side.part:
            index, count = side.part
            length = end - start + 1
            start, end = (start + (index - 1) * length // count, start + index * length // count - 1)

    if side.modifier:
        # early/mid/late = first/middle/last third; fuzzy words, so the thirds
        # share their boundary years rather than pretending to a hard edge.
        third = (end - start + 1) // 3
        if side.modifier == "early":
            end = start + third
        elif side.modifier == "late":
            start = end - third
        else:
            start, end = start + third, end - third

    # The 1st century (and the "0s") begin in year 1: there is no year 0.
    start = 1 if start == 0 else start
    end = -1 if end == 0 else end
    _validated(start)
    _validated(end)
    return _Span(start, end, side.approximate)


def _validated(year: int) -> int:
    if year == 0:
        raise _DateError("there is no year 0 (1 BCE is followed by 1 CE)", invalid=True)
    limit = _max_year()
    if year > limit:
        raise _DateError(f"year {year} is later than {limit}", invalid=True)
    return year


def _show(year: int) -> str:
    return f"{-year} BCE" if year < 0 else str(year)
