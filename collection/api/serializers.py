from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from collection.api.auth import request_sees_unpublished
from collection.models import LABEL_NAME_MAX_LENGTH, MAX_MOTIFS, MAX_STYLES, Artwork, ArtworkArtist, Classification
from collection.values import artwork_url, validate_accession_number
from mlserver.models import Detection


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


class DetectedObjectSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="COCO category, e.g. 'horse'.")
    score = serializers.FloatField(help_text="The detector's confidence, 0–1.")
    box = serializers.ListField(
        child=serializers.FloatField(), min_length=4, max_length=4,
        help_text="[x0, y0, x1, y1] as fractions of the image's width and height, origin top left.",
    )


class ArtworkFaceSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The face's id under /api/v1/faces/.")
    box = serializers.ListField(
        child=serializers.FloatField(), min_length=4, max_length=4,
        help_text="[x0, y0, x1, y1] as fractions of the image's width and height, origin top left.",
    )
    crop = serializers.URLField(allow_null=True, help_text="A square crop around the face.")


class ArtworkDetailSerializer(ArtworkSerializer):
    faces = serializers.SerializerMethodField(help_text="Faces found in the picture, largest first.")
    objects = serializers.SerializerMethodField(
        help_text="Objects detected in the picture, best first; empty until detection has run with real weights."
    )

    class Meta(ArtworkSerializer.Meta):
        fields = ArtworkSerializer.Meta.fields + [
            "dimensions", "credit_line", "rights", "source_url", "iiif_manifest_url", "published", "objects",
            "faces",
        ]
        extra_kwargs = {
            "accession_number": {"validators": [validate_accession_number]}, "published": {"required": False},
        }

    @extend_schema_field(DetectedObjectSerializer(many=True))
    def get_objects(self, obj: Artwork) -> list[dict[str, Any]]:
        detections = Detection.objects.filter(artwork=obj, trusted=True)
        request = self.context.get("request")
        if request is None or not request_sees_unpublished(request):
            detections = detections.visible()
        return [
            {"label": d.label, "score": round(d.score, 4), "box": [round(v, 5) for v in d.box]}
            for d in detections.order_by("-score", "pk")
        ]


    @extend_schema_field(ArtworkFaceSerializer(many=True))
    def get_faces(self, obj: Artwork) -> list[dict[str, Any]]:
        from mlserver.api import face_crop_url

        request = self.context.get("request")
        return [
            {"id": f.pk, "box": [round(v, 5) for v in f.box], "crop": face_crop_url(f, request)}
            for f in obj.faces.order_by("index", "pk")
        ]


class ObjectLabelSerializer(serializers.Serializer):
    label = serializers.CharField()
    count = serializers.IntegerField(help_text="Published works in which this object was detected.")


class ImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG, WebP, TIFF or GIF; content is checked, not the name.")


class SimilarWorkSerializer(serializers.Serializer):
    score = serializers.FloatField(help_text="Cosine similarity of the two works' embeddings.")
    artwork = ArtworkSerializer()


class ImageSearchSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="A photo; it is never stored.")
    k = serializers.IntegerField(required=False, min_value=1, max_value=100)
