"""Maps, points and decades over the API. Unpublished works never appear for visitors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.views.decorators.gzip import gzip_page
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from collection.api.auth import request_sees_unpublished
from collection.api.filters import ArtworkFilter
from collection.api.schema import ErrorSerializer
from collection.api.serializers import ArtworkSerializer
from collection.api.views import StrictQueryParamsMixin
from core.stamp import current_stamp
from maps.layout_payload import LAYOUTS, available_layouts, layout_payload, translate_regions
from maps.models import Cluster, DecadeWork, Map, MapBuild, MapPoint
from maps.names import localized_name

# Coordinates in [-1, 1] are sent as integers in [-32767, 32767]: a third of the bytes of floats.
COORD_SCALE = 32767


# Counts inside the fit's quality metrics: they include unpublished works, so visitors do not get them.
UNPUBLISHED_COUNTS = ("n_points", "n_evaluated", "subsampled")


class BuildSerializer(serializers.ModelSerializer):
    """A build as its viewer may see it: visitors and partners get counts of published works only.

    ``n_points`` is the published points (``MapBuild.n_published``, refreshed when publication
    changes) and the fit's metrics lose their counts; ``placed_metrics`` are computed over
    published works already (``maps.summaries.placed_quality``). Curators get the full record.
    """

    class Meta:
        model = MapBuild
        fields = [
            "version",
            "feature_version",
            "params",
            "metrics",
            "placed_metrics",
            "n_points",
            "created",
            "finished",
        ]

    def to_representation(self, build: MapBuild) -> dict[str, Any]:
        data = super().to_representation(build)
        request = self.context.get("request")
        if request is None or not request_sees_unpublished(request):
            data["n_points"] = build.n_published
            data["metrics"] = {
                name: (
                    {k: v for k, v in value.items() if k not in UNPUBLISHED_COUNTS}
                    if isinstance(value, dict)
                    else value
                )
                for name, value in (build.metrics or {}).items()
            }
        return data


class ClusterSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField(help_text="In the request's language where a term has a translation.")

    class Meta:
        model = Cluster
        fields = ["label", "name", "terms", "size", "x", "y", "points"]
        extra_kwargs = {
            "points": {"help_text": "Up to 5 point ids (artwork ids, face ids on a faces map) nearest the centre."}
        }

    def get_name(self, obj: Cluster) -> str:
        return localized_name(obj.name, obj.terms or [])


class MapSerializer(serializers.ModelSerializer):
    build = BuildSerializer(source="live_build", read_only=True)

    class Meta:
        model = Map
        fields = ["slug", "title", "subject", "classification", "build"]


class MapDetailSerializer(MapSerializer):
    clusters = serializers.SerializerMethodField()
    atlases = serializers.SerializerMethodField(
        help_text="Thumbnail texture atlases of the live build (maps.atlas), or null."
    )
    filters = serializers.SerializerMethodField(help_text="Filter names /api/v1/maps/{slug}/match/ understands.")
    layouts = serializers.SerializerMethodField(
        help_text="The layouts the live build's data supports: values of the points' ?layout=."
    )

    class Meta(MapSerializer.Meta):
        fields = MapSerializer.Meta.fields + ["clusters", "atlases", "filters", "layouts"]

    def get_clusters(self, obj: Map) -> list[dict[str, Any]]:
        if obj.live_build is None:
            return []
        return list(ClusterSerializer(obj.live_build.clusters.all(), many=True).data)

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_atlases(self, obj: Map) -> dict[str, Any] | None:
        from maps.atlas import public_description

        return public_description(obj.live_build.atlases) if obj.live_build else None

    def get_filters(self, obj: Map) -> list[str]:
        return map_filter_names()

    def get_layouts(self, obj: Map) -> list[str]:
        if obj.live_build is None:
            return ["tsne"]
        request = self.context.get("request")
        sees_all = request is not None and request_sees_unpublished(request)
        # Scans the build's works (several queries, O(works)): once per build, viewer kind and index stamp, as
        # the points are, not on every visitor's request.
        key = f"map-layouts:{obj.live_build.pk}:{int(sees_all)}:{current_stamp()}"
        layouts = cache.get(key)
        if layouts is None:
            points = obj.live_build.points.all()
            layouts = available_layouts(points if sees_all else points.filter(artwork__published=True))
            cache.set(key, layouts, 3600)
        return layouts


class MapViewSet(StrictQueryParamsMixin, viewsets.ReadOnlyModelViewSet):
    lookup_field = "slug"
    queryset = Map.objects.select_related("live_build").order_by("slug")
    pagination_class = None

    def get_serializer_class(self) -> type:
        return MapDetailSerializer if self.action == "retrieve" else MapSerializer


# The map page's curator view (``/?curator=1``) sends this to the map API; see map_sees_unpublished.
CURATOR_VIEW_PARAM = "curator"


def map_sees_unpublished(request: Request) -> bool:
    """Whether the map answers with unpublished works too: only in curator view, and only to a curator.

    Without the flag a curator sees the map as visitors do, so the public map is what they check; the flag
    alone grants nothing (an anonymous visitor or a partner token gets published works whatever it sends).
    """
    return request.query_params.get(CURATOR_VIEW_PARAM) == "1" and request_sees_unpublished(request)


def visible_points(request: Request, build: MapBuild) -> QuerySet[MapPoint]:
    points = build.points.all()
    if not map_sees_unpublished(request):
        points = points.filter(artwork__published=True)
    return points


# How long one request may hold the right to lay a layout out, and how long the others are told to wait.
LAYOUT_LOCK_S = 120
LAYOUT_RETRY_S = 5


def cached_once(key: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    """The cached payload, or one computed here; None while another request computes it.

    A layout of 100,000 works takes seconds and its key changes with every vector or publication change
    (current_stamp), so without this every visitor asking after a change would lay the map out at once:
    one computation per key at a time, whatever the number of clients.
    """
    payload = cache.get(key)
    if payload is not None:
        return payload
    lock = f"{key}:computing"
    if not cache.add(lock, 1, LAYOUT_LOCK_S):
        return None
    try:
        payload = compute()
        cache.set(key, payload, 3600)
    finally:
        cache.delete(lock)
    return payload


NOT_WITH_LAYOUT = "Left out with ?layout=."
MAP_POINTS = inline_serializer(
    "MapPoints",
    {
        "map": serializers.CharField(),
        "build": serializers.IntegerField(),
        "tag": serializers.CharField(),
        "scale": serializers.IntegerField(),
        # With ?layout= the answer carries only x, y and the layout's fields, parallel to the ids of the
        # answer without it (same tag): ids, placed and cluster are not sent twice.
        "ids": serializers.ListField(child=serializers.IntegerField(), required=False, help_text=NOT_WITH_LAYOUT),
        "x": serializers.ListField(child=serializers.IntegerField()),
        "y": serializers.ListField(child=serializers.IntegerField()),
        "placed": serializers.ListField(child=serializers.IntegerField(), required=False, help_text=NOT_WITH_LAYOUT),
        "cluster": serializers.ListField(child=serializers.IntegerField(), required=False, help_text=NOT_WITH_LAYOUT),
        "subject": serializers.CharField(required=False, help_text='"faces" on a faces map, where ids are face ids.'),
        "artworks": serializers.ListField(
            child=serializers.IntegerField(),
            required=False,
            help_text="Faces maps only: the work of each face, parallel to ids.",
        ),
        "layout": serializers.CharField(
            required=False, help_text="With ?layout=: x and y are that layout's, parallel to the ids."
        ),
        "cell": serializers.FloatField(required=False, help_text="With ?layout=: the cell pitch, in x units."),
        "regions": serializers.ListField(
            child=serializers.DictField(), required=False, help_text="Timeline bands or group blocks."
        ),
        "group_by": serializers.CharField(
            required=False, help_text='With ?layout=group: what the blocks are ("classification" or "style").'
        ),
    },
)


@method_decorator(gzip_page, name="dispatch")
class MapPointsView(APIView):
    """Every visible work's id and position on the live build, in one compact, cacheable response."""

    @extend_schema(
        responses={
            200: MAP_POINTS,
            503: OpenApiResponse(ErrorSerializer, description="The layout is being laid out by another request."),
        },
        parameters=[OpenApiParameter("layout", str, enum=list(LAYOUTS), required=False)],
    )
    def get(self, request: Request, slug: str) -> Response:
        map_obj = get_object_or_404(Map.objects.select_related("live_build"), slug=slug)
        build = map_obj.live_build
        if build is None:
            raise NotFound(f"map {slug!r} has no build yet")
        layout = request.query_params.get("layout", "tsne")
        if layout not in LAYOUTS:
            raise ValidationError({"layout": f"one of {', '.join(LAYOUTS)}"})
        sees_all = map_sees_unpublished(request)
        # The stamp changes with any vector, work or point change, so a cached answer is never stale.
        stamp = current_stamp()
        key = f"map-points:{build.pk}:{int(sees_all)}:{stamp}"
        payload = cache.get(key)
        if payload is None:
            payload = _points_payload(map_obj, build, sees_all)
            cache.set(key, payload, 3600)
        if layout != "tsne":
            points = build.points.all() if sees_all else build.points.filter(artwork__published=True)
            base = payload

            def lay_out() -> dict[str, Any]:
                laid = layout_payload(points, point_field(map_obj), build, layout, COORD_SCALE)
                return {**laid, "map": map_obj.slug, "build": build.version, "tag": base["tag"]}

            payload = cached_once(f"{key}:{layout}", lay_out)
            if payload is None:
                return Response(
                    {"detail": f"the {layout} layout is being laid out; ask again in a few seconds"},
                    status=503,
                    headers={"Retry-After": str(LAYOUT_RETRY_S)},
                )
            payload = translate_regions(payload)
        response = Response(payload)
        response["ETag"] = f'"{payload["tag"]}"' if layout == "tsne" else f'"{payload["tag"]}-{layout}"'
        # Public only for viewers who could never see more: a curator's answer stays private, flag or not.
        if not request_sees_unpublished(request):
            patch_cache_control(response, public=True, max_age=60)
        return response


