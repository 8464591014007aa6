"""Visitors' photos (search by image, search by face): kept in memory, never on disk.

Django spools uploads above FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file,
which would leave a visitor's photo on the server's disk for the length of the
request. These views refuse bodies above SEARCH_PHOTO_MAX_BYTES before parsing
instead, then keep whatever remains in memory. The photo is then reduced
(collection.photos) before anything else sees it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import MemoryFileUploadHandler
from rest_framework import serializers
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request

from collection import images, photos

# The photo plus the multipart form's own bytes.
FORM_OVERHEAD = 64 * 1024


class PhotoServiceBusy(APIException):
    """503 with Retry-After: every decode slot of this process is taken (collection.photos.PhotoBusy)."""

    status_code = 503
    default_code = "busy"

    def __init__(self, detail: str, wait: int) -> None:
        super().__init__(detail)
        self.wait = wait


class InMemoryUploadHandler(MemoryFileUploadHandler):
    """Claims every upload for memory whatever its size (the size was checked before parsing)."""

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: Any = None
    ) -> None:
        self.activated = True


def keep_photo_in_memory(request: Request) -> None:
    """Refuses an oversized body by its declared length, then parses the rest in memory only."""
    limit = settings.SEARCH_PHOTO_MAX_BYTES + FORM_OVERHEAD
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise ValidationError(
            {
                "image": f"The photo is {length / 1e6:.1f} MB, above the limit of {settings.SEARCH_PHOTO_MAX_BYTES / 1e6:.1f} MB."
            }
        )
    request._request.upload_handlers = [InMemoryUploadHandler(request._request)]


def read_photo(request: Request, serializer_class: type[serializers.Serializer]) -> tuple[bytes, dict[str, Any]]:
    """The visitor's photo, reduced to a small JPEG (in memory only), and the form's other fields.

    The photo is decoded here, at reduced size, so a file that is not an image (or one far
    too large in pixels) is refused with a 400 naming the problem before the worker sees it.
    """
    keep_photo_in_memory(request)
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data["image"].read()
    try:
        reduced = photos.reduce_photo(data, name="upload")
    except images.ImageRejected as exc:
        raise ValidationError({"image": str(exc)}) from None
    except photos.PhotoBusy as exc:
        raise PhotoServiceBusy(str(exc), wait=max(1, round(settings.SEARCH_PHOTO_WAIT_SECONDS))) from None
    finally:
        del data
    return reduced, dict(serializer.validated_data)
