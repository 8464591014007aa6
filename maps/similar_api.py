"""Similar works and search by image over the API: the maps stage answers from its similarity index.

Routed by maps/api_urls.py; config/urls.py puts these routes before collection's, so
``artworks/1986/23/similar/`` reaches SimilarWorksView although accession numbers may hold "/".
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from collection.api.auth import AnonThrottle, PartnerTokenThrottle, PhotoSearchThrottle
from collection.api.schema import ErrorSerializer
from collection.api.serializers import ArtworkSerializer
from collection.api.uploads import read_photo
from collection.api.views import ArtworkViewSet, parse_k
from collection.models import Artwork


class SimilarWorkSerializer(serializers.Serializer):
    score = serializers.FloatField(help_text="Cosine similarity of the two works' embeddings.")
    artwork = ArtworkSerializer()


class ImageSearchSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="A photo; it is never stored.")
    k = serializers.IntegerField(required=False, min_value=1, max_value=100)


def _serialise_neighbours(request: Request, pairs: list[tuple[Artwork, float]]) -> list[dict[str, Any]]:
    return [
        {"score": round(score, 6), "artwork": ArtworkSerializer(work, context={"request": request}).data}
        for work, score in pairs
    ]


class SimilarWorksView(ArtworkViewSet):
    """The published works most like this one, by their features."""

    # collection's works view (same lookup, visibility and throttles), owned by this stage so that
    # collection/ never imports the index.

    action_query_params = {"similar": {"k"}}
    filterset_class = None  # type: ignore[assignment]  # the works filters do not apply to neighbours
    pagination_class = None

    @extend_schema(
        parameters=[OpenApiParameter("k", int, description="How many works (1–100, default 12).")],
        responses={
            200: SimilarWorkSerializer(many=True),
            409: OpenApiResponse(
                ErrorSerializer, description="The work has no features yet, or no feature model is active."
            ),
        },
    )
    def similar(self, request: Request, accession_number: str) -> Response:
        from maps import similar

        artwork = self.get_object()
        k = parse_k(request)
        try:
            neighbours = similar.similar_to(artwork, k)
        except similar.NotEmbedded as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(_serialise_neighbours(request, similar.with_artworks(neighbours)))


class ImageSearchView(APIView):
    """Nearest works to an uploaded photo. The photo is decoded in memory and never stored or logged."""

    public_post = True
    throttle_classes = [PhotoSearchThrottle, AnonThrottle, PartnerTokenThrottle]
    parser_classes = [parsers.MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": ImageSearchSerializer},
        responses={
            200: SimilarWorkSerializer(many=True),
            503: OpenApiResponse(
                ErrorSerializer, description="No feature model is active, or the ML worker did not answer."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        from analysis.client import UploadEmbeddingError, embed_upload
        from maps import similar

        data, fields = read_photo(request, ImageSearchSerializer)
        try:
            vector = embed_upload(data)
            neighbours = similar.nearest_to_vector(vector, fields.get("k") or 12)
        except (similar.NotEmbedded, UploadEmbeddingError) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(_serialise_neighbours(request, similar.with_artworks(neighbours)))
