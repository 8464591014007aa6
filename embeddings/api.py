"""Maps, points and decades over the API. Unpublished works never appear for visitors."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control
from django.views.decorators.gzip import gzip_page
from django.utils.decorators import method_decorator
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from collection.api.auth import request_sees_unpublished
from collection.api.serializers import ArtworkSerializer
from collection.api.views import StrictQueryParamsMixin
from collection.models import Artwork
from embeddings.models import Cluster, DecadeWork, Map, MapBuild, MapPoint

# Coordinates in [-1, 1] are sent as integers in [-32767, 32767]: a third of the bytes of floats.
COORD_SCALE = 32767


class BuildSerializer(serializers.ModelSerializer):
    class Meta:
        model = MapBuild
        fields = ["version", "feature_version", "params", "metrics", "placed_metrics", "n_points", "created", "finished"]


class ClusterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Cluster
        fields = ["label", "name", "terms", "size", "x", "y"]


class MapSerializer(serializers.ModelSerializer):
    build = BuildSerializer(source="live_build", read_only=True)

    class Meta:
        model = Map
        fields = ["slug", "title", "subject", "classification", "build"]


class MapDetailSerializer(MapSerializer):
    clusters = serializers.SerializerMethodField()

    class Meta(MapSerializer.Meta):
        fields = MapSerializer.Meta.fields + ["clusters"]

    def get_clusters(self, obj: Map) -> list[dict[str, Any]]:
        if obj.live_build is None:
            return []
        return ClusterSerializer(obj.live_build.clusters.all(), many=True).data


class MapViewSet(StrictQueryParamsMixin, viewsets.ReadOnlyModelViewSet):
    lookup_field = "slug"
    queryset = Map.objects.select_related("live_build").order_by("slug")
    pagination_class = None

    def get_serializer_class(self) -> type:
        return MapDetailSerializer if self.action == "retrieve" else MapSerializer


def _visible_points(request: Request, build: MapBuild) -> QuerySet[MapPoint]:
    points = build.points.all()
    if not request_sees_unpublished(request):
        points = points.filter(artwork__published=True)
    return points


@method_decorator(gzip_page, name="dispatch")
class MapPointsView(APIView):
    """Every visible work's id and position on the live build, in one compact, cacheable response."""

    @extend_schema(
        responses=inline_serializer(
            "MapPoints",
            {
                "map": serializers.CharField(),
                "build": serializers.IntegerField(),
                "tag": serializers.CharField(),
                "scale": serializers.IntegerField(),
                "ids": serializers.ListField(child=serializers.IntegerField()),
                "x": serializers.ListField(child=serializers.IntegerField()),
                "y": serializers.ListField(child=serializers.IntegerField()),
                "placed": serializers.ListField(child=serializers.IntegerField()),
                "cluster": serializers.ListField(child=serializers.IntegerField()),
            },
        )
    )
    def get(self, request: Request, slug: str) -> Response:
        map_obj = get_object_or_404(Map.objects.select_related("live_build"), slug=slug)
        build = map_obj.live_build
        if build is None:
            raise NotFound(f"map {slug!r} has no build yet")
        rows = _visible_points(request, build).order_by("artwork_id").values_list("artwork_id", "x", "y", "placed", "cluster")
        ids, xs, ys, placed, clusters = [], [], [], [], []
        for artwork_id, x, y, is_placed, cluster in rows.iterator(chunk_size=10000):
            ids.append(artwork_id)
            xs.append(round(x * COORD_SCALE))
            ys.append(round(y * COORD_SCALE))
            if is_placed:
                placed.append(artwork_id)
            clusters.append(-1 if cluster is None else cluster)
        response = Response(
            {
                "map": map_obj.slug, "build": build.version, "tag": f"{build.pk}-{build.version}-{len(ids)}-{ids[-1] if ids else 0}",
                "scale": COORD_SCALE, "ids": ids, "x": xs, "y": ys, "placed": placed, "cluster": clusters,
            }
        )
        if not request_sees_unpublished(request):
            patch_cache_control(response, public=True, max_age=60)
        return response


class DecadeWorkSerializer(serializers.Serializer):
    kind = serializers.CharField()
    rank = serializers.IntegerField()
    distance = serializers.FloatField()
    artwork = ArtworkSerializer()


def _decade_rows(request: Request, map_slug: str | None) -> tuple[Map, QuerySet[DecadeWork]]:
    if not map_slug:
        raise ValidationError({"map": "Give the map's slug, e.g. ?map=all."})
    map_obj = get_object_or_404(Map.objects.select_related("live_build"), slug=map_slug)
    if map_obj.live_build is None:
        raise NotFound(f"map {map_slug!r} has no build yet")
    rows = DecadeWork.objects.filter(build=map_obj.live_build).select_related("artwork__image").prefetch_related(
        "artwork__credits__artist", "artwork__labels"
    )
    # Decades are computed over published works; this guards a work unpublished since.
    rows = rows.filter(artwork__published=True)
    return map_obj, rows


class DecadeListView(StrictQueryParamsMixin, APIView):
    extra_query_params = {"map"}

    @extend_schema(parameters=[OpenApiParameter("map", str, required=True)])
    def get(self, request: Request) -> Response:
        map_obj, rows = _decade_rows(request, request.query_params.get("map"))
        decades: dict[int, dict[str, Any]] = {}
        for row in rows:
            entry = decades.setdefault(row.decade, {"decade": row.decade, "count": row.decade_count, "typical": [], "outliers": []})
            item = {"rank": row.rank, "distance": row.distance, "artwork": ArtworkSerializer(row.artwork, context={"request": request}).data}
            entry["typical" if row.kind == DecadeWork.Kind.TYPICAL else "outliers"].append(item)
        return Response({"map": map_obj.slug, "build": map_obj.live_build.version, "decades": [decades[d] for d in sorted(decades)]})


class DecadeDetailView(StrictQueryParamsMixin, APIView):
    extra_query_params = {"map"}

    @extend_schema(parameters=[OpenApiParameter("map", str, required=True)])
    def get(self, request: Request, decade: int) -> Response:
        map_obj, rows = _decade_rows(request, request.query_params.get("map"))
        rows = list(rows.filter(decade=decade))
        if not rows:
            raise NotFound(f"no summary for the {decade}s on map {map_obj.slug!r} (too few works, or none)")
        serialise = lambda r: {"rank": r.rank, "distance": r.distance, "artwork": ArtworkSerializer(r.artwork, context={"request": request}).data}  # noqa: E731
        return Response(
            {
                "map": map_obj.slug, "decade": decade, "count": rows[0].decade_count,
                "typical": [serialise(r) for r in rows if r.kind == DecadeWork.Kind.TYPICAL],
                "outliers": [serialise(r) for r in rows if r.kind == DecadeWork.Kind.OUTLIER],
            }
        )
