"""Bodies too large for their endpoint are refused by their declared length, before a byte is read.

Django checks DATA_UPLOAD_MAX_MEMORY_SIZE only for bodies it parses into memory, and only once a
view asks for them; a file upload is read (to memory or disk) whatever its size before the view can
look at it. This middleware runs first and answers 413, naming the limit, when the declared
Content-Length is above what the endpoint can use. A body without a declared length is no risk:
Django's WSGI request reads such a body as empty.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

# A multipart form's own bytes (boundaries, headers, the other fields) around the file.
FORM_OVERHEAD = 64 * 1024


def body_limit(path: str) -> tuple[int, str]:
    """(most bytes the endpoint at ``path`` accepts, what it is called in the refusal)."""
    try:
        match = resolve(path)
    except Resolver404:
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE, "this address"
    if match.view_name in ("api:search-image", "api:search-face"):
        return settings.SEARCH_PHOTO_MAX_BYTES + FORM_OVERHEAD, "a search photo"
    if match.view_name == "api:artwork-upload-image" or "admin" in match.namespaces:
        # The admin's artwork form also takes an image upload.
        return settings.IMAGE_MAX_UPLOAD_BYTES + FORM_OVERHEAD, "an image upload"
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE, "this endpoint"


def _smallest_limit() -> int:
    return min(
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
        settings.SEARCH_PHOTO_MAX_BYTES + FORM_OVERHEAD,
        settings.IMAGE_MAX_UPLOAD_BYTES + FORM_OVERHEAD,
    )


class BodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django reads an unreadable length as an empty body
        if declared > _smallest_limit():  # most requests stop here, without resolving their path
            limit, what = body_limit(request.path_info)
            if declared > limit:
                return self.refuse(request, declared, limit, what)
        return self.get_response(request)

    @staticmethod
    def refuse(request: HttpRequest, declared: int, limit: int, what: str) -> HttpResponse:
        message = (
            f"The request body is {declared / 1e6:.1f} MB; {what} accepts at most {limit / 1e6:.1f} MB ({limit} bytes)."
        )
        if request.path_info.startswith("/api/"):
            response: HttpResponse = JsonResponse({"detail": message}, status=413)
        else:
            response = HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return response
