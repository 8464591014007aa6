"""The REST API under /api/v1/: listing, filters, visibility, tokens, rate limits, uploads, schema and CORS."""

from __future__ import annotations

import io

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from collection.models import Artwork, PartnerToken
from tests.factories import ArtistFactory, ArtworkFactory, CreditFactory, LabelFactory, artwork_with_image, image_bytes

pytestmark = pytest.mark.django_db

LIST = "/api/v1/artworks/"


def detail(accession: str) -> str:
    return f"{LIST}{accession}/"


def token_header(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


@pytest.fixture
def works(db) -> dict[str, Artwork]:
    monet = ArtistFactory(name="Claude Monet", nationality="French", birth_year=1840, death_year=1926)
    dyck = ArtistFactory(name="Anthony van Dyck", nationality="Flemish", birth_year=1599, death_year=1641)
    haystacks = ArtworkFactory(
        accession_number="1880.1",
        title="Haystacks at Sunset",
        artist_display="Claude Monet (French, 1840–1926)",
        date_display="1885",
        year_start=1885,
        year_end=1885,
        decade=1880,
    )
    CreditFactory(artwork=haystacks, artist=monet)
    haystacks.labels.add(LabelFactory(kind="style", name="Impressionism"), LabelFactory(kind="motif", name="landscape"))
    lady = ArtworkFactory(
        accession_number="1630.7",
        title="Portrait of a Lady",
        artist_display="Attributed to Anthony van Dyck",
        date_display="c. 1631",
        year_start=1631,
        year_end=1631,
        decade=1630,
    )
    CreditFactory(artwork=lady, artist=dyck, qualifier="Attributed to")
    lady.labels.add(LabelFactory(kind="style", name="Baroque"), LabelFactory(kind="motif", name="portrait"))
    hands = ArtworkFactory(
        accession_number="1900.3",
        title="Study of Hands",
        artist_display="Unknown",
        classification="drawing",
        medium="Charcoal on paper",
        date_display="1898–1902",
        year_start=1898,
        year_end=1902,
        decade=1900,
    )
    hands.labels.add(LabelFactory(kind="motif", name="hands"))
    secret = ArtworkFactory(
        accession_number="1999.9",
        title="Secret Sketch",
        artist_display="Claude Monet",
        classification="drawing",
        date_display="1895",
        year_start=1895,
        year_end=1895,
        decade=1890,
        published=False,
    )
    return {"haystacks": haystacks, "lady": lady, "hands": hands, "secret": secret}


def accessions(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["accession_number"] for item in response.json()["results"]]


def test_anonymous_visitors_list_published_works_only(api_client, works):
    response = api_client.get(LIST)

    body = response.json()
    assert body["count"] == 3
    assert sorted(accessions(response)) == ["1630.7", "1880.1", "1900.3"]
    first = body["results"][0]
    assert first["url"] == "http://testserver/api/v1/artworks/1630.7/"
    assert first["artists"] == [
        {
            "name": "Anthony van Dyck",
            "qualifier": "Attributed to",
            "nationality": "Flemish",
            "birth_year": 1599,
            "death_year": 1641,
        }
    ]
    assert first["styles"] == ["Baroque"] and first["motifs"] == ["portrait"]
    assert first["images"] is None
    assert "published" not in first and "processing" not in first


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=haystacks", ["1880.1"]),
        ("q=sunset monet", ["1880.1"]),
        ("q=portrait", ["1630.7"]),
        ("q=charcoal", ["1900.3"]),
        ("q=1630.7", ["1630.7"]),
        ("artist=monet", ["1880.1"]),
        ("artist=van dyck", ["1630.7"]),
        ("decade=1630", ["1630.7"]),
        ("year_min=1890", ["1900.3"]),
        ("year_max=1700", ["1630.7"]),
        ("year_min=1600&year_max=1890", ["1630.7", "1880.1"]),
        ("year_min=1900&year_max=1900", ["1900.3"]),
        ("classification=drawing", ["1900.3"]),
        ("style=impressionism", ["1880.1"]),
        ("motif=hands", ["1900.3"]),
        ("motif=Baroque", []),  # a style is not a motif
        ("q=secret", []),  # unpublished stays hidden whatever the filter
    ],
)
def test_the_list_can_be_filtered(api_client, works, query, expected):
    assert sorted(accessions(api_client.get(f"{LIST}?{query}"))) == expected


