"""How museum artist credit lines become artist records (plain pytest, no database)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from collection.artists import QUALIFIERS, ParsedArtist, parse_artists

DEMO_CSV = Path(__file__).resolve().parents[2] / "demo" / "aic-paintings" / "artworks.csv"


def only(text: str) -> ParsedArtist:
    artists = parse_artists(text)
    assert len(artists) == 1, artists
    return artists[0]


def test_it_reads_name_nationality_and_life_dates() -> None:
    artist = only("Jean Charles Cazin (French, 1841–1901)")
    assert artist == ParsedArtist(
        name="Jean Charles Cazin",
        qualifier=None,
        nationality="French",
        birth_year=1841,
        death_year=1901,
        active=False,
        raw="Jean Charles Cazin (French, 1841–1901)",
    )


@pytest.mark.parametrize(
    ("text", "qualifier", "name"),
    [
        ("Attributed to Anthony van Dyck (Flemish, 1599–1641)", "Attributed to", "Anthony van Dyck"),
        ("Workshop of Rogier van der Weyden (Netherlandish, 1399/1400–1464)", "Workshop of", "Rogier van der Weyden"),
        ("After Raphael", "After", "Raphael"),
        ("Follower of Peter Paul Rubens (Flemish, 1577–1640)", "Follower of", "Peter Paul Rubens"),
        ("Circle of Rembrandt van Rijn (Dutch, 1606–1669)", "Circle of", "Rembrandt van Rijn"),
        ("Style of Hubert Robert (French, 1733–1808)", "Style of", "Hubert Robert"),
        ("School of Johann Liss, the younger (German, c. 1597–1631)", "School of", "Johann Liss, the younger"),
        ("Studio of Titian (Italian, c. 1488–1576)", "Studio of", "Titian"),
        ("Possibly Rembrandt van Rijn", "Possibly", "Rembrandt van Rijn"),
        ("attributed to Anthony van Dyck", "Attributed to", "Anthony van Dyck"),
        (
            "Follower of the Master of Saint Veronica (German, active c. 1395–1420)",
            "Follower of",
            "Master of Saint Veronica",
        ),
    ],
)
def test_it_separates_the_attribution_qualifier_from_the_name(text: str, qualifier: str, name: str) -> None:
    artist = only(text)
    assert (artist.qualifier, artist.name) == (qualifier, name)
    assert artist.raw == text


@pytest.mark.parametrize("spelling", sorted(QUALIFIERS))
def test_it_recognises_every_qualifier_spelling_and_stores_its_canonical_form(spelling: str) -> None:
    artist = only(f"{spelling} Anthony van Dyck (Flemish, 1599–1641)")
    assert (artist.qualifier, artist.name) == (QUALIFIERS[spelling], "Anthony van Dyck")


@pytest.mark.parametrize(
    ("text", "birth", "death"),
    [
        ("Hans Memling (Netherlandish, c. 1430–1494)", 1430, 1494),
        ("Raffaello Botticini (Italian, 1477–c.1520)", 1477, 1520),
        ("Salomon van Ruysdael (Dutch, about 1602–1670)", 1602, 1670),
        ("Jane Doe (French, born 1850)", 1850, None),
        ("John Doe (American, 1850–died after 1900)", 1850, 1900),
        ("James Forbes (Scottish, 1800–after 1870)", 1800, 1870),
        ("Carlo Crivelli (Italian, 1430/35–before 1495)", 1430, 1495),
        ("Jacob Cornelisz. van Oostsanen (Netherlandish, c. 1470/75–by 1533)", 1470, 1533),
        ("Antonis Mor (Netherlandish, 1516/21-1575/77)", 1516, 1575),
        ("Andrea Vaccaro (Italian, 1598/1604-1670)", 1598, 1670),
        ("Peter Paul Rubens (Flemish, 1577-1640)", 1577, 1640),
        ("Someone (Italian, died 1452)", None, 1452),
        ("Phidias (Greek, c. 480–c. 430 BCE)", -480, -430),
    ],
)
def test_it_reads_life_dates_written_in_many_ways(text: str, birth: int | None, death: int | None) -> None:
    artist = only(text)
    assert (artist.birth_year, artist.death_year, artist.active) == (birth, death, False)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("Master of the Legend of Saint Ursula (Netherlandish, active c. 1500)", 1500, 1500),
        ("Martín de Soria (Spanish, active 1449–87)", 1449, 1487),
        ("Vergós Workshop (Spanish, documented 1439–1503)", 1439, 1503),
        ("Bernat Martorell (Spanish, active from 1427–died 1452)", 1427, 1452),
        ("Master of the Worcester Carrying of the Cross (active c. 1400–c. 1450)", 1400, 1450),
        ("Master Alejo (active Spain, c. 1485–1516)", 1485, 1516),
        ("Someone (Dutch, fl. 1620–1640)", 1620, 1640),
    ],
)
def test_it_marks_activity_dates_as_active(text: str, start: int, end: int) -> None:
    artist = only(text)
    assert (artist.birth_year, artist.death_year, artist.active) == (start, end, True)


def test_it_treats_active_in_a_place_as_a_note_not_a_statement_about_the_dates() -> None:
    artist = only("El Greco (Doménikos Theotokópoulos; Greek, active in Spain, 1541–1614)")
    assert (artist.name, artist.alias, artist.nationality) == ("El Greco", "Doménikos Theotokópoulos", "Greek")
    assert (artist.birth_year, artist.death_year, artist.active) == (1541, 1614, False)


@pytest.mark.parametrize(
    ("text", "name", "alias"),
    [
        (
            "Jean Hey (Master of Moulins; Netherlandish, active in France, c. 1480-c.1504)",
            "Jean Hey",
            "Master of Moulins",
        ),
        ("Fra Bartolommeo (Baccio della Porta; Italian, 1472-1517)", "Fra Bartolommeo", "Baccio della Porta"),
        ("Titian (Tiziano Vecellio)", "Titian", "Tiziano Vecellio"),
    ],
)
def test_it_keeps_an_alternative_name_as_an_alias(text: str, name: str, alias: str) -> None:
    artist = only(text)
    assert (artist.name, artist.alias) == (name, alias)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("August (Ágost) Canzi (Austrian, 1808-1866)", "August (Ágost) Canzi"),
        ("Joos de Momper, II (Flemish, 1564-1635)", "Joos de Momper, II"),
        ("Paul Sérusier  (French, 1864–1927)", "Paul Sérusier"),
        ("Monogrammist PG (Germany, active c. 1525–50)", "Monogrammist PG"),
    ],
)
def test_it_keeps_unusual_names_intact(text: str, name: str) -> None:
    assert only(text).name == name


@pytest.mark.parametrize(
    ("text", "nationality"),
    [
        ("Flemish", "Flemish"),
        ("Italian or Spanish", "Italian or Spanish"),
        ("South German; possibly Ulm", "South German"),
        ("Netherlandish or German; possibly Rhenish", "Netherlandish or German"),
        ("Bolognese", "Bolognese"),
        ("Central Italian", "Central Italian"),
    ],
)
def test_it_reads_a_culture_only_credit_as_an_anonymous_artist(text: str, nationality: str) -> None:
    artist = only(text)
    assert (artist.name, artist.nationality, artist.anonymous) == (text, nationality, True)


@pytest.mark.parametrize("text", ["Unknown artist", "Artist unknown", "Anonymous", "unknown"])
def test_it_flags_an_unknown_artist_as_anonymous(text: str) -> None:
    artist = only(text)
    assert (artist.name, artist.anonymous) == (text, True)


def test_it_keeps_the_nationality_of_an_unknown_artist() -> None:
    artist = only("Artist unknown (French, 19th century)")
    assert (artist.name, artist.nationality, artist.anonymous) == ("Artist unknown", "French", True)
    assert (artist.birth_year, artist.death_year) == (None, None)


def test_it_does_not_mistake_a_bare_name_for_a_culture() -> None:
    artist = only("Titian")
    assert (artist.name, artist.nationality, artist.anonymous) == ("Titian", None, False)


@pytest.mark.parametrize(
    "text",
    [
        "Jacob Cornelisz. van Oostsanen (Netherlandish, c. 1470/75–by 1533)\n"
        "or Workshop of Jacob Cornelisz. van Oostsanen (Netherlandish, c. 1470/75–by 1533)",
        "Workshop of Apollonio di Giovanni (Italian, 1415/17-1465)\nMarco del Buono Giamberti (Italian, 1403-1489)",
        "Apollonio di Giovanni (Italian, 1415/17-1465) and Marco del Buono Giamberti (Italian, 1403-1489)",
        "Apollonio di Giovanni (Italian, 1415/17-1465); Marco del Buono Giamberti (Italian, 1403-1489)",
        "Apollonio di Giovanni (Italian, 1415/17-1465)\r\n\r\nMarco del Buono Giamberti (Italian, 1403-1489)",
    ],
)
def test_it_splits_several_artists_each_with_their_own_parentheses(text: str) -> None:
    first, second = parse_artists(text)
    assert first.nationality == second.nationality
    assert first.birth_year and second.birth_year
    assert "\n" not in first.raw + second.raw


def test_it_keeps_the_or_of_an_alternative_attribution_in_raw() -> None:
    _, alternative = parse_artists(
        "Jacob Cornelisz. van Oostsanen (Netherlandish, c. 1470/75–by 1533)\n"
        "or Workshop of Jacob Cornelisz. van Oostsanen (Netherlandish, c. 1470/75–by 1533)"
    )
    assert alternative.qualifier == "Workshop of"
    assert alternative.raw.startswith("or Workshop of")


def test_it_does_not_split_on_and_inside_a_name() -> None:
    artist = only("Hendrick and Jan Smit (Dutch, 1600–1650)")
    assert artist.name == "Hendrick and Jan Smit"


@pytest.mark.parametrize(
    "text",
    [
        "Someone (French, 1850–1820)",  # dies before birth
        "Someone (French, 1850–30000)",  # impossible year
        "Someone (French, 1850)",  # a lone year: born or died?
        "Someone (French, sometime in the 1800s or so)",
    ],
)
def test_it_never_guesses_years_it_cannot_trust(text: str) -> None:
    artist = only(text)
    assert (artist.name, artist.nationality, artist.raw) == ("Someone", "French", text)
    assert (artist.birth_year, artist.death_year) == (None, None)


def test_it_keeps_the_name_and_raw_when_the_parenthetical_cannot_be_read() -> None:
    text = "Someone (a pupil, perhaps)"
    artist = only(text)
    assert (artist.name, artist.raw, artist.nationality) == ("Someone", text, None)


def test_it_keeps_an_unbalanced_credit_whole() -> None:
    text = "Someone (French, 1850"
    assert only(text).name == text


@pytest.mark.parametrize("text", ["", "   ", "\n", None])
def test_it_returns_no_artists_for_a_blank_credit(text: str | None) -> None:
    assert parse_artists(text) == []


@pytest.mark.skipif(not DEMO_CSV.exists(), reason="demo collection not built")
def test_every_demo_credit_yields_named_artists_with_dates_or_a_culture() -> None:
    with DEMO_CSV.open(newline="", encoding="utf-8") as handle:
        demo_credits = [row["artist"] for row in csv.DictReader(handle)]
    for credit in demo_credits:
        artists = parse_artists(credit)
        assert artists, credit
        for artist in artists:
            assert artist.name and artist.raw
            assert artist.nationality or artist.birth_year, credit
            if artist.birth_year and artist.death_year:
                assert artist.birth_year <= artist.death_year
