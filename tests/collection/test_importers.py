"""Importing CSV and JSON files: columns, re-imports, bad rows, whole-file errors and the import record."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from collection.models import Artwork, ImageFile, ImportRun, Label

pytestmark = pytest.mark.django_db

HEADER = "object_id,title,artist,date,medium,image,classification,style,motifs\n"


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def run_import(*args: str | Path) -> str:
    out = io.StringIO()
    call_command("import_collection", *[str(a) for a in args], "--no-progress", stdout=out)
    return out.getvalue()


def summary_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("Import finished"))


def test_it_imports_a_csv_with_images_artists_dates_and_labels(tmp_path, image_folder):
    csv_file = write(
        tmp_path / "works.csv",
        HEADER + 'A1,Helena Tromper Du Bois,"Attributed to Anthony van Dyck (Flemish, 1599–1641)",c. 1631,'
        "Oil on canvas,images/a.jpg,painting,Baroque,portrait|woman\n"
        + 'A2,The Marsh,"Charles François Daubigny (French, 1817–1878)",1868–70,Oil on panel,images/b.jpg,'
        "paintings,Barbizon School,landscape\n",
    )

    output = run_import(csv_file)

    assert summary_line(output) == "Import finished: created 2, updated 0, unchanged 0, rejected 0."
    helena = Artwork.objects.get(accession_number="A1")
    assert helena.title == "Helena Tromper Du Bois"
    assert helena.date_display == "c. 1631"
    assert (helena.year_start, helena.year_end, helena.decade) == (1631, 1631, 1630)
    assert helena.medium == "Oil on canvas"
    assert helena.classification == "painting"
    assert helena.styles == ["Baroque"]
    assert sorted(helena.motifs) == ["portrait", "woman"]
    assert helena.image is not None and helena.image.derivatives_complete()
    marsh = Artwork.objects.get(accession_number="A2")
    assert marsh.classification == "painting"  # "paintings" is a known synonym
    assert (marsh.year_start, marsh.year_end, marsh.decade) == (1868, 1870, 1860)
    assert marsh.image_id != helena.image_id


def test_it_keeps_the_attribution_qualifier_and_parses_the_artists_nationality_and_years(tmp_path):
    csv_file = write(
        tmp_path / "works.csv",
        'object_id,title,artist\nA1,Helena Tromper Du Bois,"Attributed to Anthony van Dyck (Flemish, 1599–1641)"\n',
    )

    run_import(csv_file)

    work = Artwork.objects.get(accession_number="A1")
    assert work.artist_display == "Attributed to Anthony van Dyck (Flemish, 1599–1641)"
    (credit,) = work.credits.select_related("artist")
    assert credit.qualifier == "Attributed to"
    assert credit.artist.name == "Anthony van Dyck"
    assert credit.artist.nationality == "Flemish"
    assert (credit.artist.birth_year, credit.artist.death_year) == (1599, 1641)


def test_two_works_by_the_same_artist_share_one_artist_record(tmp_path):
    csv_file = write(
        tmp_path / "works.csv",
        "object_id,title,artist\n"
        'A1,Landscape,"Jean Charles Cazin (French, 1841–1901)"\n'
        'A2,Dunes,"Jean Charles Cazin (French, 1841–1901)"\n',
    )

    run_import(csv_file)

    first = Artwork.objects.get(accession_number="A1").credits.get()
    second = Artwork.objects.get(accession_number="A2").credits.get()
    assert first.artist_id == second.artist_id


def test_it_imports_a_json_file_of_artworks_with_label_lists(tmp_path, image_folder):
    json_file = write(
        tmp_path / "works.json",
        json.dumps(
            {
                "artworks": [
                    {
                        "accession_number": "J1",
                        "title": "Water Lilies",
                        "artist": "Claude Monet (French, 1840–1926)",
                        "date": "1906",
                        "image": "images/a.jpg",
                        "styles": ["Impressionism"],
                        "motifs": ["water", "flowers"],
                        "published": False,
                    },
                    {"accession_number": "J2", "title": "Untitled", "date": "1950s"},
                ]
            }
        ),
    )

    output = run_import(json_file)

    assert "created 2" in summary_line(output)
    lilies = Artwork.objects.get(accession_number="J1")
    assert (lilies.year_start, lilies.decade) == (1906, 1900)
    assert lilies.styles == ["Impressionism"]
    assert sorted(lilies.motifs) == ["flowers", "water"]
    assert lilies.published is False
    assert lilies.image is not None
    assert lilies.credits.get().artist.name == "Claude Monet"
    assert Artwork.objects.get(accession_number="J2").published is True  # not given: the default


def test_it_reads_a_plain_json_list_and_reports_items_that_are_not_objects(tmp_path):
    json_file = write(tmp_path / "works.json", json.dumps([{"id": "L1", "name": "First"}, "oops"]))

    output = run_import(json_file)

    assert summary_line(output) == "Import finished: created 1, updated 0, unchanged 0, rejected 1."
    assert "rejected line 2: record 2 is not an object" in output
    assert Artwork.objects.get(accession_number="L1").title == "First"


def test_it_reads_columns_by_their_aliases_whatever_their_case_and_spacing(tmp_path):
    csv_file = write(
        tmp_path / "works.csv",
        "Object Number,Name,Creator,Dated,Object Type,Materials,Keywords,Licence\n"
        "1961.1,Sunflowers,Vincent van Gogh,1888,Painting,Oil on canvas,flowers;still life,CC0\n",
    )

    run_import(csv_file)

    work = Artwork.objects.get(accession_number="1961.1")
    assert work.title == "Sunflowers"
    assert work.artist_display == "Vincent van Gogh"
    assert work.year_start == 1888
    assert work.classification == "painting"
    assert work.medium == "Oil on canvas"
    assert work.rights == "CC0"
    assert sorted(work.motifs) == ["flowers", "still life"]


def test_it_maps_a_column_named_on_the_command_line(tmp_path):
    csv_file = write(tmp_path / "verk.csv", "Objekt nr;Tittel;Datering\nNG.M.00939;Skrik;1893\n")

    run_import(csv_file, "--map", "Objekt nr=accession_number", "--map", "Tittel=title", "--map", "Datering=date")

    work = Artwork.objects.get(accession_number="NG.M.00939")
    assert (work.title, work.year_start) == ("Skrik", 1893)


def test_it_refuses_a_map_to_a_field_that_does_not_exist(tmp_path):
    csv_file = write(tmp_path / "verk.csv", "Objekt nr,title\n1,Skrik\n")

    with pytest.raises(CommandError, match="'colour' is not a field"):
        run_import(csv_file, "--map", "Objekt nr=colour")
    assert not Artwork.objects.exists()


def test_it_warns_about_columns_it_ignores(tmp_path):
    csv_file = write(tmp_path / "works.csv", "id,title,favourite_colour\n1,Skrik,red\n")

    output = run_import(csv_file)

    assert "ignored column(s) with no field: favourite_colour" in output
    assert Artwork.objects.filter(accession_number="1").exists()


def test_importing_the_same_file_again_changes_nothing_and_one_changed_cell_updates_one_work(tmp_path, image_folder):
    rows = [
        "A1,Helena,Anthony van Dyck,c. 1631,Oil on canvas,images/a.jpg,painting,Baroque,portrait",
        "A2,The Marsh,Charles François Daubigny,1871,Oil on panel,images/b.jpg,painting,,landscape",
        "A3,Dunes,Jean Charles Cazin,c. 1895,Oil on canvas,,painting,,",
    ]
    csv_file = write(tmp_path / "works.csv", HEADER + "\n".join(rows) + "\n")
    assert "created 3, updated 0, unchanged 0" in summary_line(run_import(csv_file))
    before = {w.accession_number: w.updated for w in Artwork.objects.all()}

    assert summary_line(run_import(csv_file)) == "Import finished: created 0, updated 0, unchanged 3, rejected 0."

    rows[1] = rows[1].replace("1871", "1872")
    write(csv_file, HEADER + "\n".join(rows) + "\n")
    assert summary_line(run_import(csv_file)) == "Import finished: created 0, updated 1, unchanged 2, rejected 0."
    after = {w.accession_number: w.updated for w in Artwork.objects.all()}
    assert [acc for acc in after if after[acc] != before[acc]] == ["A2"]
    assert Artwork.objects.get(accession_number="A2").year_start == 1872
    assert Artwork.objects.count() == 3
    assert ImageFile.objects.count() == 2


def test_changing_only_a_label_counts_as_an_update(tmp_path):
    csv_file = write(tmp_path / "works.csv", "id,title,style\n1,Skrik,Expressionism\n")
    run_import(csv_file)

    write(csv_file, "id,title,style\n1,Skrik,Symbolism\n")
    output = run_import(csv_file)

    assert "updated 1" in summary_line(output)
    assert Artwork.objects.get().styles == ["Symbolism"]
    assert set(Label.objects.values_list("name", flat=True)) == {"Expressionism", "Symbolism"}


GOOD_ROW_BEFORE = "G1,Before,,1890,,,painting,,"
GOOD_ROW_AFTER = "G2,After,,1900,,,painting,,"


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        pytest.param("B1,,Someone,1890,,,painting,,", "line 3 (B1): title is empty", id="missing-title"),
        pytest.param(",No number,,1890,,,painting,,", "line 3: accession number is empty", id="missing-accession"),
        pytest.param(
            "B1,Broken,,1890,,broken.jpg,,,",
            "line 3 (B1): broken.jpg: the image is corrupt or truncated",
            id="broken-image",
        ),
        pytest.param(
            "B1,Not a picture,,1890,,page.jpg,,,", "line 3 (B1): page.jpg: not a recognisable image", id="html-as-jpg"
        ),
        pytest.param(
            "B1,Escapes,,1890,,../secret.jpg,,,",
            "line 3 (B1): image path '../secret.jpg' escapes the image folder",
            id="escaping-path",
        ),
        pytest.param(
            "B1,Absolute,,1890,,/etc/hostname,,,",
            "line 3 (B1): image path '/etc/hostname' escapes the image folder",
            id="absolute-path",
        ),
        pytest.param(
            "B1,Linked,,1890,,link.jpg,,,",
            "line 3 (B1): image path 'link.jpg' escapes the image folder",
            id="symlink-out",
        ),
        pytest.param(
            "B1,Nowhere,,1890,,nope.jpg,,,", "line 3 (B1): image file 'nope.jpg' was not found", id="missing-file"
        ),
        pytest.param(
            "G1,Twin,,1890,,,painting,,",
            "line 3 (G1): duplicate accession number 'G1' (first seen on line 2)",
            id="duplicate-accession",
        ),
        pytest.param("B1,Odd cells,,1890", "line 3: the row has 4 cells but the header has 9", id="short-row"),
        pytest.param(
            "B1,Bad flag,,1890,,,painting,,\u0000",
            "line 3 (B1): motifs contains a NUL character (0x00)",
            id="nul-in-cell",
        ),
    ],
)
def test_it_rejects_a_bad_row_with_its_line_number_and_reason_while_the_other_rows_import(
    tmp_path, image_folder, bad_row, reason
):
    full = (image_folder / "a.jpg").read_bytes()
    write(image_folder / "broken.jpg", full[: len(full) // 2])
    write(image_folder / "page.jpg", "<!doctype html><html><body>Not found</body></html>")
    write(tmp_path / "secret.jpg", full)  # exists, but outside the image folder
    (image_folder / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    csv_file = write(tmp_path / "works.csv", HEADER + "\n".join([GOOD_ROW_BEFORE, bad_row, GOOD_ROW_AFTER]) + "\n")

    output = run_import(csv_file, "--images", image_folder)

    assert f"rejected {reason}" in output
    assert summary_line(output) == "Import finished: created 2, updated 0, unchanged 0, rejected 1."
    assert sorted(Artwork.objects.values_list("accession_number", flat=True)) == ["G1", "G2"]
    assert ImageFile.objects.count() == 0
    assert Artwork.objects.get(accession_number="G1").title == "Before"


def test_it_rejects_a_row_whose_image_url_cannot_be_reached(tmp_path, closed_port_url, settings):
    settings.IMPORT_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # loopback stands in for an allowed intranet host
    csv_file = write(
        tmp_path / "works.csv",
        "id,title,image_url\nU1,Far away," + closed_port_url + "\nU2,Here,\n",
    )

    output = run_import(csv_file)

    assert (
        f"rejected line 2 (U1): image URL {closed_port_url} could not be fetched: refused by policy or not reachable"
        in output
    )
    assert list(Artwork.objects.values_list("accession_number", flat=True)) == ["U2"]


def test_it_rejects_a_row_whose_image_url_answers_with_an_error(tmp_path, website):
    csv_file = write(tmp_path / "works.csv", f"id,title,image_url\nU1,Gone,{website.url('gone.jpg')}\n")

    output = run_import(csv_file)

    assert f"rejected line 2 (U1): image URL {website.url('gone.jpg')} answered HTTP 404" in output
    assert not Artwork.objects.exists()


def test_it_imports_an_image_from_a_url(tmp_path, website, image_folder):
    url = website.add("img/a.jpg", (image_folder / "a.jpg").read_bytes())
    csv_file = write(tmp_path / "works.csv", f"id,title,image_url\nU1,Fetched,{url}\n")

    run_import(csv_file)

    work = Artwork.objects.get(accession_number="U1")
    assert (work.image.width, work.image.height) == (433, 512)


@pytest.mark.parametrize(
    ("date", "warning"),
    [
        pytest.param("30000", "date '30000' kept as written without years: year 30000 is later than", id="absurd-year"),
        pytest.param(
            "1900–1850",
            "date '1900–1850' kept as written without years: range ends (1850) before it starts (1900)",
            id="end-before-start",
        ),
    ],
)
def test_it_imports_a_work_with_an_impossible_date_without_years_and_warns(tmp_path, date, warning):
    csv_file = write(tmp_path / "works.csv", f"id,title,date\nD1,Odd date,{date}\nD2,Fine,1890\n")

    output = run_import(csv_file)

    assert f"warning  line 2 (D1): {warning}" in output
    assert summary_line(output) == "Import finished: created 2, updated 0, unchanged 0, rejected 0."
    work = Artwork.objects.get(accession_number="D1")
    assert work.date_display == date
    assert (work.year_start, work.year_end, work.decade) == (None, None, None)
    assert Artwork.objects.get(accession_number="D2").year_start == 1890


def test_an_unknown_classification_is_stored_as_other_with_a_warning(tmp_path):
    csv_file = write(tmp_path / "works.csv", "id,title,classification\nC1,Vase,ceramics\n")

    output = run_import(csv_file)

    assert "warning  line 2 (C1): classification 'ceramics' is not known; stored as 'other'" in output
    assert Artwork.objects.get().classification == "other"


def test_a_file_missing_required_columns_is_refused_with_a_clear_error_and_nothing_is_imported(tmp_path):
    csv_file = write(tmp_path / "works.csv", "id,artist,date\n1,Monet,1890\n2,Manet,1870\n")

    with pytest.raises(CommandError) as caught:
        run_import(csv_file)

    message = str(caught.value)
    assert "missing required column(s): title" in message
    assert "found: id, artist, date" in message
    assert not Artwork.objects.exists()
    assert not ImportRun.objects.exists()


def test_a_json_file_whose_records_lack_a_title_is_refused(tmp_path):
    json_file = write(tmp_path / "works.json", json.dumps([{"id": "1", "artist": "Monet"}]))

    with pytest.raises(CommandError, match="records lack required field\\(s\\): title"):
        run_import(json_file)
    assert not Artwork.objects.exists()


def test_a_broken_json_file_is_refused_with_the_position_of_the_error(tmp_path):
    json_file = write(tmp_path / "works.json", '[{"id": "1", "title": "Skrik",]')

    with pytest.raises(CommandError, match="is not valid JSON: .* at line 1 column"):
        run_import(json_file)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run_import(tmp_path / "nope.csv")


def test_a_file_in_another_encoding_is_refused_with_an_error_naming_the_encoding(tmp_path):
    csv_file = write(tmp_path / "works.csv", "id,title\n1,Café à Montmartre\n".encode("cp1252"))

    with pytest.raises(CommandError) as caught:
        run_import(csv_file)

    message = str(caught.value)
    assert "is not valid UTF-8" in message
    assert "byte 0xe9" in message
    assert "--encoding cp1252" in message
    assert not Artwork.objects.exists()


def test_it_reads_a_cp1252_file_when_told_the_encoding(tmp_path):
    csv_file = write(tmp_path / "works.csv", "id,title,artist\n1,Café à Montmartre,Édouard Manet\n".encode("cp1252"))

    run_import(csv_file, "--encoding", "cp1252")

    work = Artwork.objects.get(accession_number="1")
    assert work.title == "Café à Montmartre"
    assert work.artist_display == "Édouard Manet"


def test_an_unknown_encoding_is_refused(tmp_path):
    csv_file = write(tmp_path / "works.csv", "id,title\n1,Skrik\n")

    with pytest.raises(CommandError, match="unknown encoding 'klingon'"):
        run_import(csv_file, "--encoding", "klingon")


def test_it_reads_a_utf8_file_with_a_byte_order_mark(tmp_path):
    csv_file = write(tmp_path / "works.csv", "\ufeffid,title\n1,Skrik\n".encode())

    run_import(csv_file)

    assert Artwork.objects.get(accession_number="1").title == "Skrik"


def test_each_import_is_recorded_with_its_counts_and_rejected_rows(tmp_path):
    csv_file = write(tmp_path / "works.csv", "id,title\n1,Skrik\n2,\n3,Madonna\n")
    run_import(csv_file)
    write(csv_file, "id,title\n1,Skrik\n3,Madonna (lithograph)\n")

    run_import(csv_file)

    first, second = ImportRun.objects.order_by("started")
    assert first.source == str(csv_file)
    assert (first.created, first.updated, first.unchanged, first.rejected) == (2, 0, 0, 1)
    assert first.errors == ["line 3 (2): title is empty"]
    assert first.finished is not None and first.finished >= first.started
    assert (second.created, second.updated, second.unchanged, second.rejected) == (0, 1, 1, 0)
    assert second.errors == []


def test_a_published_column_sets_visibility_and_a_bad_value_rejects_the_row(tmp_path):
    csv_file = write(tmp_path / "works.csv", "id,title,published\n1,Public,yes\n2,Hidden,no\n3,Unsure,maybe\n")

    output = run_import(csv_file)

    assert "rejected line 4 (3): published value 'maybe' is not yes/no" in output
    assert dict(Artwork.objects.values_list("accession_number", "published")) == {"1": True, "2": False}


def test_a_url_column_that_is_not_a_web_address_rejects_the_row(tmp_path):
    csv_file = write(tmp_path / "works.csv", "id,title,source_url\n1,Skrik,javascript:alert(1)\n")

    output = run_import(csv_file)

    assert "rejected line 2 (1): source_url 'javascript:alert(1)' is not an http(s) URL" in output
    assert not Artwork.objects.exists()


def test_a_title_above_the_length_limit_rejects_the_row(tmp_path):
    csv_file = write(tmp_path / "works.csv", f"id,title\n1,{'x' * 501}\n2,Short\n")

    output = run_import(csv_file)

    assert "rejected line 2 (1): title is 501 characters long, above the limit of 500" in output
    assert list(Artwork.objects.values_list("accession_number", flat=True)) == ["2"]


# --- Re-imports and curators' edits -------------------------------------------------------------


def conflict_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("conflict ")]


def test_re_importing_keeps_an_image_a_curator_replaced_and_reports_the_conflict(tmp_path, image_folder):
    from collection import services

    csv_file = write(tmp_path / "works.csv", "id,title,image\nA1,Helena,images/a.jpg\n")
    run_import(csv_file)
    work = Artwork.objects.get(accession_number="A1")
    services.attach_image(work, (image_folder / "b.jpg").read_bytes(), name="better.jpg")
    replaced = Artwork.objects.get(accession_number="A1").image

    output = run_import(csv_file)

    work.refresh_from_db()
    assert work.image_id == replaced.pk
    (line,) = conflict_lines(output)
    assert line.startswith(f"conflict line 2 (A1): image: kept the curator's picture sha256 {replaced.sha256[:12]}")
    assert summary_line(output).startswith(
        "Import finished: created 0, updated 0, unchanged 1, rejected 0, 1 curator edit(s) kept"
    )
    assert ImportRun.objects.order_by("started").last().conflicts == [line.removeprefix("conflict ")]


def test_re_importing_keeps_the_fields_a_curator_edited_and_takes_the_files_new_values_for_the_others(tmp_path):
    from collection import services

    csv_file = write(tmp_path / "works.csv", "id,title,medium,motifs,published\nA1,Helena,Oil,portrait,yes\n")
    run_import(csv_file)
    work = Artwork.objects.get(accession_number="A1")
    services.save_artwork({"title": "Helena Tromper Du Bois", "motifs": ["portrait", "lace collar"]}, existing=work)
    services.set_published(Artwork.objects.filter(pk=work.pk), False)

    write(csv_file, "id,title,medium,motifs,published\nA1,Helena (copy),Oil on canvas,woman,yes\n")
    output = run_import(csv_file)

    work = Artwork.objects.get(accession_number="A1")
    assert work.title == "Helena Tromper Du Bois"
    assert sorted(work.motifs) == ["lace collar", "portrait"]
    assert work.published is False
    assert work.medium == "Oil on canvas"  # nobody edited it: the file's new value
    assert conflict_lines(output) == [
        "conflict line 2 (A1): motifs: kept the curator's ['lace collar', 'portrait']; the file has ['woman']",
        "conflict line 2 (A1): published: kept the curator's False; the file has True",
        "conflict line 2 (A1): title: kept the curator's 'Helena Tromper Du Bois'; the file has 'Helena (copy)'",
    ]
    assert "updated 1" in summary_line(output)


def test_overwrite_edits_takes_the_files_values_over_a_curators_and_later_imports_are_quiet(tmp_path):
    from collection import services

    csv_file = write(tmp_path / "works.csv", "id,title,medium\nA1,Helena,Oil\n")
    run_import(csv_file)
    services.save_artwork({"title": "Mine"}, existing=Artwork.objects.get(accession_number="A1"))

    output = run_import(csv_file, "--overwrite-edits")

    assert conflict_lines(output) == []
    assert Artwork.objects.get(accession_number="A1").title == "Helena"
    assert summary_line(run_import(csv_file)) == "Import finished: created 0, updated 0, unchanged 1, rejected 0."


def test_a_value_the_curator_and_the_file_agree_on_is_no_conflict(tmp_path):
    from collection import services

    csv_file = write(tmp_path / "works.csv", "id,title\nA1,Helena\n")
    run_import(csv_file)
    services.save_artwork({"title": "Helena Tromper"}, existing=Artwork.objects.get(accession_number="A1"))

    write(csv_file, "id,title\nA1,Helena Tromper\n")
    first = run_import(csv_file)
    write(csv_file, "id,title\nA1,Helena Tromper Du Bois\n")
    second = run_import(csv_file)

    assert conflict_lines(first) == []
    assert conflict_lines(second) == []  # the file's value is the import's again, so its change is taken
    assert Artwork.objects.get(accession_number="A1").title == "Helena Tromper Du Bois"


def test_a_work_stored_before_provenance_keeps_its_differing_values_and_records_the_ones_the_file_agrees_with(tmp_path):
    from tests.factories import ArtworkFactory

    ArtworkFactory(
        accession_number="OLD.1", title="Helena", medium="Oil on panel", artist_display="Painter", published=True
    )
    csv_file = write(tmp_path / "works.csv", "id,title,medium,artist,date\nOLD.1,Helena,Oil on canvas,Painter,1880\n")

    output = run_import(csv_file)

    assert conflict_lines(output) == [
        "conflict line 2 (OLD.1): medium: kept the curator's 'Oil on panel'; the file has 'Oil on canvas'"
    ]
    assert Artwork.objects.get(accession_number="OLD.1").medium == "Oil on panel"
    write(csv_file, "id,title,medium,artist,date\nOLD.1,Helena (detail),Oil on panel,Painter,1880\n")
    output = run_import(csv_file)
    assert conflict_lines(output) == []  # the title was recorded as the import's on the first run
    work = Artwork.objects.get(accession_number="OLD.1")
    assert (work.title, work.medium) == ("Helena (detail)", "Oil on panel")


def test_the_same_accession_number_in_two_files_of_one_run_is_rejected_the_second_time_naming_the_first_file(tmp_path):
    first = write(tmp_path / "first.csv", "id,title,published\nA1,Helena,yes\nA2,Dunes,yes\n")
    second = write(tmp_path / "second.csv", "id,title,published\nA3,Marsh,yes\nA1,Helena again,no\n")

    output = run_import(first, second)

    assert f"rejected line 3 (A1): duplicate accession number 'A1' (first seen in {first} on line 2)" in output
    assert summary_line(output) == "Import finished: created 3, updated 0, unchanged 0, rejected 1."
    work = Artwork.objects.get(accession_number="A1")
    assert (work.title, work.published) == ("Helena", True)
    assert ImportRun.objects.get(source=str(second)).rejected == 1


def test_a_second_file_that_cannot_be_read_stops_the_run_before_any_row_of_the_first_is_imported(tmp_path):
    good = write(tmp_path / "good.csv", "id,title\nA1,Helena\n")
    bad = write(tmp_path / "bad.csv", "id,artist\n1,Monet\n")

    with pytest.raises(CommandError, match="missing required column"):
        run_import(good, bad)

    assert not Artwork.objects.exists()
    assert not ImportRun.objects.exists()


def test_a_row_with_more_motifs_than_the_cap_is_rejected_naming_the_cap(tmp_path):
    from collection.models import MAX_MOTIFS

    motifs = "|".join(f"motif {n}" for n in range(3000))
    csv_file = write(tmp_path / "works.csv", f"id,title,motifs\nM1,Crowded,{motifs}\nM2,Fine,{'|'.join(['a'] * 3)}\n")

    output = run_import(csv_file)

    assert f"rejected line 2 (M1): motifs has 3000 terms, above the limit of {MAX_MOTIFS}" in output
    assert not Artwork.objects.filter(accession_number="M1").exists()
    assert not Label.objects.filter(name="motif 0").exists()
    assert Artwork.objects.get(accession_number="M2").motifs == ["a"]


def test_a_motif_longer_than_a_label_may_be_rejects_the_row_instead_of_being_cut(tmp_path):
    from collection.models import LABEL_NAME_MAX_LENGTH

    long = "x" * (LABEL_NAME_MAX_LENGTH + 1)
    csv_file = write(tmp_path / "works.csv", f"id,title,motifs,styles\nM1,Long,{long},\nM2,Long style,,{long}\n")

    output = run_import(csv_file)

    assert (
        f"rejected line 2 (M1): motifs term 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' is {LABEL_NAME_MAX_LENGTH + 1} characters long, above the limit of {LABEL_NAME_MAX_LENGTH}"
        in output
    )
    assert "rejected line 3 (M2): styles term" in output
    assert not Artwork.objects.exists()
    assert not Label.objects.exists()
