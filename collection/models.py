"""The collection: artworks, the people who made them, curator labels and images.

Metadata lives in the database; image bytes live in object storage
(collection.storage), addressed by content hash so the same picture is never
stored twice.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from collection.values import CleanTextMixin, validate_accession_number


class Classification(models.TextChoices):
    PAINTING = "painting", _("Painting")
    DRAWING = "drawing", _("Drawing")
    PRINT = "print", _("Print")
    PHOTOGRAPH = "photograph", _("Photograph")
    SCULPTURE = "sculpture", _("Sculpture")
    DESIGN = "design", _("Design")
    TEXTILE = "textile", _("Textile")
    OTHER = "other", _("Other")


class ProcessingStatus(models.TextChoices):
    NONE = "", _("No image")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Artist(CleanTextMixin, models.Model):
    name = models.CharField(max_length=300)
    nationality = models.CharField(max_length=120, blank=True)
    birth_year = models.IntegerField(null=True, blank=True)
    death_year = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "nationality", "birth_year", "death_year"],
                name="unique_artist_identity",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        years = ""
        if self.birth_year or self.death_year:
            years = f"{self.birth_year or ''}–{self.death_year or ''}"
        extra = ", ".join(x for x in (self.nationality, years) if x)
        return f"{self.name} ({extra})" if extra else self.name


# One rule for curator labels wherever they come in (import, API, admin): at most this many styles
# and motifs on a work, each name at most this long. Over a cap is refused with the cap named, never cut.
MAX_STYLES = 50
MAX_MOTIFS = 200
LABEL_NAME_MAX_LENGTH = 120


class Label(CleanTextMixin, models.Model):
    """A curator label: a style (one per work, mostly) or a motif/keyword."""

    class Kind(models.TextChoices):
        STYLE = "style", _("Style")
        MOTIF = "motif", _("Motif")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=LABEL_NAME_MAX_LENGTH)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="unique_label")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}"


class ArtworkQuerySet(models.QuerySet["Artwork"]):
    def published(self) -> ArtworkQuerySet:
        return self.filter(published=True)

    def visible_to(self, user: Any) -> ArtworkQuerySet:
        """Anonymous visitors and partner apps only ever see published works."""
        if user is not None and getattr(user, "is_authenticated", False) and is_curator(user):
            return self.all()
        return self.published()

    def with_related(self) -> ArtworkQuerySet:
        return self.prefetch_related("credits__artist", "labels")

    def search(self, text: str) -> ArtworkQuerySet:
        q = Q()
        for word in text.split()[:8]:
            q &= (
                Q(title__icontains=word)
                | Q(artist_display__icontains=word)
                | Q(medium__icontains=word)
                | Q(accession_number__iexact=word)
                | Q(labels__name__iexact=word)
            )
        return self.filter(q).distinct()


def is_curator(user: Any) -> bool:
    """Staff in the curators group (or superusers) may see and edit unpublished works."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if user.is_superuser:
        return True
    return bool(user.is_staff and user.groups.filter(name=settings.CURATORS_GROUP).exists())


