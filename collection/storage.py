"""The one place that touches object storage (S3 through django-storages, or local disk).

Keeping every read and write here means the rest of the platform speaks in
keys, never in boto3 clients or file paths, and the S3/local switch is a
settings change. Two areas exist: ``public`` for derivatives that browsers
fetch directly (cacheable, immutable, content-addressed keys) and ``private``
for originals and model artefacts, reachable only through signed URLs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import IO, Any, Literal, TypeVar

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.urls import reverse

from core.errors import StorageUnavailable

log = logging.getLogger(__name__)
_T = TypeVar("_T")

Area = Literal["public", "private"]

_STORAGE_ALIAS = {"public": "default", "private": "private"}
_SIGNING_SALT = "collection.storage.private"


def get_storage(area: Area) -> Storage:
    return storages[_STORAGE_ALIAS[area]]


def _transient(exc: Exception) -> bool:
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
    except ImportError:  # pragma: no cover - boto3 is a hard dependency
        return False
    return isinstance(exc, (BotoConnectionError, EndpointConnectionError, ReadTimeoutError, ConnectionError))


def _call(what: str, key: str, fn: Callable[..., _T], *args: Any) -> _T:
    try:
        return fn(*args)
    except FileNotFoundError:
        raise
    except Exception as exc:
        if _transient(exc):
            raise StorageUnavailable(f"storage unavailable while trying to {what} {key!r}: {exc}") from exc
        raise


def exists(area: Area, key: str) -> bool:
    return bool(_call("check", key, get_storage(area).exists, key))


def put(area: Area, key: str, data: bytes) -> str:
    """Writes bytes under exactly ``key`` (overwriting), so content-addressed keys stay stable."""
    storage = get_storage(area)

    def _write() -> str:
        if storage.exists(key):
            storage.delete(key)
        saved = storage.save(key, ContentFile(data))
        if saved != key:  # a backend that renames on conflict would break content addressing
            raise RuntimeError(f"storage saved {key!r} as {saved!r}")
        return saved

    return _call("write", key, _write)


def put_if_absent(area: Area, key: str, data: bytes) -> bool:
    """Content-addressed blobs never change, so an existing key is left untouched."""
    if exists(area, key):
        return False
    put(area, key, data)
    return True


def get(area: Area, key: str) -> bytes:
    def _read() -> bytes:
        with get_storage(area).open(key, "rb") as fh:
            return fh.read()

    return _call("read", key, _read)


def open_stream(area: Area, key: str) -> IO[bytes]:
    return _call("open", key, get_storage(area).open, key, "rb")


def delete(area: Area, key: str) -> None:
    _call("delete", key, get_storage(area).delete, key)


def move(key: str, *, to: Area) -> bool:
    """Moves a blob to the other area (copy, then delete), e.g. to withdraw an unpublished work's
    derivatives from public reach without losing them. Idempotent: False when there was nothing to move."""
    source: Area = "private" if to == "public" else "public"
    if not exists(source, key):
        return False
    put(to, key, get(source, key))  # written before the source is deleted: a failure in between loses nothing
    delete(source, key)
    return True


def size(area: Area, key: str) -> int:
    return int(_call("stat", key, get_storage(area).size, key))


def public_url(key: str) -> str:
    return get_storage("public").url(key)


def private_url(key: str) -> str:
    """A time-limited URL: S3 presigns it; on local disk a signed token is checked by a view."""
    if settings.S3_BUCKET:
        return get_storage("private").url(key)
    token = signing.dumps(key, salt=_SIGNING_SALT, compress=True)
    return reverse("collection:private-file", kwargs={"token": token})


def unsign_private_key(token: str) -> str:
    return signing.loads(token, salt=_SIGNING_SALT, max_age=settings.SIGNED_URL_SECONDS)


def ensure_buckets() -> None:
    """Creates the bucket on a fresh S3-compatible endpoint (idempotent); no-op on local disk."""
    if not settings.S3_BUCKET:
        return
    storage = get_storage("public")
    client = storage.connection.meta.client  # type: ignore[attr-defined]  # S3Storage, checked by S3_BUCKET
    try:
        client.head_bucket(Bucket=settings.S3_BUCKET)
    except Exception:  # noqa: BLE001 - any failure to see it means create
        kwargs: dict[str, Any] = {"Bucket": settings.S3_BUCKET}
        if settings.S3_REGION and settings.S3_REGION != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.S3_REGION}
        client.create_bucket(**kwargs)
        log.info("created bucket %s", settings.S3_BUCKET)
    # Re-applied on every run, so an existing bucket gets the policy and CORS rules too.
    _allow_public_reads(client, settings.S3_BUCKET)
    _allow_browser_reads(client)


def _allow_public_reads(client: Any, bucket: str) -> None:
    """Lets browsers read the public area (derivatives) without signatures; the private area stays closed."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicDerivatives",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/public/*"],
            }
        ],
    }
    try:
        client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    except Exception as exc:  # noqa: BLE001 - e.g. AWS "Block Public Access": the operator decides
        log.warning(
            "could not allow public reads of %s/public/* (%s); derivatives will not load in browsers "
            "unless a bucket policy or a CDN (S3_PUBLIC_URL) gives access",
            bucket,
            exc,
        )


def _allow_browser_reads(client: Any) -> None:
    """WebGL may only use cross-origin images the bucket allows with CORS: let browsers GET public files."""
    origins = list(settings.CORS_ALLOWED_ORIGINS) or ["*"]
    try:
        client.put_bucket_cors(
            Bucket=settings.S3_BUCKET,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedMethods": ["GET", "HEAD"],
                        "AllowedOrigins": origins,
                        "AllowedHeaders": ["*"],
                        "MaxAgeSeconds": 86400,
                    }
                ]
            },
        )
    except Exception as exc:  # noqa: BLE001 - the platform still works; the map shows grey squares
        log.warning(
            "could not set CORS on bucket %s (%s): the WebGL map needs it for thumbnails", settings.S3_BUCKET, exc
        )
