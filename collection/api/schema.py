"""The OpenAPI schema documents the API's error answers, not only its successes.

Partner apps (and the Schemathesis run in tests/reliability/test_api_fuzz.py) read the schema to
know which status codes and bodies to expect. Every error the API gives is the same JSON shape
(collection.api.errors), so the codes each operation can answer are added here once, from what the
view does (path parameters, pagination, request bodies, writes, throttles), instead of on every view.
Views add their own special cases (409, 422, 503) with ``@extend_schema(responses=...)``.
"""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The body of every error answer (collection.api.errors.exception_handler)."""

    detail = serializers.CharField(help_text="What was wrong, in words a person can read.")
    errors = serializers.DictField(  # type: ignore[assignment]  # the body's field, shadowing Serializer.errors
        required=False, help_text="On 400 for invalid fields: each field's name and what was wrong with it."
    )
    allowed = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="On 400 for an unknown query parameter: the parameters the operation understands.",
    )


ERROR_DESCRIPTIONS = {
    "400": "The request is malformed: an unknown or invalid parameter or field, or a character no URL or field may hold.",
    "401": "The Authorization header's token is malformed, unknown or revoked.",
    "403": "Writing needs a curator account or a partner token with the write scope.",
    "404": "No such object, map or page (or it is not published).",
    "413": "The request body is larger than the limit.",
    "415": "The request body's media type is not one the operation reads.",
    "429": "Too many requests: wait the number of seconds the detail names.",
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, plus the error answers each operation can give."""

    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = ERROR_DESCRIPTIONS[code]
        return responses

    def _error_codes(self) -> list[str]:
        codes = ["400", "401"]
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            codes.append("403")
        if "{" in self.path or self._is_list_view() and self._get_paginator() is not None:
            codes.append("404")  # an unknown object, or a page past the last one
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["413", "415"]
        if self.view.get_throttles():
            codes.append("429")
        return codes
