"""Importing IIIF Presentation manifests (v2 and v3), fetched over HTTP from a loopback server."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from collection import iiif
from collection.models import Artwork
from tests.factories import image_bytes

pytestmark = pytest.mark.django_db


def run_import(*args: str | Path) -> str:
    out = io.StringIO()
    call_command("import_collection", *[str(a) for a in args], "--no-progress", stdout=out)
    return out.getvalue()


def manifest_v2(image_service: str) -> dict:
    return {
        "@context": iiif.V2_CONTEXT,
        "@id": "https://museum.example/iiif/2/1890.12/manifest",
        "@type": "sc:Manifest",
        "label": "The Bedroom",
        "metadata": [
            {"label": "Artist", "value": "Vincent van Gogh (Dutch, 1853–1890)"},
            {"label": "Date", "value": "1889"},
            {"label": "Medium", "value": "Oil on canvas"},
            {"label": "Object Number", "value": "1926.417"},
            {"label": "Keywords", "value": "interior; bed"},
        ],
        "license": "https://creativecommons.org/publicdomain/zero/1.0/",
        "attribution": "Helen Birch Bartlett Memorial Collection",
        "related": {"@id": "https://museum.example/artworks/28560", "format": "text/html"},
        "sequences": [
            {
                "@type": "sc:Sequence",
                "canvases": [
                    {
                        "@id": "https://museum.example/iiif/2/1890.12/canvas/1",
                        "@type": "sc:Canvas",
                        "width": 80,
                        "height": 50,
                        "images": [
                            {
                                "@type": "oa:Annotation",
                                "motivation": "sc:painting",
                                "resource": {
                                    "@id": f"{image_service}/full/full/0/default.jpg",
                                    "@type": "dcTypes:Image",
                                    "service": {
                                        "@context": "http://iiif.io/api/image/2/context.json",
                                        "@id": image_service,
                                    },
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }


def manifest_v3(image_url: str) -> dict:
    return {
        "@context": iiif.V3_CONTEXT,
        "id": "https://museum.example/iiif/3/skrik/manifest.json",
        "type": "Manifest",
        "label": {"en": ["The Scream"], "no": ["Skrik"]},
        "metadata": [
            {"label": {"en": ["Creator"]}, "value": {"none": ["Edvard Munch (Norwegian, 1863–1944)"]}},
            {"label": {"en": ["Date made"]}, "value": {"en": ["1893"]}},
            {"label": {"en": ["Style"]}, "value": {"en": ["Expressionism"]}},
        ],
        "rights": "http://rightsstatements.org/vocab/NoC-NC/1.0/",
        "requiredStatement": {"label": {"en": ["Attribution"]}, "value": {"en": ["The National Museum, Oslo"]}},
        "homepage": [{"id": "https://museum.example/objects/skrik", "type": "Text"}],
        "items": [
            {
                "id": "https://museum.example/iiif/3/skrik/canvas/1",
                "type": "Canvas",
                "items": [
                    {
                        "id": "https://museum.example/iiif/3/skrik/page/1",
                        "type": "AnnotationPage",
                        "items": [
                            {
                                "id": "https://museum.example/iiif/3/skrik/annotation/1",
                                "type": "Annotation",
                                "motivation": "painting",
                                "body": {"id": image_url, "type": "Image", "format": "image/png"},
                                "target": "https://museum.example/iiif/3/skrik/canvas/1",
                            }
                        ],
                    }
                ],
            }
        ],
    }


def test_it_imports_a_v2_manifest_from_a_url_with_its_image_from_the_image_service(website):
    service = website.url("iiif/bedroom")
    # The importer asks the image server for a bounded size, not the full original.
    website.add("iiif/bedroom/full/!3000,3000/0/default.jpg", image_bytes("JPEG", size=(80, 50)))
    manifest_url = website.add("manifests/bedroom.json", json.dumps(manifest_v2(service)))

    output = run_import(manifest_url)

    assert "created 1" in output
    work = Artwork.objects.get(accession_number="1926.417")
    assert work.title == "The Bedroom"
    assert work.artist_display == "Vincent van Gogh (Dutch, 1853–1890)"
    credit = work.credits.select_related("artist").get()
    assert (credit.artist.name, credit.artist.nationality) == ("Vincent van Gogh", "Dutch")
    assert (work.date_display, work.year_start, work.decade) == ("1889", 1889, 1880)
    assert work.medium == "Oil on canvas"
    assert work.rights == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert work.credit_line == "Helen Birch Bartlett Memorial Collection"
    assert work.source_url == "https://museum.example/artworks/28560"
    assert work.iiif_manifest_url == "https://museum.example/iiif/2/1890.12/manifest"
    assert sorted(work.motifs) == ["bed", "interior"]
    assert (work.image.width, work.image.height) == (80, 50)
    assert work.image.derivatives_complete()


def test_it_imports_a_v3_manifest_file_and_re_importing_it_changes_nothing(tmp_path, website):
    image_url = website.add("images/skrik.png", image_bytes("PNG", size=(40, 60), colour=(220, 120, 30)))
    manifest = tmp_path / "skrik.json"
    manifest.write_text(json.dumps(manifest_v3(image_url)))

    first = run_import(manifest)
    second = run_import(manifest)

    assert "created 1" in first
    assert "created 0, updated 0, unchanged 1, rejected 0" in second
    work = Artwork.objects.get()
    # No accession number in the metadata: a stable one derived from the manifest id.
    assert work.accession_number.startswith("iiif-")
    assert work.title == "The Scream"
    assert work.credits.get().artist.name == "Edvard Munch"
    assert (work.year_start, work.year_end) == (1893, 1893)
    assert work.rights == "http://rightsstatements.org/vocab/NoC-NC/1.0/"
    assert work.credit_line == "The National Museum, Oslo"
    assert work.source_url == "https://museum.example/objects/skrik"
    assert work.iiif_manifest_url == "https://museum.example/iiif/3/skrik/manifest.json"
    assert work.styles == ["Expressionism"]
    assert (work.image.width, work.image.height, work.image.content_type) == (40, 60, "image/png")


def test_a_manifest_whose_image_cannot_be_fetched_is_reported_as_a_rejected_row(website):
    manifest_url = website.add("m.json", json.dumps(manifest_v3(website.url("images/missing.png"))))

    output = run_import(manifest_url)

    assert "rejected 1" in output
    assert f"image URL {website.url('images/missing.png')} answered HTTP 404" in output
    assert not Artwork.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(lambda m: m.update(items=[]), "the manifest has no canvases (items)", id="v3-no-canvases"),
        pytest.param(
            lambda m: m["items"][0].update(items=[]),
            "the manifest has no annotation page on its first canvas",
            id="v3-empty-canvas",
        ),
        pytest.param(lambda m: m.update(label={}), "the manifest has no label (title)", id="v3-no-label"),
        pytest.param(lambda m: m.update(metadata="Munch"), "metadata is not a list", id="v3-bad-metadata"),
    ],
)
def test_a_malformed_v3_manifest_is_refused_with_a_clear_error(tmp_path, change, message):
    doc = manifest_v3("http://127.0.0.1:9/x.png")
    change(doc)
    manifest = tmp_path / "bad.json"
    manifest.write_text(json.dumps(doc))

    with pytest.raises(CommandError) as caught:
        run_import(manifest)

    assert str(caught.value) == f"{manifest}: {message}"
    assert not Artwork.objects.exists()


def test_a_v2_manifest_without_canvases_is_refused(tmp_path):
    doc = manifest_v2("http://127.0.0.1:9/iiif/x")
    doc["sequences"][0]["canvases"] = []
    manifest = tmp_path / "bad.json"
    manifest.write_text(json.dumps(doc))

    with pytest.raises(CommandError, match="the manifest has no canvases"):
        run_import(manifest)
    assert not Artwork.objects.exists()


def test_a_json_document_that_is_not_a_manifest_is_refused(tmp_path):
    doc = tmp_path / "thing.json"
    doc.write_text(json.dumps({"type": "Collection", "label": "Not a manifest"}))

    with pytest.raises(
        CommandError, match="expected a list of artworks, an object with 'artworks', or a IIIF manifest"
    ):
        run_import(doc)


def test_read_manifest_refuses_what_is_not_a_manifest():
    with pytest.raises(iiif.ManifestError, match="not a IIIF Presentation manifest"):
        iiif.read_manifest({"@context": "https://schema.org", "name": "A painting"})


def test_read_manifest_takes_english_from_a_language_map_and_joins_lists():
    doc = manifest_v3("https://images.example/x.jpg")
    doc["label"] = {"fr": ["Le Cri"], "en": ["The Scream", "Skrik"]}

    record = iiif.read_manifest(doc)

    assert record["title"] == "The Scream; Skrik"
    assert record["image"] == "https://images.example/x.jpg"


def test_read_manifest_takes_one_language_from_v2_language_tagged_values():
    doc = manifest_v2("https://images.example/iiif/x")
    doc["label"] = [{"@value": "Le Cri", "@language": "fr"}, {"@value": "The Scream", "@language": "en"}]
    doc["metadata"].append({"label": "Credit Line", "value": [{"@value": "Gift", "@language": "en"}]})

    record = iiif.read_manifest(doc)

    assert record["title"] == "The Scream"
    assert record["credit_line"] == "Gift"
    assert record["image"] == "https://images.example/iiif/x/full/!3000,3000/0/default.jpg"
