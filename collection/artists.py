"""Split museum artist credit lines into the people (or cultures) they name.

A credit line such as ``Attributed to Anthony van Dyck (Flemish, 1599–1641)``
packs an attribution judgement, a name, a nationality and life dates into one
string.  Browsing by artist, nationality or lifetime needs those parts apart,
yet the judgement words ("Attributed to", "Follower of") are scholarship we
must not throw away, so each part gets its own field and the original
segment is always kept in ``raw``.

Conventions, and why:

* ``birth_year``/``death_year`` hold *activity* years when ``active`` is True
  ("active c. 1505–1520", "documented 1439–1503").  Many old masters are known
  only from documents, and a separate field pair would leave most rows empty.
  ``active`` is set only when the date part itself says so; a note such as
  "active in Spain" before life dates (El Greco: "Greek, active in Spain,
  1541–1614") is a place, not a statement about the years.
* Where the museum offers alternatives ("1470/75", "1575/77") the first one
  is used: it is the one the museum lists first, and we must pick
  deterministically rather than average into a year nobody wrote.
* Uncertain or impossible dates (a death before the birth) yield empty years
  rather than a guess; the text is still in ``raw``.
* Culture-only credits ("Flemish", "South German; possibly Ulm") and "Unknown
  artist" are marked ``anonymous`` and keep the whole credit as ``name``: that is
  how the museum credits the work, and it is the only "name" there is.
* Suffix forms like "Vergós Workshop" or "Lippi-Pesellino Imitator" are names of
  conventional artistic identities in the source, so they stay verbatim.

Pure Python on purpose, so importers and tests can use it without Django.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass

__all__ = ["ParsedArtist", "parse_artists", "QUALIFIERS"]


@dataclass(frozen=True, slots=True)
class ParsedArtist:
    """One artist (or anonymous culture) named in a credit line.

    ``raw`` is this artist's own segment of the credit line exactly as written,
    so nothing is ever lost even when the parenthetical defeats the parser.
    ``alias`` holds the other name museums put first inside the parentheses
    ("Jean Hey (Master of Moulins; ...)"); ``anonymous`` flags credits that name
    no individual.  Both have defaults so the record can be built from the
    first seven fields alone.
    """

    name: str
    qualifier: str | None
    nationality: str | None
    birth_year: int | None
    death_year: int | None
    active: bool
    raw: str
    alias: str | None = None
    anonymous: bool = False


#: Attribution qualifiers, mapped from lower-case spelling to the canonical form
#: we store.  Plural and synonym spellings collapse so that facets group them.
QUALIFIERS: dict[str, str] = {
    "formerly attributed to": "Formerly attributed to",
    "attributed to": "Attributed to",
    "workshop of": "Workshop of",
    "studio of": "Studio of",
    "atelier of": "Studio of",
    "followers of": "Follower of",
    "follower of": "Follower of",
    "circle of": "Circle of",
    "style of": "Style of",
    "manner of": "Manner of",
    "school of": "School of",
    "imitator of": "Imitator of",
    "pupil of": "Pupil of",
    "copy after": "Copy after",
    "copy of": "Copy after",
    "after": "After",
    "possibly": "Possibly",
    "probably": "Probably",
}

_DASHES = re.compile(r"[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]")
_SPACES = re.compile(r"[ \t\u00a0]+")

_QUALIFIER = re.compile(
    r"^(?P<q>" + "|".join(re.escape(q) for q in sorted(QUALIFIERS, key=len, reverse=True)) + r")\s+(?P<rest>.+)$",
    re.IGNORECASE | re.DOTALL,
)
_LEADING_CONJUNCTION = re.compile(r"^(?:and|or|&)\s+", re.IGNORECASE)
_THE_MASTER = re.compile(r"^the\s+(?=Master\b)", re.IGNORECASE)

# A trailing "(...)" with no nested parentheses; the name may contain its own
# parentheses ("August (Ágost) Canzi (Austrian, 1808–1866)").
_TRAILING_PARENS = re.compile(r"^(?P<name>.*?)\s*\((?P<bio>[^()]*)\)\s*$", re.DOTALL)

_UNKNOWN_NAME = re.compile(
    r"^(?:unknown(?:\s+(?:artist|maker|painter))?|(?:artist|maker|painter)\s+unknown"
    r"|anonymous(?:\s+(?:artist|painter))?|anon\.?)$",
    re.IGNORECASE,
)

# Nationality/culture words seen in credit lines.  Used only to recognise
# parenthesis-free culture credits ("Italian or Spanish"), so that a bare
# name like "Raphael" is never mistaken for a culture.
_CULTURES = {
    "american",
    "austrian",
    "bavarian",
    "belgian",
    "bohemian",
    "bolognese",
    "british",
    "byzantine",
    "canadian",
    "catalan",
    "chinese",
    "cretan",
    "czech",
    "danish",
    "dutch",
    "egyptian",
    "english",
    "european",
    "finnish",
    "flemish",
    "florentine",
    "franconian",
    "french",
    "genoese",
    "german",
    "greek",
    "hungarian",
    "indian",
    "irish",
    "italian",
    "japanese",
    "korean",
    "lombard",
    "mexican",
    "milanese",
    "neapolitan",
    "netherlandish",
    "norwegian",
    "persian",
    "peruvian",
    "polish",
    "portuguese",
    "rhenish",
    "roman",
    "russian",
    "scottish",
    "sienese",
    "spanish",
    "swabian",
    "swedish",
    "swiss",
    "tuscan",
    "tyrolean",
    "umbrian",
    "venetian",
    "veronese",
    "welsh",
    "westphalian",
    "ferrarese",
    "emilian",
    "piedmontese",
    "ligurian",
    "colombian",
    "ecuadorian",
    "bolivian",
    "cuzco",
    "anglo-dutch",
    "franco-flemish",
    "south",
    "north",
    "southern",
    "northern",
    "central",
    "eastern",
    "western",
    "upper",
    "lower",
    "east",
    "west",
    # Countries appear where a nationality is expected ("Monogrammist PG (Germany, ...)").
    "austria",
    "belgium",
    "england",
    "flanders",
    "france",
    "germany",
    "greece",
    "holland",
    "italy",
    "netherlands",
    "spain",
    "switzerland",
}
_CULTURE_SEPARATOR = re.compile(r"\s+(?:or|and)\s+|\s*/\s*|\s+", re.IGNORECASE)

_ACTIVE_WORDS = re.compile(r"\b(?:active|documented|fl\.?|flourished|working|recorded)(?=\s|\d|$)", re.IGNORECASE)
_NOTE_PREFIX = re.compile(
    r"^(?:active|documented|fl\.|flourished|working|born|b\.|died|d\.)(?:\s|$)",
    re.IGNORECASE,
)
_ERA = r"(?:b\.?\s?c\.?\s?e\.?|b\.?\s?c\.?|c\.?\s?e\.?|a\.?\s?d\.?)"
_DATE_SIDE = re.compile(
    r"^(?P<words>(?:(?:active|documented|fl\.?|flourished|working|recorded|from|born|b\.|"
    r"died|d\.|by|before|after|about|around|circa|ca\.?|c\.?)\s*)*)"
    r"(?P<year>\d{1,4})(?:\s*/\s*\d{1,4})?"
    rf"(?:\s*(?P<era>{_ERA}))?\s*\??$",
    re.IGNORECASE,
)
_BORN = re.compile(r"\b(?:born|b\.)", re.IGNORECASE)
_DIED = re.compile(r"\b(?:died|d\.)(?=\s|\d|$)", re.IGNORECASE)
_HAS_DATE = re.compile(r"\d|\bcentur", re.IGNORECASE)


def parse_artists(text: str | None) -> list[ParsedArtist]:
    """Split a credit line into one :class:`ParsedArtist` per person named.

    A credit line may name several people, one per line or joined by
    ``and``/``;`` after a closing parenthesis; each gets its own record so
    works can be listed under every artist involved.  Never raises: importers
    must be able to run over thousands of odd credit lines.
    """
    if text is None:
        return []
    text = unicodedata.normalize("NFC", str(text))
    return [_parse_one(segment) for segment in _split_artists(text)]


def _split_artists(text: str) -> list[str]:
    """Split only where the split is unambiguous.

    Newlines always separate artists.  ``;``, ``and`` and ``or`` separate only
    right after a closing parenthesis at top level, because inside parentheses
    ";" introduces an alias, and in culture credits ("German; possibly Cologne")
    or names ("Hendrick and ...") it does not start a new person.  The
    conjunction itself stays on the following segment ("or Workshop of ...") so
    its meaning survives in ``raw``.
    """
    segments: list[str] = []
    depth = 0
    current: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        if depth == 0 and char in "\r\n":
            segments.append("".join(current))
            current = []
            i += 1
            continue
        current.append(char)
        i += 1
        if depth == 0 and char == ")":
            rest = text[i:]
            joint = re.match(r"\s*;\s*|\s+(?=(?:and|or|&)\s)", rest, re.IGNORECASE)
            if joint and rest[joint.end() :].strip():
                segments.append("".join(current))
                current = []
                i += joint.end()
    segments.append("".join(current))
    return [s for s in (_SPACES.sub(" ", seg).strip() for seg in segments) if s]


def _parse_one(raw: str) -> ParsedArtist:
    body = _LEADING_CONJUNCTION.sub("", raw)
    qualifier: str | None = None
    qualified = _QUALIFIER.match(body)
    if qualified:
        qualifier = QUALIFIERS[qualified.group("q").lower()]
        body = _THE_MASTER.sub("", qualified.group("rest").strip())

    parens = _TRAILING_PARENS.match(body)
    if not parens:
        if qualifier is None and _is_culture(body):
            nationality = re.split(r"\s*;\s*", body, maxsplit=1)[0]
            return ParsedArtist(body, None, nationality, None, None, False, raw, anonymous=True)
        return ParsedArtist(body, qualifier, None, None, None, False, raw, anonymous=bool(_UNKNOWN_NAME.match(body)))

    name = parens.group("name").strip()
    bio = _SPACES.sub(" ", parens.group("bio")).strip()
    alias, nationality, birth, death, active = _parse_bio(bio)
    if not name:  # "(French, 1850–1900)" alone: keep something to display.
        name = body
    return ParsedArtist(
        name=name,
        qualifier=qualifier,
        nationality=nationality,
        birth_year=birth,
        death_year=death,
        active=active,
        raw=raw,
        alias=alias,
        anonymous=bool(_UNKNOWN_NAME.match(name)),
    )


def _is_culture(text: str) -> bool:
    """True for credits naming only a culture, e.g. "Netherlandish or German; possibly Rhenish"."""
    head = re.split(r"\s*;\s*", text, maxsplit=1)[0]
    words = [w for w in _CULTURE_SEPARATOR.split(head.lower()) if w]
    return (
        bool(words)
        and all(w in _CULTURES for w in words)
        and any(
            w
            not in {
                "south",
                "north",
                "southern",
                "northern",
                "central",
                "eastern",
                "western",
                "upper",
                "lower",
                "east",
                "west",
            }
            for w in words
        )
    )


def _parse_bio(
    bio: str,
) -> tuple[str | None, str | None, int | None, int | None, bool]:
    """Read "Alias; Nationality, note, dates" into its parts.

    Returns ``(alias, nationality, birth, death, active)``.  Anything it cannot
    place is simply left out of the structured fields (it remains in ``raw``).
    """
    alias = None
    if ";" in bio:
        before, after = (part.strip() for part in bio.split(";", 1))
        if before and not _HAS_DATE.search(before):
            alias, bio = before, after

    segments = [s.strip() for s in bio.split(",") if s.strip()]
    date_segment = None
    if segments and _HAS_DATE.search(segments[-1]):
        date_segment = segments.pop()

    nationality = None
    if date_segment is None and len(segments) == 1:
        # A lone phrase in parentheses: a nationality if we recognise it,
        # otherwise most likely another name ("Titian (Tiziano Vecellio)").
        if _is_culture(segments[0]):
            nationality = segments[0]
        elif not _NOTE_PREFIX.match(segments[0]):
            alias = alias or segments[0]
    elif segments and not _NOTE_PREFIX.match(segments[0]):
        # Next to dates the first phrase is the nationality by AIC/Getty
        # convention, whatever it says; without dates only a recognised
        # culture qualifies, so "(a pupil, perhaps)" is not read as one.
        if date_segment is not None or _is_culture(segments[0]):
            nationality = segments[0]

    birth, death, active = _parse_life_dates(date_segment) if date_segment else (None, None, False)
    if segments and _ACTIVE_WORDS.match(segments[0]) and date_segment is not None:
        # "(active Spain, c. 1485–1516)": opening with "active" makes the whole
        # parenthetical about activity, unlike "Greek, active in Spain, 1541–1614"
        # where the note qualifies a nationality and the dates are a lifetime.
        active = True
    return alias, nationality, birth, death, active


def _parse_life_dates(segment: str) -> tuple[int | None, int | None, bool]:
    text = _DASHES.sub("-", segment).strip()
    active = bool(_ACTIVE_WORDS.search(text))
    sides = [s.strip() for s in re.split(r"\s*-\s*|\s+to\s+", text) if s.strip()]
    if not 1 <= len(sides) <= 2:
        return None, None, active
    matches = [_DATE_SIDE.match(side) for side in sides]
    if not all(matches):
        return None, None, active  # e.g. "19th century": no years to give

    eras = [m.group("era") for m in matches]  # type: ignore[union-attr]
    bce = [bool(e and e.lower().startswith("b")) for e in eras]
    if len(matches) == 2 and eras[0] is None and eras[1] is not None:
        bce[0] = bce[1]  # "c. 480–420 BCE": the era covers both ends
    years = [int(m.group("year")) for m in matches]  # type: ignore[union-attr]
    digits = [len(m.group("year")) for m in matches]  # type: ignore[union-attr]

    if len(years) == 2 and digits[1] < digits[0] and bce[0] == bce[1]:
        # "active 1449–87": the end year borrows the start's leading digits.
        years[1] = int(str(years[0])[: digits[0] - digits[1]] + str(years[1]).zfill(digits[1]))
    years = [-y if is_bce else y for y, is_bce in zip(years, bce)]

    if len(years) == 2:
        birth, death = years
    else:
        words = matches[0].group("words")  # type: ignore[union-attr]
        if active:
            birth = death = years[0]  # "active c. 1500": active in that one year
        elif _BORN.search(words):
            birth, death = years[0], None
        elif _DIED.search(words):
            birth, death = None, years[0]
        else:
            return None, None, active  # a lone year: born? died? do not guess

    limit = datetime.date.today().year + 1
    if any(y is not None and (y > limit or y == 0) for y in (birth, death)):
        return None, None, active
    if birth is not None and death is not None and death < birth:
        return None, None, active
    return birth, death, active
