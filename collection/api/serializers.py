from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from collection.api.auth import request_sees_unpublished
from collection.models import LABEL_NAME_MAX_LENGTH, MAX_MOTIFS, MAX_STYLES, Artwork, ArtworkArtist, Classification
from collection.values import artwork_url, validate_accession_number


class CreditSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="artist.name")
    nationality = serializers.CharField(source="artist.nationality")
    birth_year = serializers.IntegerField(source="artist.birth_year", allow_null=True)
    death_year = serializers.IntegerField(source="artist.death_year", allow_null=True)

    class Meta:
        model = ArtworkArtist
        fields = ["name", "qualifier", "nationality", "birth_year", "death_year"]


class ImageUrlsSerializer(serializers.Serializer):
    thumb = serializers.URLField(allow_null=True)
    medium = serializers.URLField(allow_null=True)
    large = serializers.URLField(allow_null=True)
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class ArtworkSerializer(serializers.ModelSerializer):
    artists = CreditSerializer(source="credits", many=True, read_only=True)
    styles = serializers.ListField(
        child=serializers.CharField(max_length=LABEL_NAME_MAX_LENGTH), required=False, max_length=MAX_STYLES
    )
    motifs = serializers.ListField(
        child=serializers.CharField(max_length=LABEL_NAME_MAX_LENGTH), required=False, max_length=MAX_MOTIFS
    )
    artist = serializers.CharField(
        source="artist_display",
        required=False,
        allow_blank=True,
        max_length=1000,
        help_text="As the museum writes it, e.g. 'Attributed to Anthony van Dyck (Flemish, 1599–1641)'.",
    )
    date = serializers.CharField(
        source="date_display",
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="As the museum writes it, e.g. 'c. 1631' or '1868–70'.",
    )
    classification = serializers.ChoiceField(choices=Classification.choices, required=False)
    images = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Artwork
        fields = [
            "id",
            "accession_number",
            "url",
            "title",
            "artist",
            "artists",
            "date",
            "year_start",
            "year_end",
            "decade",
            "classification",
            "medium",
            "styles",
            "motifs",
            "images",
        ]
        read_only_fields = ["year_start", "year_end", "decade"]
        # Uniqueness is checked by the view (a clear 400); the accession rule is the model's.
        extra_kwargs = {"accession_number": {"validators": [validate_accession_number]}}

    @extend_schema_field(ImageUrlsSerializer(allow_null=True))
    def get_images(self, obj: Artwork) -> dict[str, Any] | None:
        if obj.image is None:
            return None
        request = self.context.get("request")
        urls = obj.picture_urls()
        if request is not None:
            urls = {k: (request.build_absolute_uri(v) if v else None) for k, v in urls.items()}
        return {**urls, "width": obj.image.width, "height": obj.image.height}

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_url(self, obj: Artwork) -> str | None:
        path = artwork_url("api:artwork-detail", obj.accession_number)
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request and path else path

    def to_representation(self, instance: Artwork) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None and request_sees_unpublished(request):
            data["published"] = instance.published
            data["processing"] = {
                "status": instance.processing_status,
                "stage": instance.processing_stage,
                "error": instance.processing_error,
            }
        return data


class ArtworkDetailSerializer(ArtworkSerializer):
    class Meta(ArtworkSerializer.Meta):
        fields = ArtworkSerializer.Meta.fields + [
            "dimensions",
            "credit_line",
            "rights",
            "source_url",
            "iiif_manifest_url",
            "published",
        ]
        extra_kwargs: dict[str, dict[str, Any]] = {
            "accession_number": {"validators": [validate_accession_number]},
            "published": {"required": False},
        }


class ImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG, WebP, TIFF or GIF; content is checked, not the name.")


def add_detail_field(name: str, getter: Callable[[Any, Artwork], Any], help_text: str) -> None:
    """Lets a later stage show what it derived from a work in the work's detail (analysis: objects and faces).

    Called from the later stage's AppConfig.ready(), so collection/ never imports it. ``getter(serializer, work)``
    becomes the field's ``get_<name>`` method, so an ``extend_schema_field`` on it documents the field as on a
    declared one.
    """
    setattr(ArtworkDetailSerializer, f"get_{name}", getter)
    ArtworkDetailSerializer._declared_fields[name] = serializers.SerializerMethodField(help_text=help_text)
    if name not in ArtworkDetailSerializer.Meta.fields:
        ArtworkDetailSerializer.Meta.fields = [*ArtworkDetailSerializer.Meta.fields, name]
