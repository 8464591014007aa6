"""Nobody can exhaust the server: photo bombs, queued photos, oversized bodies and search floods.

Each test sends what an abusive (or careless) client sends and checks what it costs the server:
nothing decoded at full size, nothing of a photo left in Redis, no body read before its refusal,
no unthrottled search.
"""

from __future__ import annotations

import datetime
import io
import json
import struct
import threading
import time
import zlib
from collections.abc import Iterator

import numpy as np
import pytest
import redis as redis_lib
from django.core.files.uploadedfile import SimpleUploadedFile
from kombu import Connection, Queue
from PIL import Image, ImageFile

from collection.models import ImageFile as ImageRecord
from collection.models import PartnerToken
from tests.factories import ArtworkFactory, image_bytes
from tests.services import delete_keys

pytestmark = pytest.mark.django_db

SEARCH_ENDPOINTS = ["/api/v1/search/image/", "/api/v1/search/face/"]


def png_declaring(width: int, height: int) -> bytes:
    """A small valid PNG whose header declares width x height: what a decompression bomb looks like from outside."""
    png = image_bytes("PNG", mode="L", size=(8, 8), colour=0)
    ihdr = png[16:29]  # width, height, depth, colour type, compression, filter, interlace
    patched = struct.pack(">II", width, height) + ihdr[8:]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + patched) & 0xFFFFFFFF)
    return png[:16] + patched + crc + png[33:]


