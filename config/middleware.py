"""Request checks that come before any view, for faults every view would otherwise share."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

NUL_MESSAGE = "A URL must not contain a NUL character (%00)."


class RefuseNulMiddleware:
    """Answers 400 to a NUL byte in the path or query string.

    PostgreSQL cannot hold NUL in text, so any view that looks a path or query value up would fail
    with a database error (a 500). No valid URL of the site contains one, so refuse it at the door.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path_info or "\x00" in request.path or "%00" in query or "\x00" in query:
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": NUL_MESSAGE}, status=400)
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
