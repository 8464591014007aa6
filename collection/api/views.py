"""Artwork endpoints: views check access, call one service and serialise."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from collection import images, importers, services, values
from collection.api.auth import request_sees_unpublished
from collection.api.filters import ArtworkFilter
from collection.api.serializers import (
    ArtworkDetailSerializer,
    ArtworkSerializer,
    ImageUploadSerializer,
)
from collection.models import Artwork, StaleVersion

# Query parameters every list view understands besides its filters.
COMMON_PARAMS = {"page", "page_size", "ordering", "format"}


class StrictQueryParamsMixin:
    """Unknown query parameters are an error, so a typo'd filter is not silently ignored."""

    extra_query_params: set[str] = set()
    # Actions that take their own parameters instead of the list's, e.g. {"similar": {"k"}}.
    action_query_params: dict[str, set[str]] = {}

    def check_query_params(self, request: Request) -> None:
        action = getattr(self, "action", None)
        if action in self.action_query_params:
            allowed = {"format"} | set(self.action_query_params[action])
        else:
            allowed = set(COMMON_PARAMS) | set(self.extra_query_params)
            filterset = getattr(self, "filterset_class", None)
            if filterset is not None:
                allowed |= set(filterset.base_filters)
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise ValidationError(
                {"detail": f"Unknown query parameter(s): {', '.join(unknown)}.", "allowed": sorted(allowed)}
            )

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if request.method == "GET":
            self.check_query_params(request)


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"


def expected_version(request: Request, artwork: Artwork) -> int | None:
    """The version an If-Match names, for the save to check under the row's lock; no header, no check.

    Our ETags are versions, so a weak form (a proxy that compressed the answer weakens it) names the
    same version and is accepted. A header naming no current version is refused at once.
    """
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tags = [tag.strip() for tag in header.split(",") if tag.strip()]
    if "*" in tags:
        return None
    if any(tag.removeprefix("W/") == artwork.etag for tag in tags):
        return artwork.version
    raise _stale(header, artwork)


def _stale(sent: str, artwork: Artwork) -> PreconditionFailed:
    return PreconditionFailed(
        f"The work was changed by someone else since you read it (If-Match: {sent}; it is now {artwork.etag}). "
        "Nothing was saved: GET it again, re-apply your change and send the new ETag in If-Match."
    )


class ArtworkViewSet(
    StrictQueryParamsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    lookup_field = "accession_number"
    # Accession numbers may hold "/" (1986/23); collection.api.urls matches the actions first, and config.urls
    # puts the later stages' routes under a work (embeddings: .../similar/) before this router's.
    lookup_value_regex = values.ACCESSION_REGEX
    filterset_class = ArtworkFilter
    ordering_fields = ["accession_number", "title", "year_start", "decade", "updated"]
    ordering = ["accession_number"]

    def get_queryset(self) -> QuerySet[Artwork]:
        qs = Artwork.objects.with_related().select_related("image")
        if not request_sees_unpublished(self.request):
            qs = qs.published()
        return qs

    def get_serializer_class(self) -> type:
        if self.action == "list":
            return ArtworkSerializer
        if self.action == "upload_image":
            return ImageUploadSerializer
        return ArtworkDetailSerializer

    def _save(
        self, serializer: BaseSerializer[Any], existing: Artwork | None, *, expected_version: int | None = None
    ) -> Artwork:
        changes = {}
        source_names = {"artist_display": "artist", "date_display": "date"}
        for key, value in serializer.validated_data.items():
            changes[source_names.get(key, key)] = value
        try:
            return services.save_artwork(changes, existing=existing, expected_version=expected_version)
        except importers.AccessionTaken:  # a create raced with another one and lost
            raise accession_taken(changes["accession_number"]) from None
        except importers.RowRejected as exc:
            raise ValidationError({"detail": str(exc)}) from None

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Creates a work; a taken accession number gets one answer, whoever holds it.

        Accession numbers are unique, so a refused create always tells the caller that the number
        is taken. The answer says no more than that: it is the same for a work the caller can read
        and for an unpublished one it cannot (a partner token never reads those), and it names no
        work, so it confirms nothing the caller could not already read (docs/api.md, "Writing").
        Updates and uploads address a work by its number and answer 404 for one the caller cannot
        read, as for one that does not exist.
        """
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        accession = serializer.validated_data.get("accession_number")
        if Artwork.objects.filter(accession_number=accession).exists():
            raise accession_taken(accession)
        try:
            artwork = self._save(serializer, None)
        except IntegrityError:  # a concurrent create took the number first
            raise accession_taken(accession) from None
        return Response(self.get_serializer(artwork).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        artwork = self.get_object()
        return Response(self.get_serializer(artwork).data, headers={"ETag": artwork.etag})

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        existing = self.get_object()
        expected = expected_version(request, existing)
        serializer = self.get_serializer(existing, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        try:
            artwork = self._save(serializer, existing, expected_version=expected)
        except StaleVersion:
            raise _stale(request.headers["If-Match"], Artwork.objects.get(pk=existing.pk)) from None
        return Response(self.get_serializer(artwork).data, headers={"ETag": artwork.etag})

    @extend_schema(request={"multipart/form-data": ImageUploadSerializer}, responses=ArtworkDetailSerializer)
    @action(detail=True, methods=["post"], url_path="image", parser_classes=[parsers.MultiPartParser])
    def upload_image(self, request: Request, accession_number: str) -> Response:
        artwork = self.get_object()
        serializer = ImageUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["image"]
        try:
            services.attach_image(artwork, upload.read(), name=upload.name or "upload")
        except images.ImageRejected as exc:
            raise ValidationError({"image": str(exc)}) from None
        artwork = self.get_queryset().get(pk=artwork.pk)
        return Response(ArtworkDetailSerializer(artwork, context=self.get_serializer_context()).data)


def accession_taken(accession: str) -> ValidationError:
    """The one refusal for a taken accession number: it echoes the caller's input and names no work."""
    return ValidationError(
        {"accession_number": f"The accession number {accession!r} cannot be used for a new work: choose another."}
    )


def parse_k(request: Request, default: int = 12) -> int:
    raw = request.query_params.get(
        "k", request.data.get("k") if hasattr(request, "data") and request.method == "POST" else None
    )
    if raw in (None, ""):
        return default
    try:
        k = int(raw)
    except (TypeError, ValueError):
        raise ValidationError({"k": f"{raw!r} is not a whole number."}) from None
    if not 1 <= k <= 100:
        raise ValidationError({"k": "k must be between 1 and 100."})
    return k
