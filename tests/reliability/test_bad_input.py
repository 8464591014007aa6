"""Bad input not covered elsewhere: huge and oddly tagged images, URLs that never finish, API misuse.

The rest of the checklist (docs/reliability.md) lives next to the code it tests, in tests/collection/.
"""

from __future__ import annotations

import io
import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from collection import images, sources
from collection.models import Artwork, ImageFile, PartnerToken
from tests.factories import ArtworkFactory, image_bytes

pytestmark = pytest.mark.django_db


# --- Images ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_100_megapixel_image_within_the_pixel_limit_is_stored_with_small_derivatives(settings):
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000), 1).save(out, "PNG")  # 100 megapixels, a few kB on disk
    assert settings.IMAGE_MAX_PIXELS >= 100_000_000

    record = images.ingest(out.getvalue(), name="huge.png")

    assert (record.width, record.height) == (10_000, 10_000)
    assert record.derivatives_complete()


def test_a_100_megapixel_image_above_a_lower_pixel_limit_is_refused_with_its_size(settings):
    settings.IMAGE_MAX_PIXELS = 60_000_000
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000), 1).save(out, "PNG")

    with pytest.raises(images.ImageRejected, match="huge.png: refused as a possible decompression bomb|100 megapixels"):
        images.ingest(out.getvalue(), name="huge.png")
    assert not ImageFile.objects.exists()


@pytest.mark.parametrize("orientation", [0, 9, 65535], ids=["zero", "nine", "out-of-range"])
def test_an_image_with_a_meaningless_exif_orientation_is_kept_as_stored(orientation, caplog):
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    Image.new("RGB", (60, 30), (30, 90, 200)).save(out, "JPEG", exif=exif.tobytes())

    with caplog.at_level(logging.WARNING):
        record = images.ingest(out.getvalue(), name="odd-exif.jpg")

    assert (record.width, record.height) == (60, 30)


def test_an_image_with_corrupt_exif_bytes_is_still_stored():
    good = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(good, "JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff")

    record = images.ingest(good.getvalue(), name="broken-exif.jpg")

    assert (record.width, record.height) == (40, 20)


def test_a_png_named_jpg_is_stored_as_what_its_bytes_are():
    record = images.ingest(image_bytes("PNG", colour=(1, 2, 3)), name="really-a-png.jpg")

    assert record.content_type == "image/png"
    assert record.original.endswith(".png")


# --- URLs that never finish ---------------------------------------------------------------------


@pytest.fixture
def dripping_server(settings) -> Iterator[str]:
    """Answers 200 and then sends one byte every 0.2 s, for ever: every read succeeds, the body never ends.

    It listens on loopback, which imports may reach only when the deployment allows it explicitly."""
    settings.IMPORT_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n\r\n")
            while not stop.is_set():
                conn.sendall(b"\xff")
                time.sleep(0.2)
        except OSError:
            pass
        finally:
            conn.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/slow.jpg"
    stop.set()
    listener.close()


def test_a_url_that_drips_forever_is_given_up_after_the_fetch_time_limit(dripping_server, settings):
    settings.IMAGE_FETCH_TIMEOUT = 1.5
    started = time.monotonic()

    with pytest.raises(
        sources.SourceError, match=r"image URL .*/slow.jpg could not be fetched: refused by policy or not reachable"
    ):
        sources.fetch_url(dripping_server)

    assert time.monotonic() - started < 5


def test_an_import_row_whose_image_url_never_finishes_is_rejected_and_the_others_import(
    dripping_server, settings, tmp_path
):
    from django.core.management import call_command

    settings.IMAGE_FETCH_TIMEOUT = 1.0
    csv_file = tmp_path / "works.csv"
    csv_file.write_text(f"id,title,image_url\nS1,Slow,{dripping_server}\nS2,Fine,\n")
    out = io.StringIO()

    call_command("import_collection", str(csv_file), "--no-progress", stdout=out)

    assert (
        f"rejected line 2 (S1): image URL {dripping_server} could not be fetched: refused by policy or not reachable"
        in out.getvalue()
    )
    assert list(Artwork.objects.values_list("accession_number", flat=True)) == ["S2"]


# --- API misuse ---------------------------------------------------------------------------------


@pytest.fixture
def writer(api_client):
    _, key = PartnerToken.issue("partner", scope=PartnerToken.Scope.WRITE)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api_client


