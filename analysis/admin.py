from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from analysis.models import Detection, Embedding, Face, FeatureModel
from collection import admin as collection_admin
from collection.models import Artwork
from collection.sites import add_notice


def object_detection_status() -> tuple[bool, str]:
    """``(on, explanation)`` for curators: the gpu worker's own report when it has made one.

    The web process usually runs without torch or weights on another machine, so
    its own view (``detector_status``) is only the fallback, and says so.
    """
    from analysis.detection import detector_status
    from analysis.objects import reported_status

    if settings.DETECTION_BACKEND == "off":
        return False, str(_("Object detection is switched off (DETECTION_BACKEND=off)."))
    report = reported_status()
    if report is not None:
        return bool(report["available"]), str(
            _("The gpu worker on %(host)s reported at %(when)s: %(reason)s")
            % {"host": report.get("host", "?"), "when": report.get("checked", "?"), "reason": report["reason"]}
        )
    available, reason = detector_status(
        settings.DETECTION_BACKEND,  # type: ignore[arg-type]  # env_choice: auto, torchvision or detectron2 (off never asks)
        settings.DETECTION_WEIGHTS or None,
        settings.DETECTION_ALLOW_DOWNLOAD,
        settings.DETECTION_RANDOM_WEIGHTS,
    )
    return available, str(
        _("%(reason)s (as seen from the web server; the gpu worker reports its own status after its first work)")
        % {"reason": reason}
    )


def object_detection_notice() -> str | None:
    """The admin index's line about object detection while it is off, naming the setting that turns it on.

    Curators cannot act on the reason's file paths (they are on the worker, and tell outsiders how the
    servers are laid out), so the line names only the setting; the full reason is in the worker's log
    and in :func:`object_detection_status`.
    """
    if settings.DETECTION_BACKEND == "off":
        return str(
            _(
                "Object detection is switched off, so nothing about objects is shown to visitors. An "
                "administrator turns it on with the setting DETECTION_BACKEND (see docs/configuration.md)."
            )
        )
    on, _explanation = object_detection_status()
    if on:
        return None
    if settings.DETECTION_RANDOM_WEIGHTS:
        return str(
            _(
                "Object detection runs with untrained test weights (DETECTION_RANDOM_WEIGHTS), so nothing it "
                "finds is shown to visitors. An administrator sets DETECTION_RANDOM_WEIGHTS=false and gives "
                "real weights (see docs/configuration.md)."
            )
        )
    return str(
        _(
            "Object detection is off because the detector has no weights, so nothing about objects is shown to "
            "visitors. An administrator turns it on with the setting DETECTION_WEIGHTS (a weights file on the "
            "worker) or DETECTION_ALLOW_DOWNLOAD=true (see docs/configuration.md)."
        )
    )


def detections_table(artwork: Artwork) -> str:
    """A work's detected objects as a read-only table for its change page; untrusted rows are marked.

    A table rather than an inline formset: nothing here is editable, and a formset would make
    every save of the work post (and validate) the detections too.
    """
    rows = list(Detection.objects.filter(artwork=artwork).order_by("-score", "pk")) if artwork.pk else []
    if not rows:
        return str(_("None detected yet."))
    return _table(
        (_("Object"), _("Score"), _("Box (fractions of the image)"), _("Shown to visitors"), _("Detector")),
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        ((d.label, f"{d.score:.3f}", _box(d.box), _shown(d, artwork.published), d.detector_version) for d in rows),
    )


def _box(box: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in box)


def _table(headers: tuple[Any, ...], row_format: str, rows: Any) -> str:
    """A read-only admin table: escaped header cells, rows through format_html_join."""
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join("", row_format, rows)
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def _shown(detection: Detection, published: bool) -> str:
    if not detection.trusted:
        return format_html('<span style="color:#b00">{}</span>', _("never: untrusted (random weights)"))
    return str(_("yes") if published else _("once the work is published"))


def faces_table(artwork: Artwork) -> str:
    """A work's faces with their crops, read-only, for its change page.

    A table rather than an inline formset (like the detected objects): faces are replaced as a
    whole when the work is analysed again, and a formset would make every save of the work post
    and validate them too.
    """
    from analysis.api import face_crop_url

    rows = list(Face.objects.filter(artwork=artwork).order_by("index", "pk")) if artwork.pk else []
    if not rows:
        return str(_("None found yet."))
    for face in rows:
        face.artwork = artwork  # the same row: spares a query per crop URL
    return _table(
        (_("Face"), _("Index"), _("Score"), _("Box (fractions of the image)"), _("Face model")),
        '<tr><td><img src="{}" alt="" width="64" height="64" loading="lazy"></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
        ((face_crop_url(f) or "", f.index, f"{f.score:.3f}", _box(f.box), f.model_version) for f in rows),
    )


@admin.register(FeatureModel)
class FeatureModelAdmin(admin.ModelAdmin):
    list_display = ["version", "kind", "dim", "status", "is_active", "created", "activated"]
    list_filter = ["kind", "status", "is_active"]
    readonly_fields = [f.name for f in FeatureModel._meta.fields if f.name not in ("metrics",)] + ["metrics_table"]
    exclude = ["metrics"]
    actions = ["fine_tune", "activate"]
    change_list_template = "admin/mlserver/featuremodel/change_list.html"

    def get_urls(self) -> list[Any]:
        """The training pages (analysis.training_admin) before the model's own, which would take "train/" as a pk."""
        from analysis.training_admin import training_urls

        return [*training_urls(self), *super().get_urls()]

    @admin.display(description=_("Held-out metrics per head"))
    def metrics_table(self, obj: FeatureModel) -> str:
        return format_html("<pre style='margin:0'>{}</pre>", json.dumps(obj.metrics, indent=1)) if obj.metrics else "—"

    @admin.action(description=_("Fine-tune a new model on the curator labels (background job)"))
    def fine_tune(self, request: HttpRequest, queryset: QuerySet) -> None:
        from analysis.tasks import enqueue_training

        job = enqueue_training({})
        self.message_user(
            request, _("Training queued as job %(pk)s; follow it under Jobs.") % {"pk": job.pk}, messages.SUCCESS
        )

    @admin.action(description=_("Make the selected model active"))
    def activate(self, request: HttpRequest, queryset: QuerySet) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one model."), messages.ERROR)
            return
        model = queryset.get()
        if model.missing_artworks().exists():
            self.message_user(request, _("This model has not embedded every work yet."), messages.ERROR)
            return
        model.activate()
        self.message_user(request, _("%(v)s is now active.") % {"v": model.version}, messages.SUCCESS)


