"""Faces over the API: the painted faces, faces like one of them, and search by a visitor's face.

Views check access, call one function and serialise. Faces of unpublished works
are visible to curators in the list only; similar faces and search answer from
published works for everyone. The web process never loads dlib: the visitor's
photo is described by the ``gpu`` worker (analysis.client.face_upload).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis.models import Face
from collection.api.auth import AnonThrottle, PartnerTokenThrottle, PhotoSearchThrottle, request_sees_unpublished
from collection.api.schema import ErrorSerializer
from collection.api.uploads import read_photo
from collection.api.views import StrictQueryParamsMixin, parse_k


class FaceFilter(django_filters.FilterSet):
    artwork = django_filters.CharFilter(
        field_name="artwork__accession_number", max_length=100, help_text="The work's accession number."
    )
    decade = django_filters.NumberFilter(field_name="artwork__decade", help_text="e.g. 1880")

    class Meta:
        model = Face
        fields: list[str] = []


class FaceArtworkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    accession_number = serializers.CharField()
    title = serializers.CharField()
    artist = serializers.CharField(source="artist_display")
    date = serializers.CharField(source="date_display")
    decade = serializers.IntegerField(allow_null=True)
    url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_url(self, obj: Any) -> str | None:
        from collection.values import artwork_url

        path = artwork_url("api:artwork-detail", obj.accession_number)
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request and path else path


class FaceSerializer(serializers.ModelSerializer):
    box = serializers.ListField(
        child=serializers.FloatField(),
        read_only=True,
        help_text="[x0, y0, x1, y1] as fractions of the work's image width and height, origin top left.",
    )
    crop = serializers.SerializerMethodField(help_text="URL of a square crop around the face.")
    artwork = FaceArtworkSerializer(read_only=True)

    class Meta:
        model = Face
        fields = ["id", "index", "score", "box", "crop", "model_version", "artwork"]

    def get_crop(self, obj: Face) -> str | None:
        return face_crop_url(obj, self.context.get("request"))


def face_crop_url(face: Face, request: Request | None = None) -> str | None:
    from analysis.facecrops import crop_url

    url = crop_url(face)
    if url is None:
        return None
    return request.build_absolute_uri(url) if request is not None else url


class SimilarFaceSerializer(serializers.Serializer):
    distance = serializers.FloatField(
        help_text="Euclidean distance of the dlib descriptors; below ~0.6 dlib calls it the same person."
    )
    face = FaceSerializer()


class FaceSearchSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="A photo with a face; it is never stored or logged.")
    k = serializers.IntegerField(required=False, min_value=1, max_value=100)


def _serialise(request: Request, pairs: list[tuple[Face, float]]) -> list[dict[str, Any]]:
    return [
        {"distance": round(distance, 6), "face": FaceSerializer(face, context={"request": request}).data}
        for face, distance in pairs
    ]


class FaceViewSet(StrictQueryParamsMixin, viewsets.ReadOnlyModelViewSet):
    """Faces found in the works, largest first within a work."""

    serializer_class = FaceSerializer
    filterset_class = FaceFilter
    action_query_params = {"similar": {"k"}}
    ordering_fields = ["id", "score"]
    ordering = ["id"]

    def get_queryset(self) -> QuerySet[Face]:
        qs = Face.objects.select_related("artwork")
        return qs if request_sees_unpublished(self.request) else qs.visible()

    @extend_schema(
        parameters=[OpenApiParameter("k", int, description="How many faces (1–100, default 12).")],
        responses=SimilarFaceSerializer(many=True),
    )
    @action(detail=True, methods=["get"], url_path="similar", filter_backends=[], pagination_class=None)
    def similar(self, request: Request, pk: str) -> Response:
        from analysis import faceindex

        face = self.get_object()
        return Response(_serialise(request, faceindex.with_faces(faceindex.similar_faces(face, parse_k(request)))))


class FaceSearchView(APIView):
    """The painted faces most like the face in a visitor's photo. The photo is never stored or logged."""

    public_post = True
    parser_classes = [parsers.MultiPartParser]
    throttle_classes = [PhotoSearchThrottle, AnonThrottle, PartnerTokenThrottle]

    @extend_schema(
        request={"multipart/form-data": FaceSearchSerializer},
        responses={
            200: SimilarFaceSerializer(many=True),
            422: OpenApiResponse(ErrorSerializer, description="No face was found in the photo."),
            503: OpenApiResponse(ErrorSerializer, description="The ML worker did not answer."),
        },
    )
    def post(self, request: Request) -> Response:
        from analysis import faceindex
        from analysis.client import NoFaceFound, UploadEmbeddingError, face_upload

        data, fields = read_photo(request, FaceSearchSerializer)
        try:
            version, descriptor = face_upload(data)
        except NoFaceFound as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        except UploadEmbeddingError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        finally:
            del data
        neighbours = faceindex.nearest_faces(version, descriptor, fields.get("k") or 12)
        return Response(_serialise(request, faceindex.with_faces(neighbours)))