def test_an_upload_above_the_size_cap_is_a_413_naming_the_limit_and_stores_nothing(writer, settings):
    work = ArtworkFactory(accession_number="UP.1")
    settings.IMAGE_MAX_UPLOAD_BYTES = 2000
    upload = SimpleUploadedFile(
        "big.png", image_bytes("PNG", size=(300, 300), compress_level=0), content_type="image/png"
    )

    response = writer.post(f"/api/v1/artworks/{work.accession_number}/image/", {"image": upload}, format="multipart")

    # Refused by its declared length before it is read (collection.middleware); the limit is named.
    assert response.status_code == 413
    assert "an image upload accepts at most 0.1 MB (67536 bytes)" in response.json()["detail"]
    assert not ImageFile.objects.exists()


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        pytest.param("/api/v1/artworks/UP.1/image/", b'{"image": "x"}', "application/json", id="json-to-upload"),
        pytest.param("/api/v1/artworks/", b"title=Sneaky", "text/plain", id="text-to-create"),
        pytest.param("/api/v1/artworks/", b"<xml/>", "application/xml", id="xml-to-create"),
    ],
)
def test_a_body_in_a_content_type_the_endpoint_does_not_take_is_a_415(writer, path, body, content_type):
    ArtworkFactory(accession_number="UP.1")

    response = writer.generic("POST", path, body, content_type=content_type)

    assert response.status_code == 415
    assert content_type in response.json()["detail"]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        pytest.param("/api/v1/artworks/?page=0", 404, id="page-zero"),
        pytest.param("/api/v1/artworks/?page=99999", 404, id="page-past-the-end"),
        pytest.param("/api/v1/artworks/?page=-1", 404, id="negative-page"),
        pytest.param("/api/v1/artworks/?decade=nineteenth", 400, id="decade-not-a-number"),
        pytest.param("/api/v1/artworks/?classification=spaceship", 400, id="unknown-classification"),
        pytest.param("/api/v1/artworks/?ordering=password", 200, id="unknown-ordering-ignored"),
        pytest.param("/api/v1/artworks/?q=" + "x" * 201, 400, id="search-too-long"),
        pytest.param("/api/v1/artworks/?colour=red", 400, id="unknown-filter"),
        pytest.param("/api/v1/artworks/UP.1/similar/?k=101", 400, id="k-above-100"),
        pytest.param("/api/v1/artworks/UP.1/similar/?k=-3", 400, id="k-negative"),
        pytest.param("/api/v1/decades/99999999999999999999/?map=all", 404, id="huge-decade"),
        pytest.param("/api/v1/maps/nowhere/points/", 404, id="unknown-map"),
    ],
)
def test_out_of_range_or_unknown_parameters_get_a_clear_4xx(api_client, url, status):
    ArtworkFactory(accession_number="UP.1")

    response = api_client.get(url)

    assert response.status_code == status, response.content
    if status == 400:
        assert response.json()["detail"]


def test_page_size_is_capped(api_client):
    ArtworkFactory.create_batch(3)

    response = api_client.get("/api/v1/artworks/?page_size=1000000")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


def test_a_session_post_without_a_csrf_token_is_refused(curator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(curator)

    response = client.post("/api/v1/artworks/", {"accession_number": "C.1", "title": "Forged"})

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Artwork.objects.filter(accession_number="C.1").exists()


def test_anonymous_visitors_are_rate_limited(api_client, monkeypatch):
    from collection.api.auth import AnonThrottle

    # DRF binds the rates to the class when it is defined, so the class attribute is what to change.
    monkeypatch.setattr(AnonThrottle, "THROTTLE_RATES", {**AnonThrottle.THROTTLE_RATES, "anon": "3/minute"})

    codes = [api_client.get("/api/v1/artworks/").status_code for _ in range(5)]

    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]


def test_a_read_token_cannot_upload_or_edit(api_client):
    work = ArtworkFactory(accession_number="R.1")
    _, key = PartnerToken.issue("reader", scope=PartnerToken.Scope.READ)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    patch = api_client.patch(f"/api/v1/artworks/{work.accession_number}/", {"title": "Changed"}, format="json")
    upload = api_client.post(
        f"/api/v1/artworks/{work.accession_number}/image/",
        {"image": SimpleUploadedFile("a.jpg", image_bytes("JPEG"), content_type="image/jpeg")},
        format="multipart",
    )

    assert (patch.status_code, upload.status_code) == (403, 403)
    work.refresh_from_db()
    assert work.title != "Changed" and work.image is None


def test_behind_one_proxy_each_visitor_has_their_own_rate_limit(api_client, monkeypatch, settings):
    """The proxy's address is every request's REMOTE_ADDR; the visitor is the last X-Forwarded-For entry."""
    from collection.api.auth import AnonThrottle

    monkeypatch.setattr(AnonThrottle, "THROTTLE_RATES", {**AnonThrottle.THROTTLE_RATES, "anon": "2/minute"})
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    def get(visitor: str) -> int:
        return api_client.get(
            "/api/v1/artworks/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"203.0.113.9, {visitor}"
        ).status_code

    greedy = [get("198.51.100.7") for _ in range(3)]
    other = get("198.51.100.8")

    assert greedy == [200, 200, 429]
    assert other == 200
