"""Response headers that keep pages from being abused or leaked: the Content-Security-Policy's media
origins, Cache-Control for responses that differ per user, and the client address login throttling
counts by.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.static import serve


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def media_origins() -> list[str]:
    """Where pictures and atlases are fetched from when they are not served by the site itself.

    Read per request, from the storage settings, so the policy always names the origin the storage
    backend actually writes into URLs (CDN, S3-compatible endpoint, or AWS's bucket host names).
    """
    origins: list[str | None] = []
    if settings.S3_BUCKET:
        if settings.S3_PUBLIC_URL:
            origins.append(f"https://{settings.S3_PUBLIC_URL.split('/', 1)[0]}")
        if settings.S3_ENDPOINT_URL:
            origins.append(_origin(settings.S3_ENDPOINT_URL))
        else:
            bucket, region = settings.S3_BUCKET, settings.S3_REGION
            origins += [f"https://{bucket}.s3.amazonaws.com", f"https://{bucket}.s3.{region}.amazonaws.com"]
    else:
        origins.append(_origin(settings.MEDIA_URL))  # an absolute MEDIA_URL (a separate media host)
    origins += settings.CSP_EXTRA_MEDIA_ORIGINS
    return sorted({o for o in origins if o})


class SiteCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the media origins added to img-src and connect-src."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origins = media_origins()
        if origins and not report_only:
            update = dict(parts.update or {})
            for directive in ("img-src", "connect-src"):
                current = update.get(directive) or []
                update[directive] = [*([current] if isinstance(current, str) else current), *origins]
            parts.update = update
        return parts


class PrivateCacheMiddleware:
    """Marks every response of a Django view ``Cache-Control: private`` and ``Vary: Cookie, Authorization``.

    Pages and API answers can differ for a curator's session or a partner token (unpublished works,
    signed links), so no shared cache may hand one user's answer to another. A view that decided its
    answer is the same for everyone (``public``, e.g. anonymous map points) keeps that, but still
    varies on the credentials. Static files never get here (WhiteNoise answers them earlier), and
    the public derivatives served locally keep their long-lived public caching.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.func is serve:
            return response
        patch_vary_headers(response, ("Cookie", "Authorization"))
        if "public" not in (response.get("Cache-Control") or "").lower():
            patch_cache_control(response, private=True)
        return response


def client_ip(request: HttpRequest) -> str:
    """The client address as the API's rate limits see it (DJANGO_NUM_PROXIES trusted proxies), so a
    login lockout behind a proxy counts the visitor, not the proxy."""
    from rest_framework.throttling import BaseThrottle

    return BaseThrottle().get_ident(request)  # type: ignore[arg-type]  # reads only META, as HttpRequest has
