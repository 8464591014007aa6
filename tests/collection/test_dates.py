"""How museum date strings become year spans (plain pytest, no database)."""

from __future__ import annotations

import csv
import datetime
from pathlib import Path

import pytest

from collection.dates import (
    REASON_EMPTY,
    REASON_UNKNOWN,
    ParsedDate,
    decade_for,
    parse_date,
)

DEMO_CSV = Path(__file__).resolve().parents[2] / "demo" / "aic-paintings" / "artworks.csv"


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("1871", 1871, 1871),
        ("1868–70", 1868, 1870),
        ("1868-70", 1868, 1870),
        ("1868—70", 1868, 1870),
        ("1868/70", 1868, 1870),
        ("1868 to 1870", 1868, 1870),
        ("1690/95", 1690, 1695),
        ("1480/85", 1480, 1485),
        ("1747/1748", 1747, 1748),
        ("1490/1500", 1490, 1500),
        ("1750–1800", 1750, 1800),
        ("1600–50", 1600, 1650),
        ("1875-6", 1875, 1876),
    ],
)
def test_it_reads_exact_years_and_ranges(text: str, start: int, end: int) -> None:
    parsed = parse_date(text)
    assert (parsed.year_start, parsed.year_end) == (start, end)
    assert parsed.approximate is False
    assert parsed.reason is None


@pytest.mark.parametrize(
    "text", ["c. 1631", "ca. 1631", "circa 1631", "c.1631", "c 1631", "Circa 1631", "about 1631", "1631?"]
)
def test_it_parses_a_circa_date_as_approximate(text: str) -> None:
    parsed = parse_date(text)
    assert (parsed.year_start, parsed.year_end, parsed.decade) == (1631, 1631, 1630)
    assert parsed.approximate is True


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("c. 1875–90", 1875, 1890),
        ("c. 1643–c. 1645", 1643, 1645),
        ("c. 1860/70", 1860, 1870),
    ],
)
def test_it_treats_a_circa_range_as_approximate_across_the_whole_span(text: str, start: int, end: int) -> None:
    parsed = parse_date(text)
    assert (parsed.year_start, parsed.year_end, parsed.approximate) == (start, end, True)


@pytest.mark.parametrize("text", ["  c.  1631 ", "C. 1631", "c.\t1631", "CIRCA 1631", "c. 1631\n"])
def test_it_ignores_whitespace_and_case(text: str) -> None:
    assert (parse_date(text).year_start, parse_date(text).year_end) == (1631, 1631)


def test_it_reads_a_decade_as_its_ten_years() -> None:
    parsed = parse_date("1890s")
    assert (parsed.year_start, parsed.year_end, parsed.decade) == (1890, 1899, 1890)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("early 1890s", 1890, 1893),
        ("mid-1890s", 1893, 1896),
        ("Late 1630s", 1636, 1639),
    ],
)
def test_it_narrows_early_mid_and_late_decades_to_a_third(text: str, start: int, end: int) -> None:
    parsed = parse_date(text)
    assert (parsed.year_start, parsed.year_end, parsed.approximate) == (start, end, True)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("18th century", 1700, 1799),
        ("the 18th century", 1700, 1799),
        ("eighteenth century", 1700, 1799),
        ("19th c.", 1800, 1899),
        ("1st century", 1, 99),
        ("early 16th century", 1500, 1533),
        ("mid-19th century", 1833, 1866),
        ("late 15th century", 1466, 1499),
        ("first half of the 17th century", 1600, 1649),
        ("second half of the 19th century", 1850, 1899),
        ("last quarter of the 18th century", 1775, 1799),
        ("16th–17th century", 1500, 1699),
    ],
)
def test_it_reads_centuries_and_their_parts_as_spans(text: str, start: int, end: int) -> None:
    parsed = parse_date(text)
    assert (parsed.year_start, parsed.year_end) == (start, end)
    assert parsed.decade is None


def test_it_leaves_the_open_side_of_a_before_date_empty() -> None:
    parsed = parse_date("before 1500")
    assert (parsed.year_start, parsed.year_end) == (None, 1500)
    assert parsed.approximate is True
    assert parsed.reason is None and parsed.is_parsed


