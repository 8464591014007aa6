"""Shared fixtures: a real local S3 endpoint (moto_server over HTTP), images, users and tokens."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from PIL import Image

from config.storage_settings import s3_storages
from tests.services import delete_keys

REPO = Path(__file__).resolve().parent.parent
DEMO_DIR = REPO / "demo" / "aic-paintings"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on loopback, shared by the session; tests talk to it over HTTP like to real S3."""
    port = _free_port()
    local = Path(sys.executable).parent / "moto_server"
    exe = str(local) if local.exists() else shutil.which("moto_server")
    proc = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("moto_server did not start")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(autouse=True)
def s3_storage(s3_endpoint: str) -> Iterator[str]:
    """Every test stores files in a fresh bucket on the local S3 endpoint."""
    from collection import storage

    bucket = f"test-{uuid.uuid4().hex[:12]}"
    storages = s3_storages(
        bucket=bucket,
        endpoint_url=s3_endpoint,
        region="us-east-1",
        access_key="testing",
        secret_key="testing",
        public_url=None,
        signed_seconds=600,
        static_backend="django.contrib.staticfiles.storage.StaticFilesStorage",
    )
    with override_settings(S3_BUCKET=bucket, S3_ENDPOINT_URL=s3_endpoint, STORAGES=storages, SERVE_MEDIA=False):
        storage.ensure_buckets()
        yield bucket


@pytest.fixture
def local_storage(tmp_path: Path, s3_storage: str) -> Iterator[Path]:
    """The embedded default: files on the local disk (overrides the S3 fixture for one test)."""
    from config.storage_settings import local_storages

    storages = local_storages(
        media_root=str(tmp_path / "media"),
        media_url="/media/",
        static_backend="django.contrib.staticfiles.storage.StaticFilesStorage",
    )
    with override_settings(S3_BUCKET="", STORAGES=storages, MEDIA_ROOT=tmp_path / "media"):
        yield tmp_path / "media"


def clear_own_cache(cache) -> None:
    """Empties this run's cache keys; Django's RedisCache.clear() would FLUSHDB every run's keys."""
    if not hasattr(cache, "_cache") or not hasattr(cache._cache, "get_client"):
        cache.clear()  # a per-process cache is this run's alone
        return
    delete_keys(cache._cache.get_client(write=True), f"{cache.key_prefix}:")


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    from django.core.cache import cache

    from maps import placing

    clear_own_cache(cache)
    placing._placers.clear()  # keyed by build pk, which a fresh test database may hand out again
    yield


def make_jpeg(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (180, 40, 40), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG", **save)
    return out.getvalue()


@pytest.fixture
def jpeg_bytes() -> bytes:
    return make_jpeg()


@pytest.fixture
def demo_dir() -> Path:
    return DEMO_DIR


@pytest.fixture
def curator(db):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user("curator", password="pw-curator-123", is_staff=True)
    group, _ = Group.objects.get_or_create(name=settings.CURATORS_GROUP)
    user.groups.add(group)
    return user


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def admin_client_for_curator(client, curator):
    """A curator whose group holds the permissions docs/deploy.md gives it (everything but API tokens)."""
    from django.contrib.auth.models import Permission

    group = curator.groups.get()
    group.permissions.set(
        Permission.objects.filter(content_type__app_label__in=["collection", "embeddings", "mlserver"]).exclude(
            content_type__model="partnertoken"
        )
    )
    client.force_login(curator)
    return client