class Artwork(CleanTextMixin, models.Model):
    verbatim_text_fields = ("accession_number",)

    accession_number = models.CharField(
        max_length=64,
        unique=True,
        help_text=_("The museum's stable identifier; imports update works by it."),
    )
    title = models.CharField(max_length=500)
    artist_display = models.CharField(max_length=1000, blank=True, help_text=_("As the museum writes it."))
    artists: models.ManyToManyField[Artist, ArtworkArtist] = models.ManyToManyField(
        Artist, through="ArtworkArtist", related_name="artworks", blank=True
    )
    date_display = models.CharField(max_length=200, blank=True, help_text=_("As the museum writes it."))
    year_start = models.IntegerField(null=True, blank=True, db_index=True)
    year_end = models.IntegerField(null=True, blank=True, db_index=True)
    decade = models.IntegerField(null=True, blank=True, db_index=True)
    classification = models.CharField(
        max_length=20, choices=Classification.choices, default=Classification.PAINTING, db_index=True
    )
    medium = models.CharField(max_length=500, blank=True)
    dimensions = models.CharField(max_length=500, blank=True)
    credit_line = models.CharField(max_length=500, blank=True)
    rights = models.CharField(max_length=500, blank=True)
    source_url = models.URLField(max_length=1000, blank=True)
    iiif_manifest_url = models.URLField(max_length=1000, blank=True)
    labels = models.ManyToManyField(Label, related_name="artworks", blank=True)
    published = models.BooleanField(default=True, db_index=True)

    image = models.ForeignKey("ImageFile", null=True, blank=True, on_delete=models.PROTECT, related_name="artworks")
    processing_status = models.CharField(
        max_length=10, choices=ProcessingStatus.choices, default=ProcessingStatus.NONE, blank=True, db_index=True
    )
    processing_stage = models.CharField(max_length=40, blank=True)
    processing_error = models.TextField(blank=True)
    processing_updated = models.DateTimeField(null=True, blank=True)

    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    # Optimistic locking: every save of what curators edit bumps it (see save()); the admin's form and
    # the API's If-Match carry the version an editor started from, so a stale save is refused.
    version = models.PositiveIntegerField(default=1, editable=False)
    # What the last import set (see PROVENANCE_KEYS), so a re-import tells a curator's edit from a change
    # in the museum's file: docs/importing.md, "Running the same import again".
    imported = models.JSONField(default=dict, blank=True, editable=False)

    objects = ArtworkQuerySet.as_manager()

    class Meta:
        ordering = ["accession_number"]
        indexes = [models.Index(fields=["published", "decade"])]

    def __str__(self) -> str:
        return f"{self.accession_number}: {self.title}"

    def clean(self) -> None:
        super().clean()
        try:
            validate_accession_number(self.accession_number or "")
        except ValidationError as exc:
            raise ValidationError({"accession_number": exc}) from None

    @property
    def page_url(self) -> str | None:
        """The public page, or None for an old row whose accession number no URL can carry."""
        from collection.values import artwork_url

        return artwork_url("frontend:artwork", self.accession_number)

    @property
    def styles(self) -> list[str]:
        return [label.name for label in self.labels.all() if label.kind == Label.Kind.STYLE]

    @property
    def motifs(self) -> list[str]:
        return [label.name for label in self.labels.all() if label.kind == Label.Kind.MOTIF]

    def picture_urls(self) -> dict[str, str | None]:
        """URLs of the work's derivatives that answer for whoever may see the work.

        A picture that only unpublished works show lives in the private area, so
        curators get signed, expiring URLs for it; otherwise plain public ones.
        """
        if self.image is None:
            return {}
        signed = not self.published and not self.image.shown_publicly()
        return self.image.urls(signed=signed)

    # Saves that write only these are bookkeeping (background processing, import provenance), not
    # edits: they neither bump the version nor get refused by it.
    UNVERSIONED_FIELDS = frozenset(
        {
            "processing_status",
            "processing_stage",
            "processing_error",
            "processing_updated",
            "imported",
            "version",
            "updated",
        }
    )

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        bump = not self._state.adding and (update_fields is None or not set(update_fields) <= self.UNVERSIONED_FIELDS)
        if bump:
            # Counted by the database, so two saves racing without a lock still give two versions.
            self.version = models.F("version") + 1
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "version"}
        super().save(*args, **kwargs)
        if bump:
            self.version = type(self).objects.values_list("version", flat=True).get(pk=self.pk)

    def mark_edited(self) -> None:
        """Labels and credits change in their own tables; a change of them is an edit of the work too."""
        type(self).objects.filter(pk=self.pk).update(version=models.F("version") + 1, updated=timezone.now())
        self.version = type(self).objects.values_list("version", flat=True).get(pk=self.pk)

    def check_version(self, expected: int | None) -> None:
        """Call on a row locked with select_for_update; ``None`` means the editor did not say (no check)."""
        if expected is not None and self.version != expected:
            raise StaleVersion(expected=expected, current=self.version)

    @property
    def etag(self) -> str:
        return f'"v{self.version}"'

    def credit_list(self) -> list[list[Any]]:
        """The credits as [name, nationality, birth year, death year, qualifier] rows, as provenance keeps them."""
        return [
            [c.artist.name, c.artist.nationality, c.artist.birth_year, c.artist.death_year, c.qualifier]
            for c in self.credits.select_related("artist").order_by("order")
        ]

    def provenance_values(self) -> dict[str, Any]:
        """The work's current values under PROVENANCE_KEYS, comparable with what ``imported`` holds."""
        names = list(self.labels.values_list("kind", "name"))
        return {
            **{key: getattr(self, key) for key in PROVENANCE_TEXT_KEYS},
            "published": self.published,
            "image": self.image.sha256 if self.image is not None else None,
            "styles": sorted(name for kind, name in names if kind == Label.Kind.STYLE),
            "motifs": sorted(name for kind, name in names if kind == Label.Kind.MOTIF),
            "credits": self.credit_list(),
        }

    def set_processing(self, status: str, *, stage: str = "", error: str = "") -> None:
        """Written with update() so a status change never overwrites a curator's concurrent edit."""
        self.processing_status = status
        self.processing_stage = stage
        self.processing_error = error[:5000]
        self.processing_updated = timezone.now()
        type(self).objects.filter(pk=self.pk).update(
            processing_status=status,
            processing_stage=stage,
            processing_error=self.processing_error,
            processing_updated=self.processing_updated,
        )
        if self.pk is None:
            return
        ProcessingEvent.objects.create(artwork_id=self.pk, status=status, stage=stage, error=self.processing_error)
        if status == ProcessingStatus.DONE:  # a run ended: older runs beyond the kept ones go
            events = ProcessingEvent.objects.filter(artwork_id=self.pk)
            old = list(events.values_list("pk", flat=True)[ProcessingEvent.KEPT :])
            if old:
                ProcessingEvent.objects.filter(pk__in=old).delete()