def test_an_invalid_filter_value_is_a_400(api_client, works):
    response = api_client.get(f"{LIST}?classification=spaceship")

    assert response.status_code == 400
    assert "classification" in response.json()["errors"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("year_start", ["1630.7", "1880.1", "1900.3"]),
        ("-year_start", ["1900.3", "1880.1", "1630.7"]),
        ("title", ["1880.1", "1630.7", "1900.3"]),
        ("-accession_number", ["1900.3", "1880.1", "1630.7"]),
    ],
)
def test_the_list_can_be_ordered(api_client, works, ordering, expected):
    assert accessions(api_client.get(f"{LIST}?ordering={ordering}")) == expected


def test_the_list_is_paginated(api_client, works):
    first = api_client.get(f"{LIST}?page_size=2").json()
    second = api_client.get(f"{LIST}?page_size=2&page=2").json()

    assert first["count"] == second["count"] == 3
    assert [w["accession_number"] for w in first["results"]] == ["1630.7", "1880.1"]
    assert first["next"] == "http://testserver/api/v1/artworks/?page=2&page_size=2"
    assert first["previous"] is None
    assert [w["accession_number"] for w in second["results"]] == ["1900.3"]
    assert second["next"] is None
    assert api_client.get(f"{LIST}?page=9").status_code == 404


def test_an_unknown_query_parameter_is_a_400_naming_it(api_client, works):
    response = api_client.get(f"{LIST}?colour=red&decade=1880")

    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Unknown query parameter(s): colour."
    assert "decade" in body["allowed"] and "q" in body["allowed"]


def test_the_detail_is_found_by_accession_number_and_has_image_urls_for_each_size(api_client, settings):
    work = artwork_with_image(
        image_bytes("JPEG", size=(90, 60)),
        accession_number="1961.1",
        title="Sunflowers",
        dimensions="92 × 73 cm",
        rights="CC0",
    )

    response = api_client.get(detail("1961.1"))

    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Sunflowers"
    assert body["dimensions"] == "92 × 73 cm" and body["rights"] == "CC0"
    assert set(body["images"]) == {*settings.IMAGE_SIZES, "width", "height"}
    assert (body["images"]["width"], body["images"]["height"]) == (90, 60)
    for name in settings.IMAGE_SIZES:
        assert body["images"][name] == work.image.url(name)
        assert body["images"][name].endswith(f"/{name}.webp")


def test_an_unpublished_or_unknown_work_is_not_found_for_anonymous_visitors(api_client, works):
    assert api_client.get(detail("1999.9")).status_code == 404
    assert api_client.get(detail("nope")).status_code == 404


def test_curators_see_unpublished_works_with_their_processing_state(api_client, works, curator):
    api_client.force_login(curator)

    listing = api_client.get(LIST)
    secret = api_client.get(detail("1999.9"))

    assert "1999.9" in accessions(listing)
    assert listing.json()["count"] == 4
    assert secret.status_code == 200
    assert secret.json()["published"] is False
    assert secret.json()["processing"] == {"status": "", "stage": "", "error": ""}


def test_staff_outside_the_curators_group_do_not_see_unpublished_works(api_client, works):
    from django.contrib.auth.models import User

    api_client.force_login(User.objects.create_user("clerk", password="pw-clerk-123", is_staff=True))

    assert api_client.get(detail("1999.9")).status_code == 404
    assert api_client.patch(detail("1880.1"), {"title": "Mine now"}, format="json").status_code == 403


def test_a_curator_can_edit_through_the_api_with_a_session(api_client, works, curator):
    api_client.force_login(curator)

    response = api_client.patch(detail("1999.9"), {"published": True}, format="json")

    assert response.status_code == 200
    assert Artwork.objects.get(accession_number="1999.9").published is True


