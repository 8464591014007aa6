"""Fixtures for the collection tests: a loopback web server, a closed port and a look into the bucket."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_boto3_session_per_credentials() -> Iterator[None]:
    """Every test gets a fresh bucket, so django-storages builds new S3 clients each time; sharing the
    boto3 session (and so its loaded service models) makes that cost milliseconds instead of ~0.3 s."""
    from storages.backends.s3 import S3Storage

    original = S3Storage._create_session
    sessions: dict[tuple, object] = {}

    def shared(self: S3Storage):
        key = (self.session_profile, self.access_key, self.secret_key, self.security_token)
        if key not in sessions:
            sessions[key] = original(self)
        return sessions[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(S3Storage, "_create_session", shared)
        yield


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


class WebSite:
    """A folder served over HTTP on 127.0.0.1: real fetches, no internet."""

    def __init__(self, root: Path, base_url: str) -> None:
        self.root = root
        self.base_url = base_url

    def add(self, path: str, data: bytes | str) -> str:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode() if isinstance(data, str) else data)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}"


@pytest.fixture
def website(tmp_path: Path, settings) -> Iterator[WebSite]:
    """Imports may not fetch from loopback, so this stand-in for a museum's server is an explicitly
    allowed network, as a deployment importing from its own intranet would name its own."""
    settings.IMPORT_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    root = tmp_path / "site"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield WebSite(root, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port_url() -> str:
    """A URL on a loopback port nothing listens on: the connection is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/missing.jpg"


@pytest.fixture
def stored_keys(s3_storage: str) -> Callable[[], list[str]]:
    """Every key in this test's bucket (public and private areas)."""

    def keys() -> list[str]:
        from collection import storage

        bucket = storage.get_storage("public").bucket
        return sorted(obj.key for obj in bucket.objects.all())

    return keys


@pytest.fixture
def image_folder(tmp_path: Path, demo_dir: Path) -> Path:
    """A folder with three demo paintings (as a.jpg, b.jpg, c.jpg), next to where the tests write their files."""
    folder = tmp_path / "images"
    folder.mkdir()
    demo_images = sorted((demo_dir / "images").glob("*.jpg"))[:3]
    for name, source in zip(("a.jpg", "b.jpg", "c.jpg"), demo_images, strict=True):
        shutil.copyfile(source, folder / name)
    return folder
