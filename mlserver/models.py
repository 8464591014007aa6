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
    def active(self) -> "FeatureModel | None":
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
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True), name="one_active_feature_model")
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
        constraints = [
            models.UniqueConstraint(fields=["artwork", "feature_model"], name="one_embedding_per_model")
        ]

    def __str__(self) -> str:
        return f"{self.artwork_id} @ {self.feature_model_id}"

    @staticmethod
    def pack(vector: np.ndarray) -> bytes:
        return np.asarray(vector, dtype="<f4").tobytes()

    def array(self) -> np.ndarray:
        return np.frombuffer(bytes(self.vector), dtype="<f4")
