"""The public website: the collection map, the works list, artwork pages and the decades timeline.

The map page needs a map with a live build; until one exists the home page lists the published
works instead, so the site works on a fresh install and for visitors without WebGL (the list is
always one link away).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from csp.decorators import csp_update
from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from collection.models import Artwork, Classification, is_curator
from frontend.i18n import js_strings

# The map and artwork viewer draw with regl, which compiles its WebGL commands with Function();
# only those pages get 'unsafe-eval', never 'unsafe-inline'.
_allow_eval = csp_update({"script-src": ["'unsafe-eval'"]})
_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


def webgl_page(view: _View) -> _View:
    """csp_update's typing expects a view of one argument; the pages take URL arguments too."""
    return cast(_View, _allow_eval(view))


def _live_maps() -> list[dict[str, Any]]:
    from maps.models import Map

    rows = Map.objects.filter(live_build__isnull=False).order_by("slug").values("slug", "title", "subject")
    return [dict(row) for row in rows]


def _default_map(maps: list[dict[str, Any]], wanted: str | None) -> str | None:
    slugs = [m["slug"] for m in maps]
    if wanted in slugs:
        return wanted
    if "all" in slugs:
        return "all"
    return slugs[0] if slugs else None


@webgl_page
def home(request: HttpRequest) -> HttpResponse:
    maps = _live_maps()
    if request.GET.get("q") or request.GET.get("page") or not maps:
        return works_list(request)
    wanted = request.GET.get("map")
    slug = _default_map(maps, wanted)
    missing = _missing_map(wanted, maps)
    # Curator view: the map API then serves unpublished works too (maps.api.map_sees_unpublished checks again).
    curator_view = request.GET.get("curator") == "1" and is_curator(request.user)
    config = {
        "api": reverse("api:api-root"),
        "map": slug,
        # Titles are data, but the default ones ("All works", "Faces") are in the catalogue: translated when found.
        "maps": [{"slug": m["slug"], "title": _(m["title"])} for m in maps],
        "missing": missing,
        "workUrl": reverse("frontend:artwork", kwargs={"accession_number": "__acc__"}),
        "listUrl": reverse("frontend:list"),
        "sizes": [[name, px] for name, px in sorted(settings.IMAGE_SIZES.items(), key=lambda item: item[1])],
        # With detection switched off the object filter could never match: the page leaves it out.
        "objects": settings.ML_ENABLED and settings.DETECTION_BACKEND != "off",
        "curator": curator_view,
    }
    return render(
        request,
        "frontend/map.html",
        {
            "config": config,
            "js_strings": js_strings(),
            "maps": maps,
            "current_map": slug,
            "curator_view": curator_view,
            "classifications": Classification.choices,
            "page_class": "map-page",
            "missing": missing,
        },
        # A mistyped or retired map's address is not a page: crawlers and link checkers see a 404, visitors the message.
        status=404 if missing else 200,
    )


def _missing_map(wanted: str | None, maps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Why the map asked for cannot be shown, or None: it does not exist, or its first build is not live yet."""
    from maps.models import Map

    if not wanted or any(m["slug"] == wanted for m in maps):
        return None
    if Map.objects.filter(slug=wanted).exists():
        return {"slug": wanted, "building": True, "message": _("This map is being built. Come back in a little while.")}
    return {"slug": wanted, "building": False, "message": _("The map “%(slug)s” does not exist.") % {"slug": wanted}}


def works_list(request: HttpRequest) -> HttpResponse:
    works = (
        Artwork.objects.published().with_related().select_related("image").order_by("year_start", "accession_number")
    )
    query = request.GET.get("q", "").strip()[:200]
    if query:
        refused = _search_refused(request)
        if refused is not None:
            return refused
        works = works.search(query)
    page = Paginator(works, 60).get_page(request.GET.get("page"))
    return render(request, "frontend/list.html", {"page": page, "query": query, "has_map": bool(_live_maps())})


def _search_refused(request: HttpRequest) -> HttpResponse | None:
    """A 429 when this visitor searched too often: a text search scans the collection, like the API's."""
    from collection.api.auth import SearchThrottle

    throttle = SearchThrottle()
    if throttle.allow_request(request, None):  # type: ignore[arg-type]  # reads only META and the user
        return None
    wait = max(1, round(throttle.wait() or 1))
    response = HttpResponse(
        _("Too many searches in a short time. Try again in %(seconds)s seconds.") % {"seconds": wait},
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(wait)
    return response


@webgl_page
def artwork(request: HttpRequest, accession_number: str) -> HttpResponse:
    from maps.models import MapPoint

    work = get_object_or_404(
        Artwork.objects.visible_to(request.user).with_related().select_related("image"),
        accession_number=accession_number,
    )
    on_maps = list(
        # Artworks maps only: on a faces map a point is a face and `sel` would name a face.
        MapPoint.objects.filter(artwork=work, build=F("build__map__live_build"), face__isnull=True)
        .order_by("build__map__slug")
        .values_list("build__map__slug", "build__map__title")
    )
    image = work.image
    viewer = None
    if image is not None:
        urls = work.picture_urls()
        viewer = {
            "width": image.width,
            "height": image.height,
            "sizes": [
                [name, settings.IMAGE_SIZES[name], urls.get(name)]
                for name in sorted(settings.IMAGE_SIZES, key=lambda size: settings.IMAGE_SIZES[size])
            ],
            "detail": reverse("api:artwork-detail", kwargs={"accession_number": work.accession_number}),
        }
    return render(
        request,
        "frontend/artwork.html",
        {
            "work": work,
            "on_maps": on_maps,
            "viewer": viewer,
            "similar_url": reverse("api:artwork-similar", kwargs={"accession_number": work.accession_number}) + "?k=12",
            "work_url_pattern": reverse("frontend:artwork", kwargs={"accession_number": "__acc__"}),
            "js_strings": js_strings(),
        },
    )


def decades(request: HttpRequest) -> HttpResponse:
    maps = _live_maps()
    slug = _default_map(maps, request.GET.get("map"))
    config = {
        "api": reverse("api:api-root"),
        "map": slug,
        "mapUrl": reverse("frontend:home"),
        "workUrl": reverse("frontend:artwork", kwargs={"accession_number": "__acc__"}),
    }
    return render(
        request,
        "frontend/decades.html",
        {"maps": maps, "current_map": slug, "config": config, "js_strings": js_strings()},
    )