def test_a_read_token_can_read_published_works_but_not_write(api_client, works):
    _, key = PartnerToken.issue("Museum app", scope="read")
    api_client.credentials(**token_header(key))

    assert sorted(accessions(api_client.get(LIST))) == ["1630.7", "1880.1", "1900.3"]
    assert api_client.get(detail("1999.9")).status_code == 404  # tokens never see unpublished works
    created = api_client.post(LIST, {"accession_number": "X1", "title": "New"}, format="json")
    patched = api_client.patch(detail("1880.1"), {"title": "Renamed"}, format="json")

    assert created.status_code == 403
    assert patched.status_code == 403
    assert created.json()["detail"] == "Writing requires a curator account or a token with the write scope."
    assert not Artwork.objects.filter(accession_number="X1").exists()
    assert Artwork.objects.get(accession_number="1880.1").title == "Haystacks at Sunset"


def test_a_write_token_can_create_a_work_whose_date_and_artist_are_parsed(api_client):
    _, key = PartnerToken.issue("Registrar", scope="write")
    api_client.credentials(**token_header(key))

    response = api_client.post(
        LIST,
        {
            "accession_number": "2024.1",
            "title": "Helena Tromper Du Bois",
            "artist": "Attributed to Anthony van Dyck (Flemish, 1599–1641)",
            "date": "c. 1631",
            "styles": ["Baroque"],
            "motifs": ["portrait"],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["year_start"], body["year_end"], body["decade"]) == (1631, 1631, 1630)
    assert body["artists"][0]["qualifier"] == "Attributed to"
    assert body["artists"][0]["name"] == "Anthony van Dyck"
    assert body["styles"] == ["Baroque"] and body["motifs"] == ["portrait"]
    assert Artwork.objects.get(accession_number="2024.1").published is True


def test_a_write_token_patch_with_a_new_date_re_parses_the_years(api_client, works):
    _, key = PartnerToken.issue("Registrar", scope="write")
    api_client.credentials(**token_header(key))

    response = api_client.patch(detail("1880.1"), {"date": "1872–76"}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["year_start"], response.json()["year_end"], response.json()["decade"]) == (1872, 1876, 1870)
    work = Artwork.objects.get(accession_number="1880.1")
    assert (work.date_display, work.year_start, work.year_end) == ("1872–76", 1872, 1876)
    assert work.title == "Haystacks at Sunset"  # untouched fields stay
    assert work.styles == ["Impressionism"]
    assert work.credits.get().artist.name == "Claude Monet"


def test_the_api_refuses_a_duplicate_accession_number_and_an_empty_title(api_client, works):
    _, key = PartnerToken.issue("Registrar", scope="write")
    api_client.credentials(**token_header(key))

    duplicate = api_client.post(LIST, {"accession_number": "1880.1", "title": "Again"}, format="json")
    untitled = api_client.post(LIST, {"accession_number": "X2", "title": ""}, format="json")

    assert duplicate.status_code == 400
    assert "1880.1" in str(duplicate.json())
    assert untitled.status_code == 400
    assert "title" in untitled.json()["errors"]
    assert Artwork.objects.get(accession_number="1880.1").title == "Haystacks at Sunset"


def test_each_token_has_its_own_rate_limit(api_client, works):
    _, limited = PartnerToken.issue("Chatty app", rate="3/minute")
    _, other = PartnerToken.issue("Quiet app", rate="3/minute")

    statuses = [api_client.get(LIST, **token_header(limited)).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert api_client.get(LIST, **token_header(other)).status_code == 200
    assert "Retry-After" in api_client.get(LIST, **token_header(limited))


def test_an_invalid_or_revoked_token_is_a_401(api_client, works):
    token, key = PartnerToken.issue("Former partner")
    token.active = False
    token.save()

    for header in (f"Token {key}", "Token not-a-real-key", "Token two words"):
        response = api_client.get(LIST, HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"


def test_using_a_token_records_when_it_was_last_used(api_client, works):
    token, key = PartnerToken.issue("Museum app")
    assert token.last_used is None

    api_client.get(LIST, **token_header(key))

    token.refresh_from_db()
    assert token.last_used is not None


def test_an_image_upload_attaches_the_picture_and_the_detail_shows_its_urls(api_client, works, stored_keys):
    _, key = PartnerToken.issue("Registrar", scope="write")
    upload = SimpleUploadedFile("haystacks.jpg", image_bytes("JPEG", size=(80, 40)), content_type="image/jpeg")

    response = api_client.post(f"{detail('1880.1')}image/", {"image": upload}, format="multipart", **token_header(key))

    assert response.status_code == 200, response.content
    images = response.json()["images"]
    assert (images["width"], images["height"]) == (80, 40)
    assert all(images[name] for name in ("thumb", "medium", "large"))
    assert api_client.get(detail("1880.1")).json()["images"] == images
    assert len(stored_keys()) == 4  # the original and three derivatives


def test_an_html_page_uploaded_as_jpg_is_a_400_naming_the_problem(api_client, works, stored_keys):
    _, key = PartnerToken.issue("Registrar", scope="write")
    upload = SimpleUploadedFile("haystacks.jpg", b"<!doctype html><title>Login</title>", content_type="image/jpeg")

    response = api_client.post(f"{detail('1880.1')}image/", {"image": upload}, format="multipart", **token_header(key))

    assert response.status_code == 400
    assert "haystacks.jpg: not a recognisable image" in response.json()["errors"]["image"]
    assert Artwork.objects.get(accession_number="1880.1").image is None
    assert stored_keys() == []


def test_uploading_an_image_needs_write_access(api_client, works):
    _, key = PartnerToken.issue("Museum app", scope="read")
    upload = SimpleUploadedFile("a.jpg", image_bytes("JPEG"), content_type="image/jpeg")

    anonymous = api_client.post(f"{detail('1880.1')}image/", {"image": upload}, format="multipart")
    read_only = api_client.post(f"{detail('1880.1')}image/", {"image": upload}, format="multipart", **token_header(key))

    assert anonymous.status_code == 401
    assert read_only.status_code == 403
    assert Artwork.objects.get(accession_number="1880.1").image is None


def test_the_openapi_schema_is_generated_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--fail-on-warn", "--file", str(target), stdout=io.StringIO(), stderr=io.StringIO())

    schema = yaml.safe_load(target.read_text())
    assert "/api/v1/artworks/" in schema["paths"]
    assert "/api/v1/artworks/{accession_number}/image/" in schema["paths"]
    assert "partnerToken" in schema["components"]["securitySchemes"]


def test_the_schema_endpoint_and_the_docs_page_load(api_client):
    schema = api_client.get("/api/v1/schema/")
    docs = api_client.get("/api/docs/")

    assert schema.status_code == 200
    assert b"/api/v1/artworks/" in schema.content
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_cors_allows_only_the_configured_origins(api_client, works, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://partner.example"]

    allowed = api_client.get(LIST, HTTP_ORIGIN="https://partner.example")
    other = api_client.get(LIST, HTTP_ORIGIN="https://evil.example")
    preflight = api_client.options(
        LIST, HTTP_ORIGIN="https://partner.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )

    assert allowed["Access-Control-Allow-Origin"] == "https://partner.example"
    assert "Access-Control-Allow-Origin" not in other
    assert other.status_code == 200  # CORS is for browsers; the server still answers
    assert preflight["Access-Control-Allow-Origin"] == "https://partner.example"


def test_cors_headers_are_only_sent_for_the_api(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://partner.example"]

    response = client.get("/", HTTP_ORIGIN="https://partner.example")

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


# --- Detected objects -------------------------------------------------------------------------


@pytest.fixture
def detected(works) -> dict[str, Artwork]:
    """Horses in two published works and in the unpublished one, a dog in one, and an untrusted boat."""
    from analysis.models import Detection

    def found(work: Artwork, label: str, score: float, *, trusted: bool = True) -> None:
        version = "torchvision-0.28/fasterrcnn/coco" if trusted else "torchvision-0.28/fasterrcnn/random-weights"
        Detection.objects.create(
            artwork=work,
            detector_version=version,
            label=label,
            score=score,
            x0=0.1,
            y0=0.2,
            x1=0.6,
            y1=0.9,
            trusted=trusted,
        )

    found(works["haystacks"], "horse", 0.9)
    found(works["haystacks"], "horse", 0.6)
    found(works["haystacks"], "person", 0.8)
    found(works["lady"], "horse", 0.7)
    found(works["lady"], "dog", 0.55)
    found(works["secret"], "horse", 0.95)
    found(works["secret"], "dog", 0.9)
    found(works["hands"], "boat", 0.99, trusted=False)
    return works


def test_the_detail_lists_the_works_trusted_objects_best_first(api_client, detected):
    objects = api_client.get(detail("1880.1")).json()["objects"]

    assert objects == [
        {"label": "horse", "score": 0.9, "box": [0.1, 0.2, 0.6, 0.9]},
        {"label": "person", "score": 0.8, "box": [0.1, 0.2, 0.6, 0.9]},
        {"label": "horse", "score": 0.6, "box": [0.1, 0.2, 0.6, 0.9]},
    ]
    assert api_client.get(detail("1900.3")).json()["objects"] == []  # untrusted output is never shown


def test_the_list_does_not_carry_objects(api_client, detected):
    assert all("objects" not in item for item in api_client.get(LIST).json()["results"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("object=horse", ["1630.7", "1880.1"]),
        ("object=HORSE", ["1630.7", "1880.1"]),  # labels match whatever the case
        ("object=dog", ["1630.7"]),  # the unpublished work with a dog stays hidden
        ("object=boat", []),  # untrusted detections do not count
        ("object=hor", []),  # a label, not part of one
        ("object=horse&decade=1630", ["1630.7"]),
    ],
)
def test_the_list_can_be_filtered_by_a_detected_object(api_client, detected, query, expected):
    assert sorted(accessions(api_client.get(f"{LIST}?{query}"))) == expected


def test_curators_filter_unpublished_works_by_object_too(api_client, detected, curator):
    api_client.force_login(curator)

    assert sorted(accessions(api_client.get(f"{LIST}?object=dog"))) == ["1630.7", "1999.9"]
    assert api_client.get(detail("1999.9")).json()["objects"][0]["label"] == "horse"


def test_the_objects_endpoint_counts_published_works_per_trusted_label(api_client, detected):
    response = api_client.get("/api/v1/objects/")

    assert response.status_code == 200
    assert response.json() == [
        {"label": "horse", "count": 2},
        {"label": "dog", "count": 1},
        {"label": "person", "count": 1},
    ]
    assert api_client.get("/api/v1/objects/", {"q": "Ho"}).json() == [{"label": "horse", "count": 2}]
    assert api_client.get("/api/v1/objects/", {"q": "zebra"}).json() == []


def test_the_objects_endpoint_is_empty_before_trusted_detection_ran(api_client, works):
    from analysis.models import Detection

    Detection.objects.create(
        artwork=works["lady"],
        detector_version="random-weights",
        label="dog",
        score=0.9,
        x0=0,
        y0=0,
        x1=1,
        y1=1,
        trusted=False,
    )

    assert api_client.get("/api/v1/objects/").json() == []


def test_the_objects_endpoint_refuses_unknown_parameters_and_overlong_prefixes(api_client, detected):
    unknown = api_client.get("/api/v1/objects/", {"page": 2})
    assert unknown.status_code == 400 and "page" in unknown.json()["detail"]
    assert api_client.get("/api/v1/objects/", {"q": "x" * 101}).status_code == 400


def test_the_map_highlights_works_by_object(api_client, detected):
    from maps.models import Map, MapBuild, MapPoint

    map_obj = Map.objects.create(slug="all", title="All works")
    build = MapBuild.objects.create(map=map_obj, version=1, feature_version="f")
    for i, work in enumerate(detected.values()):
        MapPoint.objects.create(build=build, artwork=work, x=0.1 * i, y=0.0)
    map_obj.go_live(build)

    data = api_client.get("/api/v1/maps/all/match/", {"object": "Horse"}).json()

    assert data["ignored"] == []
    assert data["ids"] == sorted([detected["haystacks"].pk, detected["lady"].pk])
    assert "object" in api_client.get("/api/v1/maps/all/").json()["filters"]


def test_the_schema_describes_the_objects_endpoint_and_the_detail_field(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(target), stdout=io.StringIO(), stderr=io.StringIO())
    schema = yaml.safe_load(target.read_text())

    objects_get = schema["paths"]["/api/v1/objects/"]["get"]
    assert [p["name"] for p in objects_get["parameters"]] == ["q"]
    list_params = [p["name"] for p in schema["paths"]["/api/v1/artworks/"]["get"]["parameters"]]
    assert "object" in list_params
    assert "objects" in schema["components"]["schemas"]["ArtworkDetail"]["properties"]


# --- Two editors on one work: ETag and If-Match ---------------------------------------------------


@pytest.fixture
def registrar(api_client):
    _, key = PartnerToken.issue("Registrar", scope="write")
    api_client.credentials(**token_header(key))
    return api_client


def test_the_detail_carries_the_works_version_as_its_etag(registrar, works):
    response = registrar.get(detail("1880.1"))

    assert response.status_code == 200
    assert response["ETag"] == '"v1"'


def test_a_patch_with_the_current_if_match_saves_and_answers_with_the_new_etag(registrar, works):
    etag = registrar.get(detail("1880.1"))["ETag"]

    response = registrar.patch(detail("1880.1"), {"title": "Haystacks, Evening"}, format="json", HTTP_IF_MATCH=etag)

    assert response.status_code == 200, response.content
    assert response["ETag"] == '"v2"'
    assert Artwork.objects.get(accession_number="1880.1").title == "Haystacks, Evening"


def test_a_patch_with_a_stale_if_match_is_a_412_telling_the_editor_and_saves_nothing(registrar, works):
    etag = registrar.get(detail("1880.1"))["ETag"]
    assert (
        registrar.patch(detail("1880.1"), {"title": "First editor's"}, format="json", HTTP_IF_MATCH=etag).status_code
        == 200
    )

    response = registrar.put(
        detail("1880.1"),
        {"accession_number": "1880.1", "title": "Second editor's", "medium": "Pastel"},
        format="json",
        HTTP_IF_MATCH=etag,
    )

    assert response.status_code == 412
    assert response.json()["detail"].startswith(
        'The work was changed by someone else since you read it (If-Match: "v1"; it is now "v2"). Nothing was saved'
    )
    work = Artwork.objects.get(accession_number="1880.1")
    assert (work.title, work.medium, work.version) == ("First editor's", "Oil on canvas", 2)


def test_a_save_that_loses_the_race_after_its_if_match_was_checked_is_refused_too(works):
    from collection import services
    from collection.models import StaleVersion

    read_by_editor = Artwork.objects.get(accession_number="1880.1")
    services.save_artwork({"title": "Someone else's"}, existing=Artwork.objects.get(accession_number="1880.1"))

    with pytest.raises(StaleVersion):
        services.save_artwork({"medium": "Pastel"}, existing=read_by_editor, expected_version=read_by_editor.version)
    work = Artwork.objects.get(accession_number="1880.1")
    assert (work.title, work.medium) == ("Someone else's", "Oil on canvas")


def test_a_patch_without_if_match_does_not_write_back_fields_someone_changed_meanwhile(works):
    from collection import services

    read_by_editor = Artwork.objects.get(accession_number="1880.1")
    services.save_artwork({"medium": "Pastel"}, existing=Artwork.objects.get(accession_number="1880.1"))

    services.save_artwork({"title": "Haystacks, Evening"}, existing=read_by_editor)

    work = Artwork.objects.get(accession_number="1880.1")
    assert (work.title, work.medium) == ("Haystacks, Evening", "Pastel")


def test_a_patch_of_the_title_keeps_artist_credits_a_curator_fixed_by_hand(registrar, works):
    haystacks = works["haystacks"]
    haystacks.credits.update(qualifier="Studio of")

    response = registrar.patch(detail("1880.1"), {"title": "Haystacks, Evening"}, format="json")

    assert response.status_code == 200, response.content
    assert haystacks.credits.get().qualifier == "Studio of"


def test_the_api_refuses_more_motifs_or_longer_motifs_than_the_import_allows(registrar, works):
    from collection.models import LABEL_NAME_MAX_LENGTH, MAX_MOTIFS

    too_many = registrar.patch(detail("1880.1"), {"motifs": [f"m{n}" for n in range(MAX_MOTIFS + 1)]}, format="json")
    too_long = registrar.patch(detail("1880.1"), {"motifs": ["x" * (LABEL_NAME_MAX_LENGTH + 1)]}, format="json")

    assert too_many.status_code == 400
    assert f"no more than {MAX_MOTIFS} elements" in str(too_many.json())
    assert too_long.status_code == 400
    assert f"no more than {LABEL_NAME_MAX_LENGTH} characters" in str(too_long.json())
    assert Artwork.objects.get(accession_number="1880.1").motifs == ["landscape"]