class ArtworkAdmin(collection_admin.ArtworkAdmin):
    """collection's artwork admin with what this stage found: objects and faces on the change page.
    Registered in its place, so collection/ never imports analysis."""

    readonly_fields = [*collection_admin.ArtworkAdmin.readonly_fields, "detected_objects", "found_faces"]
    fieldsets = [
        *collection_admin.ArtworkAdmin.fieldsets[:-1],
        (_("Detected objects"), {"fields": ["detected_objects"], "classes": ["collapse"]}),
        (_("Faces"), {"fields": ["found_faces"], "classes": ["collapse"]}),
        collection_admin.ArtworkAdmin.fieldsets[-1],
    ]

    @admin.display(description=_("Objects"))
    def detected_objects(self, obj: Artwork) -> str:
        return detections_table(obj)

    @admin.display(description=_("Faces"))
    def found_faces(self, obj: Artwork) -> str:
        return faces_table(obj)


def feature_vectors(work: Artwork) -> str | None:
    """Which feature models have a vector of the work, so a curator sees whether the map uses a current one.

    A vector computed from an earlier image of the work is marked: the work is re-embedded after processing.
    """
    if work.pk is None or work.image_id is None:
        return None
    rows = list(Embedding.objects.filter(artwork=work).select_related("feature_model").order_by("-created"))
    if not rows:
        return str(_("No vector yet."))
    sha = work.image.sha256 if work.image is not None else ""
    return _table(
        (_("Feature model"), _("Active"), _("Dimensions"), _("Computed"), _("From the current image")),
        '<tr><td class="feature-version">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
        (
            (
                e.feature_model.version,
                _("yes") if e.feature_model.is_active else _("no"),
                e.feature_model.dim or "—",
                e.created.strftime("%Y-%m-%d %H:%M"),
                _("yes") if e.image_sha256 == sha else _("no: computed from an earlier image"),
            )
            for e in rows
        ),
    )


def boxes_on_picture(work: Artwork) -> str | None:
    """The work's picture with its detected objects and faces outlined, labelled and scored.

    An SVG over the image in the picture's own pixel frame (boxes are stored as fractions of it), so
    the boxes stay on their objects at any width the admin gives the picture; no script involved.
    """
    if work.pk is None or work.image is None:
        return None
    detections = list(Detection.objects.filter(artwork=work).order_by("-score", "pk"))
    faces = list(Face.objects.filter(artwork=work).order_by("index", "pk"))
    if not detections and not faces:
        return None
    image = work.image
    signed = not work.published and not image.shown_publicly()
    url = image.url("large", signed=signed) or image.url("medium", signed=signed) or ""
    width, height = image.width or 1000, image.height or 1000
    font = max(width, height) * 0.022
    boxes = [
        ("detected-object", d.label if d.trusted else f"{d.label} ({_('untrusted')})", d.score, d.box, "#ffcc00")
        for d in detections
    ] + [("detected-face", _("face %(n)d") % {"n": f.index + 1}, f.score, f.box, "#00d0ff") for f in faces]
    shapes = format_html_join(
        "",
        '<g class="{}"><rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="{}" stroke-width="{}"/>'
        '<text x="{}" y="{}" font-size="{}" fill="{}" stroke="#000" stroke-width="{}" paint-order="stroke">'
        "{} {}</text></g>",
        (
            (
                kind,
                f"{x0 * width:.1f}",
                f"{y0 * height:.1f}",
                f"{(x1 - x0) * width:.1f}",
                f"{(y1 - y0) * height:.1f}",
                colour,
                f"{font / 6:.1f}",
                f"{x0 * width + font / 4:.1f}",
                f"{max(y0 * height - font / 4, font):.1f}",
                f"{font:.1f}",
                colour,
                f"{font / 5:.1f}",
                label,
                f"{score:.2f}",
            )
            for kind, label, score, (x0, y0, x1, y1), colour in boxes
        ),
    )
    return format_html(
        '<div class="boxes-on-picture" style="position:relative;display:inline-block;max-width:100%">'
        '<img src="{}" alt="{}" style="display:block;max-width:100%;max-height:720px">'
        '<svg viewBox="0 0 {} {}" preserveAspectRatio="none" role="img" aria-label="{}" '
        'style="position:absolute;left:0;top:0;width:100%;height:100%">{}</svg></div>',
        url,
        work.title,
        width,
        height,
        _("%(objects)d objects and %(faces)d faces outlined") % {"objects": len(detections), "faces": len(faces)},
        shapes,
    )


admin.site.unregister(Artwork)
admin.site.register(Artwork, ArtworkAdmin)
add_notice(object_detection_notice)
collection_admin.add_artwork_section(_("Objects and faces on the picture"), boxes_on_picture)
collection_admin.add_artwork_section(_("Feature vector"), feature_vectors)
