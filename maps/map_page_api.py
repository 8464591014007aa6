"""The map page's own API: work details in batches as the visitor hovers and zooms, filter matches, CSV export.

Routed from maps/api_urls.py; the maps, points and decades are in maps/api.py.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.views.decorators.gzip import gzip_page
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis.facecrops import CROP_SIZE, crop_url
from collection.api.auth import AnonThrottle, PartnerTokenThrottle, SearchThrottle
from collection.api.filters import ArtworkFilter
from collection.models import Artwork
from collection.values import INT64_MAX, csv_safe, parse_id
from maps.api import (
    CURATOR_VIEW_PARAM,
    MAP_FILTER_PARAMS,
    is_faces_map,
    map_sees_unpublished,
    point_field,
    visible_points,
)
from maps.models import Map, MapBuild, MapPoint

# Coordinates in [-1, 1] are sent as integers in [-32767, 32767]: a third of the bytes of floats.
COORD_SCALE = 32767


# Counts inside the fit's quality metrics: they include unpublished works, so visitors do not get them.
UNPUBLISHED_COUNTS = ("n_points", "n_evaluated", "subsampled")


MAX_WORKS_PER_REQUEST = 500
MAX_EXPORT = 200_000


class MapDataThrottle(AnonThrottle):
    """The map page asks for work details as the visitor hovers and zooms: a wider anonymous limit."""

    scope = "anon-map"
    rate = settings.API_MAP_RATE


def _live_map(slug: str) -> tuple[Map, MapBuild]:
    map_obj = get_object_or_404(Map.objects.select_related("live_build"), slug=slug)
    if map_obj.live_build is None:
        raise NotFound(f"map {slug!r} has no build yet")
    return map_obj, map_obj.live_build


def _parse_ids(raw: Any, limit: int) -> list[int]:
    if isinstance(raw, str):
        raw = [part for part in raw.replace(" ", "").split(",") if part]
    if not isinstance(raw, (list, tuple)):
        raise ValidationError({"ids": "Give artwork ids, e.g. ?ids=1,2,3."})
    if len(raw) > limit:
        raise ValidationError({"ids": f"At most {limit} ids per request."})
    try:
        return sorted({parse_id(v) for v in raw})
    except (TypeError, ValueError):
        raise ValidationError({"ids": f"Ids are whole numbers from 1 to {INT64_MAX}."}) from None


def _page_url(accession_number: str) -> str | None:
    try:
        return reverse("frontend:artwork", kwargs={"accession_number": accession_number})
    except NoReverseMatch:
        return None


def _work_rows(request: Request, map_obj: Map, build: MapBuild, ids: list[int]) -> list[MapPoint]:
    key = point_field(map_obj)
    return list(
        visible_points(request, build)
        .filter(**{f"{key}__in": ids})
        .select_related("artwork__image", "face")
        .order_by(key)
    )


def _work_dict(point: MapPoint, classifications: dict[str, str]) -> dict[str, Any]:
    work = point.artwork
    image = work.image
    data = {
        "id": work.pk,
        "accession_number": work.accession_number,
        "title": work.title,
        "artist": work.artist_display,
        "date": work.date_display,
        "year_start": work.year_start,
        "year_end": work.year_end,
        "decade": work.decade,
        "classification": work.classification,
        "classification_label": classifications.get(work.classification, work.classification),
        "page": _page_url(work.accession_number),
        "x": point.x,
        "y": point.y,
        "images": ({**work.picture_urls(), "width": image.width, "height": image.height} if image else None),
    }
    face = point.face
    if face is not None:
        # A faces-map point is a face: the panel and the sharp image show the crop, the page is the work's.
        face.artwork = work  # the same row: spares a query per face
        crop = crop_url(face)
        data.update(id=face.pk, artwork_id=work.pk, face={"box": face.box, "crop": crop})
        if crop:
            data["images"] = {"thumb": crop, "medium": crop, "large": crop, "width": CROP_SIZE, "height": CROP_SIZE}
    return data


@method_decorator(gzip_page, name="dispatch")
class MapWorksView(APIView):
    """Details of some works on a map, for hover labels, the work panel and sharper images.

    GET ``?ids=1,2,3`` (up to 500) returns JSON; POST ``{"ids": [...], "format": "csv"}`` (up to
    200,000, e.g. a lasso selection) returns a CSV download of the same fields.
    """

    public_post = True
    throttle_classes = [MapDataThrottle, PartnerTokenThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "ids",
                str,
                required=True,
                description="Comma-separated point ids (≤ 500): artwork ids, or face ids on a faces map.",
            )
        ],
        responses=inline_serializer("MapWorks", {"works": serializers.ListField(child=serializers.DictField())}),
    )
    def get(self, request: Request, slug: str) -> Response:
        map_obj, build = _live_map(slug)
        ids = _parse_ids(request.query_params.get("ids", ""), MAX_WORKS_PER_REQUEST)
        from collection.models import Classification

        labels = {k: str(v) for k, v in Classification.choices}
        response = Response({"works": [_work_dict(p, labels) for p in _work_rows(request, map_obj, build, ids)]})
        patch_cache_control(response, private=True, max_age=60)
        return response

    @extend_schema(
        request=inline_serializer("MapExport", {"ids": serializers.ListField(child=serializers.IntegerField())}),
        responses={(200, "text/csv"): str},
    )
    def post(self, request: Request, slug: str) -> HttpResponse:
        map_obj, build = _live_map(slug)
        data = request.data
        raw = data.get("ids", "") if hasattr(data, "get") else ""
        if hasattr(data, "getlist") and len(data.getlist("ids")) > 1:  # a form posting ids=1&ids=2
            raw = data.getlist("ids")
        ids = _parse_ids(raw, MAX_EXPORT)
        key = point_field(map_obj)
        faces = is_faces_map(map_obj)
        out = io.StringIO()
        writer = csv.writer(out)
        header = [
            "id",
            "accession_number",
            "title",
            "artist",
            "date",
            "year_start",
            "year_end",
            "decade",
            "classification",
            "medium",
            "x",
            "y",
            "page",
        ]
        writer.writerow(header + (["artwork_id"] if faces else []))
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            rows = (
                visible_points(request, build)
                .filter(**{f"{key}__in": chunk})
                .order_by(key)
                .values_list(
                    key,
                    "artwork__accession_number",
                    "artwork__title",
                    "artwork__artist_display",
                    "artwork__date_display",
                    "artwork__year_start",
                    "artwork__year_end",
                    "artwork__decade",
                    "artwork__classification",
                    "artwork__medium",
                    "x",
                    "y",
                    "artwork_id",
                )
            )
            for row in rows:
                page = _page_url(row[1])
                # ';' and ',' of an accession number encoded, so no splitting of the URL starts a field.
                page = request.build_absolute_uri(page).replace(";", "%3B").replace(",", "%2C") if page else ""
                writer.writerow(
                    [csv_safe(v) for v in row[:10]]
                    + [round(row[10], 6), round(row[11], 6), csv_safe(page)]
                    + ([row[12]] if faces else [])
                )
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{map_obj.slug}-selection.csv"'
        return response


@method_decorator(gzip_page, name="dispatch")
class MapMatchView(APIView):
    """Ids of the works on a map that match the filters (the map highlights them and dims the rest)."""

    # A search over the whole map (text included), not a cheap batch lookup: the search limit, not the map's.
    throttle_classes = [SearchThrottle, PartnerTokenThrottle]

    @extend_schema(
        parameters=[OpenApiParameter(name, str, required=False) for name in MAP_FILTER_PARAMS],
        responses=inline_serializer(
            "MapMatch",
            {
                "ids": serializers.ListField(child=serializers.IntegerField()),
                "count": serializers.IntegerField(),
                "ignored": serializers.ListField(child=serializers.CharField()),
            },
        ),
    )
    def get(self, request: Request, slug: str) -> Response:
        map_obj, build = _live_map(slug)
        unknown = sorted(set(request.query_params) - set(MAP_FILTER_PARAMS) - {"format", CURATOR_VIEW_PARAM})
        if unknown:
            raise ValidationError(
                {"detail": f"Unknown query parameter(s): {', '.join(unknown)}.", "allowed": list(MAP_FILTER_PARAMS)}
            )
        works = Artwork.objects.filter(map_points__build=build)
        if not map_sees_unpublished(request):
            works = works.filter(published=True)
        filterset = ArtworkFilter(request.query_params, queryset=works, request=request)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        ids = sorted(set(filterset.qs.values_list("pk", flat=True)))
        if is_faces_map(map_obj):  # the faces of the matching works
            ids = sorted(set(build.points.filter(artwork_id__in=ids).values_list("face_id", flat=True)))
        # "ignored" is always empty now that every filter in MAP_FILTER_PARAMS is served (analysis registers
        # "object"); kept because the schema documents it to partners.
        return Response({"ids": ids, "count": len(ids), "ignored": []})