def upload(data: bytes, name: str = "visitor.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


# --- Photos: judged by their header, decoded reduced, a bounded number at once --------------------


@pytest.mark.parametrize("path", SEARCH_ENDPOINTS)
def test_a_png_declaring_10950_pixels_a_side_is_refused_from_its_header_naming_its_size_and_the_cap(api_client, path):
    bomb = png_declaring(10_950, 10_950)
    assert len(bomb) < 1000

    started = time.perf_counter()
    response = api_client.post(path, {"image": upload(bomb)}, format="multipart")

    assert response.status_code == 400
    message = str(response.json())
    assert "10950×10950" in message and "119.9 megapixels" in message
    assert "above the limit of 16.0 megapixels for a search photo" in message
    assert time.perf_counter() - started < 2.0


def test_a_large_jpeg_is_decoded_at_reduced_scale_and_only_a_small_jpeg_reaches_the_model(api_client, monkeypatch):
    from analysis import services

    decoded_sizes: list[tuple[int, int]] = []
    original_load = ImageFile.ImageFile.load

    def spy_load(self):
        decoded_sizes.append(self.size)
        return original_load(self)

    seen: list[bytes] = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", spy_load)
    monkeypatch.setattr(services, "embed_bytes", lambda data: seen.append(data) or np.zeros(8, dtype=np.float32))
    photo = image_bytes("JPEG", size=(6000, 4000), colour=(90, 120, 200), quality=80)

    api_client.post("/api/v1/search/image/", {"image": upload(photo, "visitor.jpg")}, format="multipart")

    assert len(seen) == 1
    with Image.open(io.BytesIO(seen[0])) as sent:
        assert sent.format == "JPEG" and max(sent.size) <= 1024
    # Draft mode decodes the 24-megapixel photo at half scale or less; never the full 6000 x 4000.
    assert decoded_sizes and max(w * h for w, h in decoded_sizes) <= 3000 * 2000


def test_when_every_decode_slot_stays_taken_a_search_gets_a_503_with_retry_after(api_client, settings):
    from collection import photos

    settings.SEARCH_PHOTO_DECODES = 1
    settings.SEARCH_PHOTO_WAIT_SECONDS = 0.3
    slots = photos._decode_slots()
    assert slots.acquire(timeout=1)
    try:
        started = time.perf_counter()
        response = api_client.post(
            "/api/v1/search/image/", {"image": upload(image_bytes("JPEG"), "v.jpg")}, format="multipart"
        )
        waited = time.perf_counter() - started
    finally:
        slots.release()

    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert "busy" in response.json()["detail"]
    assert 0.3 <= waited < 3.0


def test_concurrent_photo_decodes_never_exceed_the_slots(settings, monkeypatch):
    from collection import photos

    settings.SEARCH_PHOTO_DECODES = 2
    settings.SEARCH_PHOTO_WAIT_SECONDS = 30
    running, peak, lock = [0], [0], threading.Lock()
    original = photos._reduce

    def slow_reduce(data, name):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.1)
        try:
            return original(data, name)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(photos, "_reduce", slow_reduce)
    photo = image_bytes("JPEG", size=(200, 200))
    threads = [threading.Thread(target=photos.reduce_photo, args=(photo,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert peak[0] == 2


# --- Bodies: refused by their declared length, before a byte is read ------------------------------


class UnreadableBody:
    """A WSGI input that fails the test if the server reads more than a few bytes of it."""

    def __init__(self) -> None:
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        self.bytes_read += max(size, 0)
        if size < 0 or self.bytes_read > 16:
            raise AssertionError(f"the server read the body ({size} bytes asked) before refusing it")
        return b"-" * size

    def readline(self, size: int = -1) -> bytes:
        return self.read(size if size > 0 else 16)


@pytest.fixture
def writer(api_client):
    _, key = PartnerToken.issue("partner", scope=PartnerToken.Scope.WRITE)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api_client


@pytest.mark.parametrize(
    ("path", "declared", "content_type", "limit"),
    [
        pytest.param(
            "/api/v1/artworks/UP.1/image/",
            300_000_000,
            "multipart/form-data; boundary=xyz",
            "52.5 MB",
            id="300-MB-image-upload",
        ),
        pytest.param("/api/v1/maps/all/works/", 49_500_000, "application/json", "2.6 MB", id="49-MB-map-export"),
        pytest.param(
            "/api/v1/search/image/", 40_000_000, "multipart/form-data; boundary=xyz", "15.8 MB", id="search-photo"
        ),
        pytest.param("/list/", 10_000_000, "application/x-www-form-urlencoded", "2.6 MB", id="html-page"),
    ],
)
def test_a_body_above_its_endpoints_limit_is_refused_with_a_413_before_it_is_read(
    writer, path, declared, content_type, limit
):
    ArtworkFactory(accession_number="UP.1")
    body = UnreadableBody()

    response = writer.generic(
        "POST", path, b"", content_type=content_type, CONTENT_LENGTH=str(declared), **{"wsgi.input": body}
    )

    assert response.status_code == 413
    text = response.content.decode()
    assert f"{declared / 1e6:.1f} MB" in text and f"at most {limit}" in text
    assert body.bytes_read == 0
    assert not ImageRecord.objects.exists()


def test_an_export_of_200000_ids_still_fits_the_body_limit(writer, settings):
    ids = ",".join(str(900_000 + i) for i in range(200_000))
    body = ('{"ids": [' + ids + "]}").encode()
    assert len(body) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = writer.post("/api/v1/maps/nomap/works/", body, content_type="application/json")
    assert response.status_code == 404  # read and parsed: the map does not exist


# --- Queued photos: a claim check that expires with the request -----------------------------------


@pytest.fixture
def broker_without_worker(settings) -> Iterator[redis_lib.Redis]:
    """Celery pointed at a real Redis broker (and result backend) that no worker consumes.

    The run's Redis, with Celery's keys under the run's prefix (tests/settings.py); the client yielded
    is a plain one, so a test names the prefix itself.
    """
    from config.celery import app

    broker_url, prefix = settings.CACHES["default"]["LOCATION"], settings.BROKER_KEY_PREFIX
    client = redis_lib.Redis.from_url(broker_url)
    delete_keys(client, prefix)
    saved = {key: app.conf[key] for key in ("broker_url", "result_backend", "task_always_eager")}
    app.conf.update(broker_url=broker_url, result_backend=broker_url, task_always_eager=False)
    _drop_connections(app)
    options = app.conf.broker_transport_options
    with Connection(broker_url, transport_options=options) as conn:  # a worker would declare these queues
        for name in ("default", "gpu"):
            Queue(name).bind(conn.default_channel).declare()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.SEARCH_TIMEOUT_SECONDS = 1.0
    try:
        yield client
    finally:
        app.conf.update(saved)
        _drop_connections(app)
        delete_keys(client, prefix)
        client.close()


def _drop_connections(app) -> None:
    """Celery caches its broker pool, producers and result backend: dropped so the new URLs are used.

    Not closed: kombu's process-wide pool registry hands the same pools out again for the same URL.
    """
    app._pool = None
    app.amqp._producer_pool = None
    app._local.__dict__.pop("backend", None)


def _cache_redis() -> redis_lib.Redis:
    from django.conf import settings

    return redis_lib.Redis.from_url(settings.CACHES["default"]["LOCATION"])


def _cache_prefix() -> str:
    from django.conf import settings

    return settings.CACHES["default"]["KEY_PREFIX"]


@pytest.mark.parametrize("ask", ["embed_upload", "face_upload"])
def test_with_no_worker_a_search_photo_leaves_nothing_of_itself_in_redis_once_the_request_gives_up(
    broker_without_worker, ask, settings
):
    from analysis import client as ml_client

    rng = np.random.default_rng(7)
    noisy = Image.fromarray(rng.integers(0, 255, (768, 1024, 3), dtype=np.uint8))
    buf = io.BytesIO()
    noisy.save(buf, "JPEG", quality=95)
    photo = buf.getvalue()
    assert len(photo) > 500_000

    for _ in range(3):
        started = time.time()
        with pytest.raises(ml_client.UploadEmbeddingError):
            getattr(ml_client, ask)(photo)
        assert time.time() - started < 3.0

    cache = _cache_redis()
    assert [k for k in cache.scan_iter(match=f"{_cache_prefix()}:*search-photo:*")] == []
    prefix = settings.BROKER_KEY_PREFIX
    queued = broker_without_worker.lrange(f"{prefix}gpu", 0, -1)
    assert len(queued) == 3
    broker_keys = broker_without_worker.scan_iter(match=f"{prefix}*")
    broker_bytes = sum(broker_without_worker.memory_usage(k) or 0 for k in broker_keys)
    assert broker_bytes < 30_000, f"{broker_bytes} bytes left in the broker for three searches"
    for raw in queued:
        message = json.loads(raw)
        assert len(raw) < 3000
        headers = message["headers"]
        assert headers["retries"] == 0 and headers["expires"] is not None
        # Already expired: a worker that comes back discards it unrun (and its photo is gone anyway).
        assert datetime.datetime.fromisoformat(headers["expires"]).timestamp() <= time.time()


def test_a_task_that_finds_its_photo_gone_does_nothing(settings):
    from analysis import client as ml_client
    from analysis import tasks

    key = ml_client.leave_photo(b"bytes of a photo")
    assert ml_client.take_photo(key) == b"bytes of a photo"
    assert tasks.embed_upload.run(key) is None
    assert tasks.face_upload.run(key) is None
    assert tasks.embed_upload.run("not-a-claim") is None


def test_the_photo_left_for_the_worker_expires_with_the_requests_time_out(settings):
    from analysis import client as ml_client

    settings.SEARCH_TIMEOUT_SECONDS = 1.0
    key = ml_client.leave_photo(b"x" * 1000)
    cache = _cache_redis()
    [raw_key] = list(cache.scan_iter(match=f"{_cache_prefix()}:*{key}"))
    assert 0 < cache.ttl(raw_key) <= 1


# --- Searches are throttled everywhere -----------------------------------------------------------


def test_the_html_search_page_is_throttled_like_the_api(client, settings):
    settings.API_SEARCH_RATE = "2/minute"
    assert client.get("/list/", {"q": "study"}).status_code == 200
    assert client.get("/?q=study").status_code == 200
    response = client.get("/list/", {"q": "study"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many searches" in response.content.decode()
    assert client.get("/list/").status_code == 200  # browsing without a search is not a search


def test_the_map_match_search_has_the_search_limit(client, settings):
    settings.API_SEARCH_RATE = "2/minute"
    assert client.get("/api/v1/maps/nomap/match/", {"q": "x"}).status_code == 404
    assert client.get("/api/v1/maps/nomap/match/", {"q": "x"}).status_code == 404
    response = client.get("/api/v1/maps/nomap/match/", {"q": "x"})
    assert response.status_code == 429 and "Retry-After" in response


@pytest.mark.parametrize("path", SEARCH_ENDPOINTS)
def test_search_by_photo_has_its_own_narrow_limit(api_client, settings, path):
    settings.API_PHOTO_SEARCH_RATE = "2/minute"
    for _ in range(2):
        assert api_client.post(path, {"image": upload(b"not an image")}, format="multipart").status_code == 400
    response = api_client.post(path, {"image": upload(b"not an image")}, format="multipart")
    assert response.status_code == 429 and "Retry-After" in response
