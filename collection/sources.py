"""Reading import inputs: image files inside an image folder, and URLs with bounded time and size.

An import file is untrusted data: a path like ``../../etc/passwd`` must not
escape the image folder, and a slow or endless URL must not hang the import.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlparse

import requests
import urllib3
from django.conf import settings


class SourceError(ValueError):
    """An input could not be read; the message names the input and the reason."""


def is_url(ref: str) -> bool:
    return urlparse(ref).scheme in ("http", "https")


def resolve_local(ref: str, base_dir: Path) -> Path:
    """Resolves a path relative to the image folder, refusing anything that escapes it."""
    base = base_dir.resolve()
    candidate = (base / ref).resolve()
    if candidate != base and base not in candidate.parents:
        raise SourceError(f"image path {ref!r} escapes the image folder {base}")
    if not candidate.is_file():
        raise SourceError(f"image file {ref!r} was not found in {base}")
    return candidate


def read_local(ref: str, base_dir: Path) -> bytes:
    path = resolve_local(ref, base_dir)
    size = path.stat().st_size
    if size > settings.IMAGE_MAX_UPLOAD_BYTES:
        raise SourceError(f"image file {ref!r} is {size / 1e6:.1f} MB, above the upload limit")
    return path.read_bytes()


def fetch_url(url: str, *, max_bytes: int | None = None, what: str = "image") -> bytes:
    """Downloads with a connect/read time-out and a byte cap, streaming so a huge body is cut early."""
    limit = max_bytes or settings.IMAGE_MAX_UPLOAD_BYTES
    timeout = settings.IMAGE_FETCH_TIMEOUT
    if not is_url(url):
        raise SourceError(f"{what} URL {url!r} is not an http(s) URL")
    # The read time-out applies to each network read; a server that drips a byte at a time never hits
    # it, so the whole download is also bounded: read1 returns whatever has arrived, and the deadline
    # is checked between reads.
    deadline = time.monotonic() + timeout
    try:
        with requests.get(url, stream=True, timeout=(min(timeout, 10.0), timeout)) as response:
            if response.status_code != 200:
                raise SourceError(f"{what} URL {url} answered HTTP {response.status_code}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise SourceError(f"{what} URL {url} is {int(declared) / 1e6:.1f} MB, above the limit")
            chunks: list[bytes] = []
            total = 0
            while chunk := response.raw.read1(64 * 1024, decode_content=True):
                total += len(chunk)
                if total > limit:
                    raise SourceError(f"{what} URL {url} is larger than the limit of {limit / 1e6:.1f} MB")
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise requests.Timeout()
            return b"".join(chunks)
    except (requests.Timeout, urllib3.exceptions.TimeoutError):
        raise SourceError(f"{what} URL {url} timed out after {timeout:.0f} s") from None
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        raise SourceError(f"{what} URL {url} could not be fetched: {exc.__class__.__name__}") from None


def read_image(ref: str, base_dir: Path | None) -> bytes:
    if is_url(ref):
        return fetch_url(ref)
    if base_dir is None:
        raise SourceError(f"image {ref!r} is a file path but no image folder was given")
    return read_local(ref, base_dir)
