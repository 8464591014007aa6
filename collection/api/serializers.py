from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from collection.api.auth import request_sees_unpublished
from collection.models import Artwork, ArtworkArtist, Classification


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
    styles = serializers.ListField(child=serializers.CharField(max_length=120), required=False, max_length=50)
    motifs = serializers.ListField(child=serializers.CharField(max_length=120), required=False, max_length=200)
    artist = serializers.CharField(
        source="artist_display", required=False, allow_blank=True, max_length=1000,
        help_text="As the museum writes it, e.g. 'Attributed to Anthony van Dyck (Flemish, 1599–1641)'.",
    )
    date = serializers.CharField(
        source="date_display", required=False, allow_blank=True, max_length=200,
        help_text="As the museum writes it, e.g. 'c. 1631' or '1868–70'.",
    )
    classification = serializers.ChoiceField(choices=Classification.choices, required=False)
    images = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Artwork
        fields = [
            "id", "accession_number", "url", "title", "artist", "artists", "date", "year_start", "year_end",
            "decade", "classification", "medium", "styles", "motifs", "images",
        ]
        read_only_fields = ["year_start", "year_end", "decade"]
        extra_kwargs = {"accession_number": {"validators": []}}

    @extend_schema_field(ImageUrlsSerializer(allow_null=True))
    def get_images(self, obj: Artwork) -> dict[str, Any] | None:
        if obj.image is None:
            return None
        request = self.context.get("request")
        urls = obj.image.urls()
        if request is not None:
            urls = {k: (request.build_absolute_uri(v) if v else None) for k, v in urls.items()}
        return {**urls, "width": obj.image.width, "height": obj.image.height}

    def get_url(self, obj: Artwork) -> str:
        path = reverse("api:artwork-detail", kwargs={"accession_number": obj.accession_number})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

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
            "dimensions", "credit_line", "rights", "source_url", "iiif_manifest_url", "published",
        ]
        extra_kwargs = {"accession_number": {"validators": []}, "published": {"required": False}}


class ImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG, WebP, TIFF or GIF; content is checked, not the name.")


class SimilarWorkSerializer(serializers.Serializer):
    score = serializers.FloatField(help_text="Cosine similarity of the two works' embeddings.")
    artwork = ArtworkSerializer()


class ImageSearchSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="A photo; it is never stored.")
    k = serializers.IntegerField(required=False, min_value=1, max_value=100)