def is_faces_map(map_obj: Map) -> bool:
    return map_obj.subject == Map.Subject.FACES


def point_field(map_obj: Map) -> str:
    """A point's id: the work's on an artworks map, the face's on a faces map."""
    return "face_id" if is_faces_map(map_obj) else "artwork_id"


def _points_payload(map_obj: Map, build: MapBuild, sees_all: bool) -> dict[str, Any]:
    points = build.points.all() if sees_all else build.points.filter(artwork__published=True)
    key = point_field(map_obj)
    rows = points.order_by(key).values_list(key, "x", "y", "placed", "cluster", "artwork_id")
    ids, xs, ys, placed, clusters, artworks = [], [], [], [], [], []
    for point_id, x, y, is_placed, cluster, artwork_id in rows.iterator(chunk_size=10000):
        ids.append(point_id)
        xs.append(round(x * COORD_SCALE))
        ys.append(round(y * COORD_SCALE))
        if is_placed:
            placed.append(point_id)
        clusters.append(-1 if cluster is None else cluster)
        artworks.append(artwork_id)
    payload = {
        "map": map_obj.slug,
        "build": build.version,
        "tag": f"{build.pk}-{build.version}-{len(ids)}-{current_stamp()[:8]}",
        "scale": COORD_SCALE,
        "ids": ids,
        "x": xs,
        "y": ys,
        "placed": placed,
        "cluster": clusters,
    }
    if is_faces_map(map_obj):
        payload.update(subject=map_obj.subject, artworks=artworks)
    return payload


class RankedWorkSerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text="0 is the most typical (or the most outlying).")
    distance = serializers.FloatField(help_text="Cosine distance to the decade's mean embedding.")
    artwork = ArtworkSerializer()


class DecadeSerializer(serializers.Serializer):
    decade = serializers.IntegerField(help_text="First year of the decade, e.g. 1880.")
    count = serializers.IntegerField(help_text="Published works of the decade on this map.")
    typical = RankedWorkSerializer(many=True)
    outliers = RankedWorkSerializer(many=True)


class DecadeListSerializer(serializers.Serializer):
    map = serializers.CharField()
    build = serializers.IntegerField()
    decades = DecadeSerializer(many=True)


class DecadeDetailSerializer(DecadeSerializer):
    map = serializers.CharField()


def _decade_rows(request: Request, map_slug: str | None) -> tuple[Map, QuerySet[DecadeWork]]:
    if not map_slug:
        raise ValidationError({"map": "Give the map's slug, e.g. ?map=all."})
    map_obj = get_object_or_404(Map.objects.select_related("live_build"), slug=map_slug)
    if map_obj.live_build is None:
        raise NotFound(f"map {map_slug!r} has no build yet")
    rows = (
        DecadeWork.objects.filter(build=map_obj.live_build)
        .select_related("artwork__image")
        .prefetch_related("artwork__credits__artist", "artwork__labels")
    )
    # Decades are computed over published works; this guards a work unpublished since.
    rows = rows.filter(artwork__published=True)
    return map_obj, rows


