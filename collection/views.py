"""Signed access to private files (originals) when they live on the local disk.

On S3 the storage presigns URLs itself; locally a signed, expiring token in
the URL stands in for that, so originals are never reachable by guessing a path.
"""

from __future__ import annotations

import mimetypes

from django.core import signing
from django.http import FileResponse, Http404, HttpRequest

from collection import storage


def private_file(request: HttpRequest, token: str) -> FileResponse:
    try:
        key = storage.unsign_private_key(token)
    except signing.BadSignature:
        raise Http404("This link is invalid or has expired.") from None
    try:
        stream = storage.open_stream("private", key)
    except FileNotFoundError:
        raise Http404("No such file.") from None
    content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    return FileResponse(stream, content_type=content_type)
