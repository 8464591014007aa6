"""Object storage: public derivatives and private originals, on S3 (the default here) and on local disk."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.core.management import call_command
from django.test import override_settings
from PIL import Image

from collection import images, storage
from config.storage_settings import s3_storages
from tests.factories import image_bytes

pytestmark = pytest.mark.django_db


def test_on_s3_derivatives_are_public_with_plain_cacheable_urls(s3_storage, s3_endpoint):
    record = images.ingest(image_bytes("JPEG", size=(64, 48)), name="a.jpg")

    url = record.url("thumb")

    assert url.startswith(f"{s3_endpoint}/{s3_storage}/public/derivatives/")
    assert urlparse(url).query == ""  # no signature: browsers and CDNs fetch it directly
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert Image.open(io.BytesIO(response.content)).format == "WEBP"


def test_on_s3_originals_are_private_and_reachable_only_through_signed_urls(s3_storage, s3_endpoint):
    data = image_bytes("PNG", size=(30, 30))
    record = images.ingest(data, name="a.png")

    url = storage.private_url(record.original)

    parsed = urlparse(url)
    assert parsed.path == f"/{s3_storage}/private/{record.original}"
    query = parse_qs(parsed.query)
    assert "X-Amz-Signature" in query or "Signature" in query
    assert "X-Amz-Expires" in query or "Expires" in query
    assert requests.get(url, timeout=10).content == data
    unsigned = f"{s3_endpoint}/{s3_storage}/private/{record.original}"
    assert requests.get(unsigned, timeout=10).status_code == 403
    head = storage.get_storage("private").connection.meta.client.get_object_acl(
        Bucket=s3_storage, Key=f"private/{record.original}"
    )
    assert not any(grant["Grantee"].get("URI", "").endswith("AllUsers") for grant in head["Grants"])


def test_storage_writes_reads_and_deletes_by_key():
    assert storage.put("private", "checkpoints/model.bin", b"weights") == "checkpoints/model.bin"
    assert storage.exists("private", "checkpoints/model.bin")
    assert storage.get("private", "checkpoints/model.bin") == b"weights"
    assert storage.size("private", "checkpoints/model.bin") == 7

    assert storage.put_if_absent("private", "checkpoints/model.bin", b"other") is False
    assert storage.get("private", "checkpoints/model.bin") == b"weights"
    storage.put("private", "checkpoints/model.bin", b"new weights")
    assert storage.get("private", "checkpoints/model.bin") == b"new weights"

    storage.delete("private", "checkpoints/model.bin")
    assert not storage.exists("private", "checkpoints/model.bin")
    assert not storage.exists("public", "checkpoints/model.bin")


def test_an_unreachable_s3_endpoint_is_reported_as_storage_unavailable(closed_port_url, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # fail at once instead of retrying with back-off
    endpoint = closed_port_url.rsplit("/", 1)[0]
    down = s3_storages(
        bucket="down",
        endpoint_url=endpoint,
        region="us-east-1",
        access_key="testing",
        secret_key="testing",
        public_url=None,
        signed_seconds=600,
        static_backend="django.contrib.staticfiles.storage.StaticFilesStorage",
    )

    with override_settings(STORAGES=down, S3_BUCKET="down"):
        with pytest.raises(storage.StorageUnavailable, match="storage unavailable while trying to check 'x'"):
            storage.exists("public", "x")


def test_setup_storage_creates_the_bucket_once(s3_endpoint):
    fresh = s3_storages(
        bucket="fresh-bucket",
        endpoint_url=s3_endpoint,
        region="us-east-1",
        access_key="testing",
        secret_key="testing",
        public_url=None,
        signed_seconds=600,
        static_backend="django.contrib.staticfiles.storage.StaticFilesStorage",
    )
    out = io.StringIO()
    with override_settings(STORAGES=fresh, S3_BUCKET="fresh-bucket"):
        call_command("setup_storage", stdout=out)
        call_command("setup_storage", stdout=out)  # idempotent
        client = storage.get_storage("public").connection.meta.client
        client.head_bucket(Bucket="fresh-bucket")
        storage.put("public", "hello.txt", b"hi")
        assert storage.get("public", "hello.txt") == b"hi"
        storage.delete("public", "hello.txt")
        client.delete_bucket(Bucket="fresh-bucket")
    assert out.getvalue().count("Storage is ready.") == 2


def test_on_local_disk_files_are_written_under_media_public_and_private(local_storage):
    data = image_bytes("JPEG", size=(64, 48))

    record = images.ingest(data, name="a.jpg")

    assert (local_storage / "private" / record.original).read_bytes() == data
    for key in record.derivatives.values():
        assert (local_storage / "public" / key).is_file()
    assert record.url("thumb") == f"/media/public/{record.derivatives['thumb']}"


def test_on_local_disk_originals_are_served_only_through_a_signed_link(local_storage, client):
    data = image_bytes("PNG", size=(30, 30))
    record = images.ingest(data, name="a.png")

    url = storage.private_url(record.original)

    assert url.startswith("/files/private/")
    assert record.original not in url
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == data


def test_a_tampered_or_expired_private_link_is_not_found(local_storage, client, settings):
    record = images.ingest(image_bytes("PNG", size=(30, 30)), name="a.png")
    url = storage.private_url(record.original)
    token = url.rsplit("/", 1)[1]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")

    assert client.get(f"/files/private/{tampered}").status_code == 404
    assert client.get("/files/private/originals%2Fab%2Fguess.png").status_code == 404

    settings.SIGNED_URL_SECONDS = -1  # every link has expired
    assert client.get(url).status_code == 404


def test_a_signed_link_to_a_deleted_file_is_not_found(local_storage, client):
    storage.put("private", "originals/x.png", b"x")
    url = storage.private_url("originals/x.png")
    storage.delete("private", "originals/x.png")

    assert client.get(url).status_code == 404
