"""Who may do what through the API.

Visitors (anonymous) and partner apps read published works only. A partner
token with the ``write`` scope, or a curator's session, may write. Each token
gets its own rate limit so one partner cannot starve the others.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from collection.models import PartnerToken, is_curator

_HEADER_KEYWORDS = ("Token", "Bearer")


class PartnerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token <key>`` (or Bearer). The key is compared by its hash."""

    def authenticate(self, request: Any) -> tuple[Any, PartnerToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace") not in _HEADER_KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: expected 'Token <key>'.")
        try:
            key = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token contains invalid characters.") from None
        token = PartnerToken.find(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        if token.last_used is None or (timezone.now() - token.last_used).total_seconds() > 60:
            PartnerToken.objects.filter(pk=token.pk).update(last_used=timezone.now())
        return (token.user or AnonymousUser(), token)

    def authenticate_header(self, request: Any) -> str:
        return "Token"


def request_can_write(request: Any) -> bool:
    token = request.auth if isinstance(request.auth, PartnerToken) else None
    if token is not None:
        return token.scope == PartnerToken.Scope.WRITE
    return is_curator(request.user)


def request_sees_unpublished(request: Any) -> bool:
    """Only curators see unpublished works; a partner token never does, whatever its scope."""
    if isinstance(request.auth, PartnerToken):
        return False
    return is_curator(request.user)


class ReadPublishedOrWrite(permissions.BasePermission):
    message = "Writing requires a curator account or a token with the write scope."

    def has_permission(self, request: Any, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        if getattr(view, "public_post", False) and request.method == "POST":
            return True
        return request_can_write(request)


class AnonThrottle(throttling.AnonRateThrottle):
    def get_cache_key(self, request: Any, view: Any) -> str | None:
        # getattr: the HTML search page (a plain Django request, no .auth) is throttled with these classes too.
        if isinstance(getattr(request, "auth", None), PartnerToken) or is_curator(request.user):
            return None
        return super().get_cache_key(request, view)


class SearchThrottle(AnonThrottle):
    """Text and filter searches (the HTML list, the map's match): each one scans the collection."""

    scope = "anon-search"

    def get_rate(self) -> str:
        return settings.API_SEARCH_RATE


class PhotoSearchThrottle(AnonThrottle):
    """Search by image and by face: each one is a photo decode and a model pass."""

    scope = "anon-photo"

    def get_rate(self) -> str:
        return settings.API_PHOTO_SEARCH_RATE


class PartnerTokenThrottle(throttling.SimpleRateThrottle):
    """Per-token limit: the token's own rate, or API_TOKEN_RATE."""

    scope = "token"

    def allow_request(self, request: Any, view: Any) -> bool:
        token = request.auth if isinstance(request.auth, PartnerToken) else None
        if token is None:
            return True
        self.rate = token.rate or self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        token = request.auth if isinstance(request.auth, PartnerToken) else None
        if token is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.pk}


class PartnerTokenScheme(OpenApiAuthenticationExtension):
    """Describes the partner token in the OpenAPI schema (``Authorization: Token <key>``)."""

    target_class = "collection.api.auth.PartnerTokenAuthentication"
    name = "partnerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A partner token: `Token <key>` (or `Bearer <key>`).",
        }