class DecadeListView(StrictQueryParamsMixin, APIView):
    extra_query_params = {"map"}

    @extend_schema(
        operation_id="decades_list",
        parameters=[OpenApiParameter("map", str, required=True)],
        responses={
            200: DecadeListSerializer,
            404: OpenApiResponse(ErrorSerializer, description="No such map, or it has no build yet."),
        },
    )
    def get(self, request: Request) -> Response:
        map_obj, rows = _decade_rows(request, request.query_params.get("map"))
        decades: dict[int, dict[str, Any]] = {}
        for row in rows:
            entry = decades.setdefault(
                row.decade, {"decade": row.decade, "count": row.decade_count, "typical": [], "outliers": []}
            )
            item = {
                "rank": row.rank,
                "distance": row.distance,
                "artwork": ArtworkSerializer(row.artwork, context={"request": request}).data,
            }
            entry["typical" if row.kind == DecadeWork.Kind.TYPICAL else "outliers"].append(item)
        build = map_obj.live_build  # never None: _decade_rows answered 404 otherwise
        return Response(
            {
                "map": map_obj.slug,
                "build": build.version if build else None,
                "decades": [decades[d] for d in sorted(decades)],
            }
        )


class DecadeDetailView(StrictQueryParamsMixin, APIView):
    extra_query_params = {"map"}

    @extend_schema(
        operation_id="decades_retrieve",
        parameters=[OpenApiParameter("map", str, required=True)],
        responses=DecadeDetailSerializer,
    )
    def get(self, request: Request, decade: int) -> Response:
        map_obj, rows = _decade_rows(request, request.query_params.get("map"))
        found = list(rows.filter(decade=decade))
        if not found:
            raise NotFound(f"no summary for the {decade}s on map {map_obj.slug!r} (too few works, or none)")

        def serialise(r: DecadeWork) -> dict[str, Any]:
            artwork = ArtworkSerializer(r.artwork, context={"request": request}).data
            return {"rank": r.rank, "distance": r.distance, "artwork": artwork}

        return Response(
            {
                "map": map_obj.slug,
                "decade": decade,
                "count": found[0].decade_count,
                "typical": [serialise(r) for r in found if r.kind == DecadeWork.Kind.TYPICAL],
                "outliers": [serialise(r) for r in found if r.kind == DecadeWork.Kind.OUTLIER],
            }
        )


# Filters the map page may send; "object" is ArtworkFilter's once analysis has registered it (AnalysisConfig.ready).
MAP_FILTER_PARAMS = ("q", "artist", "decade", "year_min", "year_max", "classification", "style", "motif", "object")


def map_filter_names() -> list[str]:
    return [name for name in MAP_FILTER_PARAMS if name in ArtworkFilter.base_filters]
