"""Maps of the collection and their versioned builds.

A map keeps serving its live build while a new one is computed; the switch is
a single-row update, so visitors never see half a map.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from collection.models import Artwork, Classification


class Map(models.Model):
    class Subject(models.TextChoices):
        ARTWORKS = "artworks", _("Artworks")
        FACES = "faces", _("Faces")

    slug = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=200)
    subject = models.CharField(max_length=20, choices=Subject.choices, default=Subject.ARTWORKS)
    classification = models.CharField(
        max_length=20, choices=Classification.choices, blank=True, help_text=_("Empty: every work.")
    )
    params = models.JSONField(
        default=dict, blank=True, help_text=_('t-SNE parameters, e.g. {"perplexity": 30, "seed": 0}.')
    )
    live_build = models.ForeignKey("MapBuild", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Bumped by every publication change while holding this row's lock (maps.signals), so a
    # build going live under the same lock knows whether what it shows the public is still current.
    publication_epoch = models.PositiveBigIntegerField(default=0, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Never writes back ``live_build`` or ``publication_epoch`` read earlier.

        Both change under the row lock only (``go_live``, publication changes); a full save of a map
        loaded before (a curator editing its title in the admin) would otherwise put back a stale
        epoch, hiding a publication change from a build about to go live, or the previous build.
        """
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in ("live_build", "publication_epoch")
            ]
        super().save(*args, **kwargs)

    def members(self) -> models.QuerySet[Artwork]:
        """Works the map covers (published or not: visibility is decided when serving)."""
        qs = Artwork.objects.exclude(image=None)
        if self.classification:
            qs = qs.filter(classification=self.classification)
        return qs

    def covers(self, artwork: Artwork) -> bool:
        return artwork.image_id is not None and (
            not self.classification or artwork.classification == self.classification
        )

    def next_version(self) -> int:
        return (self.builds.aggregate(v=Max("version"))["v"] or 0) + 1

    def go_live(
        self, build: MapBuild, *, epoch: int | None = None, under_lock: Callable[[MapBuild], None] | None = None
    ) -> bool:
        """Switches to ``build`` holding this map's row lock, the lock publication changes take too.

        With ``epoch`` (the publication epoch the build's public data was derived at) the switch is
        refused, returning False, when publication changed since: the caller re-derives and tries
        again. ``under_lock`` runs just before the switch, while no publication change or
        placement on this map can land (``maps.builds.publish_build``).
        """
        with transaction.atomic():
            current = (
                Map.objects.select_for_update().filter(pk=self.pk).values_list("publication_epoch", flat=True).get()
            )
            if epoch is not None and current != epoch:
                return False
            if under_lock is not None:
                under_lock(build)
            build.status = MapBuild.Status.READY
            build.finished = build.finished or timezone.now()  # an older build made live again keeps its date
            build.save(update_fields=["status", "finished"])
            Map.objects.filter(pk=self.pk).update(live_build=build)
            self.live_build = build
            self.publication_epoch = current
        return True


class MapBuild(models.Model):
    class Status(models.TextChoices):
        BUILDING = "building", _("Building")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    map = models.ForeignKey(Map, on_delete=models.CASCADE, related_name="builds")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BUILDING)
    feature_version = models.CharField(max_length=200)
    params = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    placed_metrics = models.JSONField(default=dict, blank=True)
    parametric_key = models.CharField(max_length=300, blank=True)
    # Texture atlases of the build's thumbnails for the WebGL map: sheet keys, cell size, work -> cell.
    atlases = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    n_points = models.PositiveIntegerField(default=0)
    # What the public is told: points whose work is published, refreshed when publication changes.
    n_published = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["map", "-version"]
        constraints = [models.UniqueConstraint(fields=["map", "version"], name="unique_build_version")]

    @property
    def layout_metrics(self) -> dict[str, Any]:
        """Quality of the layout visitors see: the network's own map or openTSNE's (``metrics["layout"]``)."""
        return self.metrics.get(self.metrics.get("layout", "parametric"), {})

    def __str__(self) -> str:
        return f"{self.map.slug} v{self.version} ({self.status})"


class MapPoint(models.Model):
    build = models.ForeignKey(MapBuild, on_delete=models.CASCADE, related_name="points")
    artwork = models.ForeignKey(Artwork, on_delete=models.CASCADE, related_name="map_points")
    # Set on faces maps, where a point is one face and a work with several faces has several points.
    face = models.ForeignKey(
        "mlserver.Face", null=True, blank=True, on_delete=models.CASCADE, related_name="map_points"
    )
    x = models.FloatField()
    y = models.FloatField()
    placed = models.BooleanField(default=False, help_text=_("Placed by the network after the build."))
    cluster = models.IntegerField(null=True, blank=True)
    # The point's cell in the build's grid layout (maps.layouts); null on builds made before it.
    gx = models.IntegerField(null=True, blank=True)
    gy = models.IntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["build", "artwork"], condition=models.Q(face__isnull=True), name="one_point_per_work"
            ),
            models.UniqueConstraint(
                fields=["build", "face"], condition=models.Q(face__isnull=False), name="one_point_per_face"
            ),
        ]


class Cluster(models.Model):
    build = models.ForeignKey(MapBuild, on_delete=models.CASCADE, related_name="clusters")
    label = models.IntegerField()
    name = models.CharField(max_length=300)
    terms = models.JSONField(default=list)
    size = models.PositiveIntegerField()
    x = models.FloatField()
    y = models.FloatField()
    # Point ids (artwork ids, face ids on a faces map) of published members nearest the centre, nearest first:
    # the previews of the website's hotspots.
    points = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["build", "label"]


class DecadeWork(models.Model):
    """A typical or outlier work of a decade on one build."""

    class Kind(models.TextChoices):
        TYPICAL = "typical", _("Typical")
        OUTLIER = "outlier", _("Outlier")

    build = models.ForeignKey(MapBuild, on_delete=models.CASCADE, related_name="decade_works")
    decade = models.IntegerField()
    decade_count = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    rank = models.PositiveSmallIntegerField()
    artwork = models.ForeignKey(Artwork, on_delete=models.CASCADE, related_name="+")
    distance = models.FloatField()

    class Meta:
        ordering = ["build", "decade", "kind", "rank"]