class ProcessingEvent(models.Model):
    """One change of a work's processing state: the work keeps only the last, curators need the way there."""

    artwork = models.ForeignKey(Artwork, on_delete=models.CASCADE, related_name="processing_events")
    status = models.CharField(max_length=10, choices=ProcessingStatus.choices, blank=True)
    stage = models.CharField(max_length=40, blank=True)
    error = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    KEPT = 200  # per work, newest first: a dozen runs of every stage

    class Meta:
        ordering = ["-at", "-pk"]


# What an import sets on a work and remembers in Artwork.imported. Year span and decade follow
# date_display; credits are their own key, because curators can fix them without the artist text.
PROVENANCE_TEXT_KEYS = (
    "title",
    "artist_display",
    "date_display",
    "classification",
    "medium",
    "dimensions",
    "credit_line",
    "rights",
    "source_url",
    "iiif_manifest_url",
)
PROVENANCE_KEYS = (*PROVENANCE_TEXT_KEYS, "published", "image", "styles", "motifs", "credits")


class StaleVersion(Exception):
    """Someone saved the work after the version an editor started from; nothing of the edit was saved."""

    def __init__(self, *, expected: int, current: int) -> None:
        super().__init__(f"the work is at version {current}, the edit started from version {expected}")
        self.expected = expected
        self.current = current


class ArtworkArtist(CleanTextMixin, models.Model):
    """One credit on a work, keeping the museum's attribution qualifier."""

    artwork = models.ForeignKey(Artwork, on_delete=models.CASCADE, related_name="credits")
    artist = models.ForeignKey(Artist, on_delete=models.PROTECT, related_name="credits")
    qualifier = models.CharField(max_length=60, blank=True, help_text=_('e.g. "Attributed to", "After"'))
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order"]
        constraints = [models.UniqueConstraint(fields=["artwork", "order"], name="unique_credit_order")]

    def __str__(self) -> str:
        return f"{self.qualifier} {self.artist}".strip()


class ImageFile(models.Model):
    """An original image, stored once per content hash, with its derivatives."""

    sha256 = models.CharField(max_length=64, unique=True)
    original = models.CharField(max_length=300, help_text=_("Key in the private storage."))
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    byte_size = models.PositiveBigIntegerField()
    # Key of each derivative in the public storage, by size name (thumb, medium, large).
    derivatives = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.width}×{self.height})"

    @property
    def aspect(self) -> float:
        return self.width / self.height if self.height else 1.0

    def derivatives_complete(self) -> bool:
        from collection.images import derivative_key

        return all(self.derivatives.get(name) == derivative_key(self.sha256, name) for name in settings.IMAGE_SIZES)

    def url(self, size_name: str, *, signed: bool = False) -> str | None:
        """The public URL; ``signed`` gives a time-limited one for a picture only unpublished works use
        (its derivatives are then kept in the private area, see processing.sync_derivative_visibility)."""
        from collection import storage

        key = self.derivatives.get(size_name)
        if not key:
            return None
        return storage.private_url(key) if signed else storage.public_url(key)

    def shown_publicly(self) -> bool:
        return self.artworks.filter(published=True).exists()

    def urls(self, *, signed: bool = False) -> dict[str, str | None]:
        return {name: self.url(name, signed=signed) for name in settings.IMAGE_SIZES}


_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def validate_rate(value: str) -> None:
    """DRF reads rates as 'N/period'; anything else would fail on every request, so refuse it here."""
    if value and not _RATE.match(value.strip()):
        raise ValidationError(_('"%(value)s" is not a rate like "600/minute" or "10/second".'), params={"value": value})


def _hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class PartnerToken(models.Model):
    """An API key for a partner app: scoped, rate-limited, stored only as a hash."""

    class Scope(models.TextChoices):
        READ = "read", _("Read")
        WRITE = "write", _("Read and write")

    name = models.CharField(max_length=200)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    rate = models.CharField(
        max_length=30,
        blank=True,
        validators=[validate_rate],
        help_text=_('e.g. "600/minute"; empty uses API_TOKEN_RATE.'),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="partner_tokens"
    )
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {self.scope})"

    @classmethod
    def issue(cls, name: str, *, scope: str = "read", rate: str = "", user: Any = None) -> tuple[PartnerToken, str]:
        """Returns the token and its secret key; the key is shown once and never stored."""
        validate_rate(rate)
        key = secrets.token_urlsafe(32)
        token = cls.objects.create(
            name=name, key_hash=_hash_token(key), prefix=key[:8], scope=scope, rate=rate, user=user
        )
        return token, key

    @classmethod
    def find(cls, key: str) -> PartnerToken | None:
        return cls.objects.filter(key_hash=_hash_token(key), active=True).select_related("user").first()


class ImportRun(models.Model):
    """A record of one import, so curators can see what a file did and which rows failed."""

    source = models.CharField(max_length=1000)
    started = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    # Curators' edits the import kept instead of the file's value, one line per work and field.
    conflicts = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started"]

    def __str__(self) -> str:
        return f"{self.source} ({self.started:%Y-%m-%d %H:%M})"
