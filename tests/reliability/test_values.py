"""Every legal value works, every illegal one is a clean 4xx (issue #13).

Accession numbers with "/" are routed; what no URL can carry is refused at every entrance (import,
API, admin) with the rule's name; control characters never reach storage or an export; NUL bytes and
ids beyond 64 bits are refused before a query; CSV cells never start a formula in a spreadsheet that
splits on "," or on ";".
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from django.test import Client
from django.utils.html import escape

from collection import importers
from collection.api.views import ArtworkViewSet
from collection.models import Artist, Artwork, Label, PartnerToken
from collection.values import ARTWORK_ACTION_PATHS, INT64_MAX, csv_safe, parse_id
from maps.models import Map, MapBuild, MapPoint
from tests.collection.test_admin import change_form_data, change_url
from tests.factories import ArtworkFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/artworks/"
ADD = "/admin/collection/artwork/add/"
HEADER = "accession_number,title,artist,medium,motifs\n"


@pytest.fixture
def writer(api_client):
    _, key = PartnerToken.issue("Registrar", scope="write")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api_client


@pytest.fixture
def lenient_client() -> Client:
    """Answers a server error as a 500 response instead of raising it into the test."""
    return Client(raise_request_exception=False)


def live_map(works: list[Artwork]) -> Map:
    map_obj = Map.objects.create(slug="all", title="All works")
    build = MapBuild.objects.create(map=map_obj, version=1, feature_version="hand:made:1", n_points=len(works))
    MapPoint.objects.bulk_create(
        [MapPoint(build=build, artwork=w, x=0.1 * i, y=-0.1 * i, cluster=0) for i, w in enumerate(works)]
    )
    map_obj.go_live(build)
    return map_obj


def import_csv(tmp_path: Path, body: str) -> importers.ImportResult:
    path = tmp_path / "works.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return importers.import_collection([str(path)])


# --- Accession numbers with "/" ------------------------------------------------------------------


@pytest.mark.parametrize("accession", ["1986/23", "NG/1234", "A/B/C.1", "Inv. 12/3 (a)", "K&M/12?b#3%"])
def test_an_accession_number_with_a_slash_is_created_and_found_at_every_url(writer, client, accession):
    response = writer.post(LIST, {"accession_number": accession, "title": "Harbour"}, format="json")

    assert response.status_code == 201, response.content
    detail = response.json()["url"]
    assert writer.get(detail).json()["accession_number"] == accession
    assert writer.get(LIST).status_code == 200
    page = Artwork.objects.get(accession_number=accession).page_url
    assert client.get(page).status_code == 200
    assert escape(page) in client.get("/list/").content.decode()


def test_a_percent_encoded_slash_from_a_partners_url_library_finds_the_work(api_client, client):
    ArtworkFactory(accession_number="1986/23", title="Harbour")

    assert api_client.get(f"{LIST}1986%2F23/").json()["title"] == "Harbour"
    assert client.get("/works/1986%2F23/").status_code == 200


def test_the_similar_route_of_a_work_with_a_slash_is_matched_before_its_detail(api_client):
    ArtworkFactory(accession_number="NG/1234")

    response = api_client.get(f"{LIST}NG/1234/similar/")

    assert response.status_code == 409, response.content  # NG/1234's neighbours: none computed yet, not a 404
    assert "feature model" in response.json()["detail"]


def routes_under_a_work() -> set[str]:
    """The last part of every API route under a work, whichever stage routes it (config.urls assembles them)."""
    from config.urls import api_urlpatterns

    endings = set()
    for pattern in api_urlpatterns:
        found = re.fullmatch(r"\^artworks/\(\?P<accession_number>.*\)/([a-z]+)/\$", str(pattern.pattern))
        if found:
            endings.add(found.group(1))
    return endings


def test_the_reserved_endings_are_the_artwork_apis_actions():
    assert {a.url_path for a in ArtworkViewSet.get_extra_actions()} <= routes_under_a_work()
    assert set(ARTWORK_ACTION_PATHS) == routes_under_a_work() == {"image", "similar"}


UNROUTABLE = {
    "../../admin": "'.' or '..'",
    "./x": "'.' or '..'",
    "/lead": "starts or ends with '/'",
    "trail/": "starts or ends with '/'",
    "a//b": "'//'",
    "NG/similar": "must not end in '/image' or '/similar'",
    "A\x1bB": "U+001B",
    "ring\x07": "U+0007",
    "abc\u202egpj.exe": "U+202E RIGHT-TO-LEFT OVERRIDE",
}


@pytest.mark.parametrize("accession,rule", UNROUTABLE.items(), ids=[ascii(a) for a in UNROUTABLE])
def test_an_accession_number_no_url_can_carry_is_a_400_naming_the_rule(writer, accession, rule):
    response = writer.post(LIST, {"accession_number": accession, "title": "Harbour"}, format="json")

    assert response.status_code == 400
    assert rule in response.json()["errors"]["accession_number"][0]
    assert not Artwork.objects.exists()


@pytest.mark.parametrize("accession,rule", UNROUTABLE.items(), ids=[ascii(a) for a in UNROUTABLE])
def test_an_import_row_with_an_accession_number_no_url_can_carry_is_rejected_and_the_others_imported(
    tmp_path, client, accession, rule
):
    quoted = accession.replace('"', '""')
    result = import_csv(tmp_path, f'"{quoted}",Bad row,,,\nOK.1,Good row,,,\n')

    assert (result.created, result.rejected) == (1, 1)
    assert rule in str(result.errors[0]) and result.errors[0].line == 2
    assert list(Artwork.objects.values_list("accession_number", flat=True)) == ["OK.1"]
    assert client.get("/list/").status_code == 200


@pytest.mark.parametrize("accession,rule", UNROUTABLE.items(), ids=[ascii(a) for a in UNROUTABLE])
def test_the_admin_refuses_an_accession_number_no_url_can_carry_on_the_form(admin_client_for_curator, accession, rule):
    work = Artwork(accession_number=accession, title="Harbour", classification="painting", published=True)

    response = admin_client_for_curator.post(ADD, change_form_data(work))

    assert response.status_code == 200  # the form again, with the error
    assert rule in " ".join(response.context["adminform"].form.errors["accession_number"])
    assert not Artwork.objects.exists()


@pytest.mark.parametrize("accession", ["a//b", "../../admin", "/lead", "trail/"])
def test_an_old_row_whose_accession_no_url_can_carry_leaves_every_list_working(api_client, client, accession):
    old = ArtworkFactory(accession_number=accession, title="Old row")  # stored before the rule existed
    ArtworkFactory(accession_number="1900.1", title="Fine row")
    live_map([old])

    listed = api_client.get(LIST).json()["results"]
    assert {w["title"]: w["url"] for w in listed}["Old row"] is None
    assert api_client.get("/api/v1/maps/all/works/", {"ids": old.pk}).json()["works"][0]["page"] is None
    export = api_client.post("/api/v1/maps/all/works/", {"ids": [old.pk], "format": "csv"}, format="json")
    assert export.status_code == 200 and list(csv.reader(io.StringIO(export.content.decode())))[1][-1] == ""
    page = client.get("/list/")
    assert page.status_code == 200 and "Fine row" in page.content.decode()
    assert 'href="/works/../' not in page.content.decode()


# --- NUL bytes and ids beyond 64 bits ------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/?q=%00",
        "/list/?q=a%00b",
        "/works/%00/",
        "/works/1986%00/23/",
        "/api/v1/artworks/%00/",
        "/api/v1/artworks/?q=%00",
        "/api/v1/artworks/?artist=%00",
        "/api/v1/maps/%00/",
        "/api/v1/faces/?artwork=%00",
        "/api/v1/objects/?q=%00",
        "/api/v1/decades/?map=%00",
        "/files/private/%00",
    ],
)
def test_a_nul_byte_in_a_path_or_query_is_a_400(lenient_client, url):
    ArtworkFactory()

    response = lenient_client.get(url)

    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_a_nul_byte_in_an_api_path_is_answered_in_json(api_client):
    assert api_client.get("/api/v1/artworks/%00/").json() == {"detail": "A URL must not contain a NUL character (%00)."}


@pytest.mark.parametrize("ids", ["99999999999999999999", f"1,{INT64_MAX + 1}", "0", "-5"])
def test_map_work_ids_outside_the_64_bit_id_range_are_a_400_before_any_query(api_client, ids):
    work = ArtworkFactory()
    live_map([work])

    shown = api_client.get("/api/v1/maps/all/works/", {"ids": ids})
    exported = api_client.post("/api/v1/maps/all/works/", {"ids": ids.split(","), "format": "csv"}, format="json")

    assert shown.status_code == exported.status_code == 400
    assert str(INT64_MAX) in shown.json()["errors"]["ids"]


def test_ids_beyond_what_sqlite_stores_never_reach_a_query():
    # SQLite raises OverflowError past 2**63 - 1; the suite runs on PostgreSQL, so the bound is proved here.
    assert parse_id(str(INT64_MAX)) == INT64_MAX
    for raw in (str(INT64_MAX + 1), "9" * 20, "0", "-1", "x", True):
        with pytest.raises(ValueError):
            parse_id(raw)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/faces/99999999999999999999/",
        "/api/v1/faces/99999999999999999999/similar/",
        "/api/v1/decades/99999999999999999999/?map=all",
        "/api/v1/artworks/?decade=1e30",
    ],
)
def test_an_id_of_twenty_digits_elsewhere_is_a_404_or_empty(api_client, url):
    live_map([ArtworkFactory()])

    response = api_client.get(url)

    assert response.status_code in (200, 404)
    if response.status_code == 200:
        assert response.json()["results"] == []


def test_an_admin_decade_filter_that_is_not_a_year_is_refused_not_a_500(admin_client_for_curator):
    ArtworkFactory()

    response = admin_client_for_curator.get("/admin/collection/artwork/", {"decade": "abc"})

    assert response.status_code == 302 and response["Location"].endswith("?e=1")


# --- Control and bidi characters -----------------------------------------------------------------


def test_the_api_stores_titles_artists_media_and_motifs_without_control_or_bidi_characters(writer):
    response = writer.post(
        LIST,
        {
            "accession_number": "2024.7",
            "title": "Night\x1b[31m watch\u202e",
            "artist": "Rembrandt\x07 (Dutch, 1606–1669)",
            "medium": "Oil\x9b on\u2066 canvas",
            "motifs": ["guard\x1b"],
            "styles": ["Baroque\u202d"],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    work = Artwork.objects.get(accession_number="2024.7")
    assert (work.title, work.artist_display, work.medium) == (
        "Night[31m watch",
        "Rembrandt (Dutch, 1606–1669)",
        "Oil on canvas",
    )
    assert work.motifs == ["guard"] and work.styles == ["Baroque"]
    assert Artist.objects.get().name == "Rembrandt"


def test_an_import_stores_text_without_control_or_bidi_characters(tmp_path):
    result = import_csv(
        tmp_path, 'I.1,"Bell\x07 tower\u202e",Painter\x1b (French),Oil\u2067 on canvas,bell\x07|tower\n'
    )

    assert result.created == 1, result.errors
    work = Artwork.objects.get()
    assert (work.title, work.artist_display, work.medium) == ("Bell tower", "Painter (French)", "Oil on canvas")
    assert sorted(Label.objects.values_list("name", flat=True)) == ["bell", "tower"]


def test_the_admin_stores_text_without_control_or_bidi_characters(admin_client_for_curator):
    work = ArtworkFactory(accession_number="ADM.1")

    response = admin_client_for_curator.post(
        change_url(work), change_form_data(work, title="Quiet\x1b room\u202e", medium="Tempera\x07")
    )

    assert response.status_code == 302
    work.refresh_from_db()
    assert (work.title, work.medium) == ("Quiet room", "Tempera")


def test_the_admin_stores_artist_and_label_names_without_control_characters(admin_client_for_curator):
    admin_client_for_curator.post("/admin/collection/artist/add/", {"name": "Anon\x1b\u202e", "nationality": "Dutch"})
    admin_client_for_curator.post("/admin/collection/label/add/", {"name": "sea\x07", "kind": "motif"})

    assert Artist.objects.get().name == "Anon"
    assert Label.objects.get().name == "sea"


# --- CSV export ----------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_no_exported_cell_starts_a_formula_whether_the_spreadsheet_splits_on_commas_or_semicolons(
    api_client, delimiter
):
    works = [
        ArtworkFactory(medium="Oil;+1+1", title='x;=HYPERLINK("http://evil")', artist_display="a, @SUM(1)"),
        ArtworkFactory(accession_number="A;=1+1,-2", title="q;\"=cmd|' /C calc'!A0\"", medium="-2+3"),
        ArtworkFactory(title="Bell\x07 ringer\u202e", artist_display="Esc\x1b[2J", medium="ink,\t=1"),
    ]
    live_map(works)

    response = api_client.post(
        "/api/v1/maps/all/works/", {"ids": [w.pk for w in works], "format": "csv"}, format="json"
    )

    assert response.status_code == 200
    text = response.content.decode()
    assert not any(ch in text for ch in "\x07\x1b\u202e")
    fields = [field for row in csv.reader(io.StringIO(text), delimiter=delimiter) for field in row]
    formulas = [f for f in fields if f.lstrip(' "').startswith(FORMULA_STARTS) and not is_number(f)]
    assert formulas == []
    by_comma = list(csv.reader(io.StringIO(text)))
    assert by_comma[1][3] == "a, '@SUM(1)" and by_comma[1][9] == "Oil;'+1+1"  # the text is kept, made inert
    assert by_comma[2][-1].endswith("/works/A%3B=1+1%2C-2/")


def test_the_csv_guard_keeps_ordinary_text_and_numbers_as_they_are():
    assert csv_safe("Oil on canvas, 1880; restored") == "Oil on canvas, 1880; restored"
    assert csv_safe(-0.25) == -0.25 and csv_safe(None) == ""
    assert csv_safe("=1") == "'=1"
