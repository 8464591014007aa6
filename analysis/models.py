"""Feature models and the vectors they produced.

Every vector records the feature model version that made it, so vectors from
different models are never compared, and a new model can re-embed the whole
collection in the background while the active one keeps serving.
"""

from __future__ import annotations

import numpy as np
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from collection.models import Artwork


class FeatureModelQuerySet(models.QuerySet["FeatureModel"]):
    def active(self) -> FeatureModel | None:
        return self.filter(is_active=True).first()


class FeatureModel(models.Model):
    class Kind(models.TextChoices):
        PRETRAINED = "pretrained", _("Pretrained backbone")
        FINETUNED = "finetuned", _("Fine-tuned on styles and motifs")

    class Status(models.TextChoices):
        TRAINING = "training", _("Training")
        EMBEDDING = "embedding", _("Embedding the collection")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    version = models.CharField(max_length=200, unique=True)
    backbone = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    dim = models.PositiveIntegerField(null=True, blank=True)
    checkpoint_key = models.CharField(max_length=300, blank=True, help_text=_("Key in the private storage."))
    label_sets = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.READY)
    status_message = models.TextField(blank=True)
    is_active = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    activated = models.DateTimeField(null=True, blank=True)

    objects = FeatureModelQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="one_active_feature_model"
            )
        ]

    def __str__(self) -> str:
        return self.version

    def activate(self) -> None:
        """Switches every reader to this model at once; the previous vectors stay until cleaned up."""
        with transaction.atomic():
            FeatureModel.objects.filter(is_active=True).exclude(pk=self.pk).update(is_active=False)
            self.is_active = True
            self.activated = timezone.now()
            self.status = self.Status.READY
            self.save(update_fields=["is_active", "activated", "status"])

    def missing_artworks(self) -> models.QuerySet[Artwork]:
        return Artwork.objects.exclude(image=None).exclude(embeddings__feature_model=self)


class Embedding(models.Model):
    artwork = models.ForeignKey(Artwork, on_delete=models.CASCADE, related_name="embeddings")
    feature_model = models.ForeignKey(FeatureModel, on_delete=models.CASCADE, related_name="embeddings")
    # The image the vector was computed from: a changed image makes the vector stale.
    image_sha256 = models.CharField(max_length=64)
    vector = models.BinaryField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["artwork", "feature_model"], name="one_embedding_per_model")]

    def __str__(self) -> str:
        return f"{self.artwork_id} @ {self.feature_model_id}"

    @staticmethod
    def pack(vector: np.ndarray) -> bytes:
        return np.asarray(vector, dtype="<f4").tobytes()

    def array(self) -> np.ndarray:
        return np.frombuffer(bytes(self.vector), dtype="<f4")


class AnalysisRun(models.Model):
    """Marks that one analyser (objects or faces) has seen one image with one model version.

    Needed because "nothing found" must also be remembered: without it a work
    with no faces would be re-analysed on every pass. Re-running with the same
    version and image is a no-op; a new version or a changed image replaces the
    work's results in one transaction.
    """

    class Kind(models.TextChoices):
        OBJECTS = "objects", _("Objects")
        FACES = "faces", _("Faces")

    artwork = models.ForeignKey(Artwork, on_delete=models.CASCADE, related_name="analysis_runs")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    version = models.CharField(max_length=200, help_text=_("Detector or face model version that produced the results."))
    image_sha256 = models.CharField(max_length=64)
    found = models.PositiveIntegerField(default=0)
    # False for random-weight detectors: their output exists for plumbing tests and is never shown.
    trusted = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["artwork", "kind", "version"], name="one_run_per_work_kind_version")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.artwork_id} @ {self.version}"


class DetectionQuerySet(models.QuerySet["Detection"]):
    def visible(self) -> DetectionQuerySet:
        """Detections a visitor may see: trusted weights, published work."""
        return self.filter(trusted=True, artwork__published=True)

    def label_counts(self, prefix: str = "") -> models.QuerySet:
        """``{"label", "count"}`` rows over visible detections: published works per label, most first."""
        qs = self.visible()
        if prefix:
            qs = qs.filter(label__istartswith=prefix)
        return qs.values("label").annotate(count=models.Count("artwork", distinct=True)).order_by("-count", "label")


class Detection(models.Model):
    """One object found in a work. The box is normalised to [0, 1] of the image, origin top left."""

    artwork = models.ForeignKey(Artwork, on_delete=models.CASCADE, related_name="detections")
    detector_version = models.CharField(max_length=200)
    label = models.CharField(max_length=100, db_index=True)
    score = models.FloatField()
    x0 = models.FloatField()
    y0 = models.FloatField()
    x1 = models.FloatField()
    y1 = models.FloatField()
    trusted = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    objects = DetectionQuerySet.as_manager()

    class Meta:
        ordering = ["artwork", "-score"]
        indexes = [models.Index(fields=["label", "trusted"])]

    def __str__(self) -> str:
        return f"{self.label} {self.score:.2f} in {self.artwork_id}"

    @property
    def box(self) -> list[float]:
        return [self.x0, self.y0, self.x1, self.y1]


class FaceQuerySet(models.QuerySet["Face"]):
    def visible(self) -> FaceQuerySet:
        return self.filter(artwork__published=True)


class Face(models.Model):
    """A face painted in a work: where it is, a crop for display, and its 128-d dlib descriptor."""

    artwork = models.ForeignKey(Artwork, on_delete=models.CASCADE, related_name="faces")
    model_version = models.CharField(max_length=200)
    index = models.PositiveSmallIntegerField(help_text=_("Position among the work's faces, largest first."))
    score = models.FloatField()
    x0 = models.FloatField()
    y0 = models.FloatField()
    x1 = models.FloatField()
    y1 = models.FloatField()
    descriptor = models.BinaryField()
    crop_key = models.CharField(max_length=300, blank=True, help_text=_("Key of the face crop in public storage."))
    created = models.DateTimeField(auto_now_add=True)

    objects = FaceQuerySet.as_manager()

    class Meta:
        ordering = ["artwork", "index"]
        constraints = [models.UniqueConstraint(fields=["artwork", "model_version", "index"], name="one_face_per_slot")]

    def __str__(self) -> str:
        return f"face {self.index} of {self.artwork_id}"

    @property
    def box(self) -> list[float]:
        return [self.x0, self.y0, self.x1, self.y1]

    def array(self) -> np.ndarray:
        return np.frombuffer(bytes(self.descriptor), dtype="<f4")
