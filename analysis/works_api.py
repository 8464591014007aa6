"""What the ML stage adds to collection's works API: a work's objects and faces, the ``object`` filter, object labels.

collection/ does not know about any of it: AnalysisConfig.ready() registers the fields and the filter
through collection's hooks (add_detail_field, add_filter), and the labels view is routed by
analysis/api_urls.py.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django_filters.constants import EMPTY_VALUES
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis.models import Detection
from collection.api.auth import request_sees_unpublished
from collection.api.filters import add_filter
from collection.api.serializers import add_detail_field
from collection.api.views import StrictQueryParamsMixin
from collection.models import Artwork

BOX_HELP = "[x0, y0, x1, y1] as fractions of the image's width and height, origin top left."


class DetectedObjectSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="COCO category, e.g. 'horse'.")  # type: ignore[assignment]  # a field named like Field.label
    score = serializers.FloatField(help_text="The detector's confidence, 0–1.")
    box = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4, help_text=BOX_HELP)


class ArtworkFaceSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The face's id under /api/v1/faces/.")
    box = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4, help_text=BOX_HELP)
    crop = serializers.URLField(allow_null=True, help_text="A square crop around the face.")


class ObjectLabelSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    count = serializers.IntegerField(help_text="Published works in which this object was detected.")


@extend_schema_field(DetectedObjectSerializer(many=True))
def detected_objects(serializer: Any, obj: Artwork) -> list[dict[str, Any]]:
    """A work's trusted detections, best first; a visitor sees none of an unpublished work's."""
    detections = Detection.objects.filter(artwork=obj, trusted=True)
    request = serializer.context.get("request")
    if request is None or not request_sees_unpublished(request):
        detections = detections.visible()
    return [
        {"label": d.label, "score": round(d.score, 4), "box": [round(v, 5) for v in d.box]}
        for d in detections.order_by("-score", "pk")
    ]


@extend_schema_field(ArtworkFaceSerializer(many=True))
def artwork_faces(serializer: Any, obj: Artwork) -> list[dict[str, Any]]:
    from analysis.api import face_crop_url

    request = serializer.context.get("request")
    return [
        {"id": f.pk, "box": [round(v, 5) for v in f.box], "crop": face_crop_url(f, request)}
        for f in obj.faces.order_by("index", "pk")
    ]


class ObjectFilter(django_filters.CharFilter):
    """Works in which an object was detected; only detections from trusted weights count."""

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if value in EMPTY_VALUES:
            return qs
        # Publication is the queryset's business, and for visitors visible() checks it again.
        detections = Detection.objects.filter(trusted=True, label__iexact=value.strip())
        request = getattr(self.parent, "request", None)
        if request is None or not request_sees_unpublished(request):
            detections = detections.visible()
        return qs.filter(pk__in=detections.values("artwork_id"))


def extend_works_api() -> None:
    """Called once from AnalysisConfig.ready(): the works API shows and filters by what this stage found."""
    add_detail_field(
        "objects",
        detected_objects,
        help_text="Objects detected in the picture, best first; empty until detection has run with real weights.",
    )
    add_detail_field("faces", artwork_faces, help_text="Faces found in the picture, largest first.")
    add_filter(
        "object",
        ObjectFilter(
            max_length=100,
            help_text="An object detected in the picture, e.g. horse (see /api/v1/objects/ for the labels).",
        ),
    )


class ObjectLabelListView(StrictQueryParamsMixin, APIView):
    """Objects detected in published works, with how many works show each: the map's object filter offers these.

    Empty while detection has never run with real (trusted) weights.
    """

    def check_query_params(self, request: Request) -> None:
        unknown = sorted(set(request.query_params) - {"q", "format"})
        if unknown:
            raise ValidationError({"detail": f"Unknown query parameter(s): {', '.join(unknown)}.", "allowed": ["q"]})

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="Only labels starting with this text, e.g. 'ho'.")],
        responses=ObjectLabelSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        prefix = request.query_params.get("q", "").strip()
        if len(prefix) > 100:
            raise ValidationError({"q": "At most 100 characters."})
        return Response(ObjectLabelSerializer(Detection.objects.label_counts(prefix), many=True).data)