@pytest.mark.parametrize("text", ["after 1600", "After 1600", "not before 1600"])
def test_it_leaves_the_open_side_of_an_after_date_empty(text: str) -> None:
    parsed = parse_date(text)
    assert (parsed.year_start, parsed.year_end, parsed.decade) == (1600, None, None)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("500 BCE", -500, -500),
        ("500 BC", -500, -500),
        ("500 B.C.", -500, -500),
        ("c. 500–450 BC", -500, -450),
        ("510–05 BC", -510, -505),
        ("500 BC–AD 50", -500, 50),
        ("AD 50", 50, 50),
        ("50 CE", 50, 50),
        ("5th century BCE", -500, -401),
    ],
)
def test_it_reads_bce_years_as_negative(text: str, start: int, end: int) -> None:
    parsed = parse_date(text)
    assert (parsed.year_start, parsed.year_end) == (start, end)


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("1850, printed 1890", 1850),
        ("1855, reworked 1857–59", 1855),
        ("1850 (printed 1890)", 1850),
    ],
)
def test_it_dates_a_work_by_its_first_date_when_more_events_follow(text: str, year: int) -> None:
    parsed = parse_date(text)
    assert (parsed.year_start, parsed.year_end, parsed.reason) == (year, year, None)


@pytest.mark.parametrize("text", ["March 5, 1890", "5 March 1890", "1890-03-05"])
def test_it_keeps_only_the_year_of_a_full_calendar_date(text: str) -> None:
    assert (parse_date(text).year_start, parse_date(text).year_end) == (1890, 1890)


@pytest.mark.parametrize("text", ["n.d.", "N.D.", "nd", "Date unknown", "undated", "Unknown", "no date"])
def test_it_recognises_a_date_the_museum_marks_as_unknown(text: str) -> None:
    parsed = parse_date(text)
    assert (parsed.year_start, parsed.year_end, parsed.decade) == (None, None, None)
    assert parsed.reason == REASON_UNKNOWN
    assert not parsed.is_parsed


@pytest.mark.parametrize("text", ["", "   ", None])
def test_it_reports_a_blank_date_as_not_given(text: str | None) -> None:
    parsed = parse_date(text)
    assert parsed.reason == REASON_EMPTY
    assert parsed.text == ("" if text is None else text)


@pytest.mark.parametrize(
    ("text", "reason_mentions"),
    [
        ("30000", "30000"),
        (str(datetime.date.today().year + 5), "later than"),
        ("1890–1850", "before it starts"),
        ("1895–05", "before it starts"),
        ("0 AD", "no year 0"),
        ("sometime in spring", "could not read"),
        ("50", "too short"),
        ("1850–60–70", "could not read"),
    ],
)
def test_it_keeps_an_unparseable_or_absurd_date_as_written_with_a_reason(text: str, reason_mentions: str) -> None:
    parsed = parse_date(text)
    assert parsed.text == text
    assert (parsed.year_start, parsed.year_end, parsed.decade) == (None, None, None)
    assert parsed.reason is not None and reason_mentions in parsed.reason


def test_it_allows_next_year_because_works_can_be_catalogued_ahead() -> None:
    next_year = datetime.date.today().year + 1
    assert parse_date(str(next_year)).year_start == next_year


def test_it_keeps_the_original_text_untouched() -> None:
    assert parse_date("  c. 1875–90 ").text == "  c. 1875–90 "


def test_it_returns_an_immutable_record() -> None:
    parsed = parse_date("1871")
    assert isinstance(parsed, ParsedDate)
    with pytest.raises(AttributeError):
        parsed.year_start = 1900  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "decade"),
    [
        ("1868", 1860),
        ("1868–70", 1860),  # midpoint 1869
        ("c. 1875–90", 1880),  # midpoint 1882
        ("1875–79", 1870),
        ("1610–30", 1620),  # a 20-year span still gets a decade
        ("1610–31", None),  # 21 years: too wide to claim one decade
        ("1600–50", None),
        ("17th century", None),
        ("500 BCE", -500),
        ("455 BCE", -450),  # the 450s BCE
    ],
)
def test_it_files_short_spans_under_the_decade_of_their_midpoint(text: str, decade: int | None) -> None:
    assert parse_date(text).decade == decade


def test_decade_for_needs_both_ends() -> None:
    assert decade_for(None, 1500) is None
    assert decade_for(1500, None) is None


@pytest.mark.skipif(not DEMO_CSV.exists(), reason="demo collection not built")
def test_every_demo_date_parses_or_is_a_genuine_unknown() -> None:
    with DEMO_CSV.open(newline="", encoding="utf-8") as handle:
        dates = [row["date"] for row in csv.DictReader(handle)]
    failures = []
    for text in dates:
        parsed = parse_date(text)
        if parsed.reason == REASON_UNKNOWN:
            continue
        if parsed.reason is not None:
            failures.append((text, parsed.reason))
            continue
        assert parsed.year_start is None or 1200 <= parsed.year_start <= 1950, text
        assert parsed.year_end is None or 1200 <= parsed.year_end <= 1950, text
    assert failures == []
