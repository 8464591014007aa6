"""Training from the admin: a curator gives a labelled set, follows the epochs on a chart, activates the model.

Pages under the feature models' admin (:class:`analysis.admin.FeatureModelAdmin` adds :func:`training_urls`).
The job is ``analysis.tasks.train_features`` with ``activate_later``: the model it makes waits until a curator
activates it here, which starts re-embedding the collection (a Job); it becomes active once every work has a
vector (``analysis.services.embed_collection``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from analysis import training_sets
from analysis.models import FeatureModel
from core.models import Job

# The fields analysis.services._collection_samples can give, besides those of an uploaded set.
COLLECTION_FIELDS = ("style", "motifs", "artist", "classification", "decade", "medium")
HEAD_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")


class TrainingForm(forms.Form):
    labelled: training_sets.LabelledSet | None = None  # the set clean() read, for params()

    upload = forms.FileField(
        required=False,
        label=_("Labelled set (zip)"),
        help_text=_(
            "A folder per class (class/picture.jpg), or a CSV with an 'image' column and one column per label "
            "field next to the pictures. Leave empty to use a folder on the server or the collection's own labels."
        ),
    )
    folder = forms.CharField(
        required=False,
        max_length=500,
        label=_("Or a folder on the server"),
        help_text=_("A path under the folder the administrator allowed for training sets (TRAINING_SETS_ROOT)."),
    )
    folder_field = forms.SlugField(
        initial="style",
        max_length=40,
        label=_("Field the class folders name"),
        help_text=_("For a folder-per-class set: which label field the folder names are."),
    )
    label_fields = forms.CharField(
        required=False,
        max_length=500,
        label=_("Label fields to train on"),
        help_text=_("Comma-separated; empty trains on every field with enough examples."),
    )
    epochs = forms.IntegerField(min_value=1, max_value=200, initial=15, label=_("Epochs"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload, folder = cleaned.get("upload"), (cleaned.get("folder") or "").strip()
        if upload and folder:
            raise forms.ValidationError(_("Give either a zip or a folder on the server, not both."))
        folder_field = cleaned.get("folder_field") or "style"
        try:
            if upload:
                if upload.size > settings.TRAINING_UPLOAD_MAX_BYTES:
                    raise training_sets.SetRejected(
                        f"The zip is {upload.size / 2**20:.1f} MiB; at most "
                        f"{settings.TRAINING_UPLOAD_MAX_BYTES / 2**20:.0f} MiB is taken."
                    )
                cleaned["data"] = upload.read()
                self.labelled = training_sets.read_zip(cleaned["data"], folder_field)
            elif folder:
                self.labelled = training_sets.read_folder(folder, folder_field)
            else:
                self.labelled = None
        except training_sets.SetRejected as exc:
            raise forms.ValidationError(str(exc)) from None
        available = sorted({*COLLECTION_FIELDS, *(self.labelled.fields if self.labelled else {})})
        wanted = [f.strip() for f in (cleaned.get("label_fields") or "").split(",") if f.strip()]
        unknown = sorted(set(wanted) - set(available))
        if unknown:
            self.add_error(
                "label_fields",
                _("No such label field: %(unknown)s. Known: %(known)s.")
                % {"unknown": ", ".join(unknown), "known": ", ".join(available)},
            )
        cleaned["label_fields"] = wanted
        return cleaned

    def params(self) -> dict[str, Any]:
        """The training job's parameters (analysis.services.train_features reads them)."""
        cleaned = self.cleaned_data
        params: dict[str, Any] = {
            "activate_later": True,
            "folder_field": cleaned.get("folder_field") or "style",
            "fields": cleaned["label_fields"],
            "options": {"epochs": cleaned["epochs"]},
        }
        if cleaned.get("data"):
            params["labelled_upload"] = training_sets.store_upload(cleaned["data"])
        elif (cleaned.get("folder") or "").strip():
            params["labelled_folder"] = cleaned["folder"].strip()
        if self.labelled is not None:
            params["set"] = self.labelled.summary()
        return params


def epoch_chart(epochs: list[dict[str, Any]], width: int = 560, height: int = 220) -> str:
    """Held-out accuracy (or micro-F1 for multi-label heads) per head and epoch, as an inline SVG line chart."""
    heads = sorted({name for entry in epochs for name in entry.get("heads", {})})
    if not epochs or not heads:
        return ""
    left, right, top, bottom = 40, 10, 10, 30
    last = max(int(entry["epoch"]) for entry in epochs)

    def x(epoch: int) -> float:
        return left + (width - left - right) * ((epoch - 1) / max(1, last - 1) if last > 1 else 0.5)

    def y(value: float) -> float:
        return top + (height - top - bottom) * (1 - value)

    grid = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#ddd"/><text x="{}" y="{}" font-size="10" '
        'text-anchor="end">{}</text>',
        (
            (left, width - right, f"{y(v):.1f}", f"{y(v):.1f}", left - 4, f"{y(v) + 3:.1f}", f"{v:.1f}")
            for v in (0, 0.5, 1)
        ),
    )
    lines = []
    for i, head in enumerate(heads):
        points = [
            (int(e["epoch"]), e["heads"][head])
            for e in epochs
            if isinstance(e.get("heads", {}).get(head), (int, float))
        ]
        colour = HEAD_COLOURS[i % len(HEAD_COLOURS)]
        coords = " ".join(f"{x(ep):.1f},{y(v):.1f}" for ep, v in points)
        latest = f"{points[-1][1]:.3f}" if points else "—"
        lines.append(
            format_html(
                '<polyline class="epoch-line" data-head="{}" points="{}" fill="none" stroke="{}" stroke-width="2"/>'
                '<text x="{}" y="{}" font-size="11" fill="{}">{} {}</text>',
                head,
                coords,
                colour,
                left + 6 + 130 * i,
                height - 6,
                colour,
                head,
                latest,
            )
        )
    return format_html(
        '<svg class="epoch-chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}">{}{}'
        '<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text></svg>',
        width,
        height,
        width,
        height,
        _("Held-out accuracy per head and epoch"),
        grid,
        format_html_join("", "{}", ((line,) for line in lines)),
        width - right,
        height - bottom + 12,
        _("epoch %(n)d") % {"n": last},
    )


def _model_of(job: Job) -> FeatureModel | None:
    version = job.result.get("version") if job.status == Job.Status.DONE else None
    return FeatureModel.objects.filter(version=version).first() if version else None


def train_view(model_admin: ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    form = TrainingForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        from analysis.tasks import enqueue_training

        job = enqueue_training(form.params())
        messages.success(request, _("Training started as job %(pk)s.") % {"pk": job.pk})
        return HttpResponseRedirect(reverse("admin:mlserver_featuremodel_training", args=[job.pk]))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Train a feature model on a labelled set"),
        "form": form,
        "recent": Job.objects.filter(kind="train_features").order_by("-created")[:10],
    }
    return TemplateResponse(request, "admin/mlserver/featuremodel/train.html", context)


def training_view(model_admin: ModelAdmin, request: HttpRequest, job_pk: int) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    job = get_object_or_404(Job, pk=job_pk, kind="train_features")
    model = _model_of(job)
    embedding = Job.objects.filter(kind="embed_collection", target=model.version).first() if model else None
    running = job.status in (Job.Status.QUEUED, Job.Status.RUNNING) or (
        embedding is not None and embedding.status in (Job.Status.QUEUED, Job.Status.RUNNING)
    )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Training job %(pk)s") % {"pk": job.pk},
        "job": job,
        "chart": epoch_chart(job.result.get("epochs", [])),
        "epochs": job.result.get("epochs", []),
        "model": model,
        "embedding": embedding,
        "can_activate": model is not None
        and not model.is_active
        and model.status == FeatureModel.Status.READY
        and model_admin.has_change_permission(request),
        "refresh": running,
    }
    return TemplateResponse(request, "admin/mlserver/featuremodel/training.html", context)


def activate_view(model_admin: ModelAdmin, request: HttpRequest, job_pk: int) -> HttpResponse:
    """Starts re-embedding with the job's model; embed_collection activates it once every work has a vector."""
    if request.method != "POST" or not model_admin.has_change_permission(request):
        raise PermissionDenied
    job = get_object_or_404(Job, pk=job_pk, kind="train_features")
    model = _model_of(job)
    if model is None or model.is_active or model.status != FeatureModel.Status.READY:
        messages.error(request, _("This job has no trained model waiting to be activated."))
    else:
        embed = training_sets.start_embedding(model)
        messages.success(
            request,
            _("Re-embedding the collection with %(v)s (job %(pk)s); it becomes active when every work has a vector.")
            % {"v": model.version, "pk": embed.pk},
        )
    return HttpResponseRedirect(reverse("admin:mlserver_featuremodel_training", args=[job.pk]))


def training_urls(model_admin: ModelAdmin) -> list[URLPattern]:
    wrap = model_admin.admin_site.admin_view
    return [
        path("train/", wrap(lambda r: train_view(model_admin, r)), name="mlserver_featuremodel_train"),
        path(
            "training/<int:job_pk>/",
            wrap(lambda r, job_pk: training_view(model_admin, r, job_pk)),
            name="mlserver_featuremodel_training",
        ),
        path(
            "training/<int:job_pk>/activate/",
            wrap(lambda r, job_pk: activate_view(model_admin, r, job_pk)),
            name="mlserver_featuremodel_training_activate",
        ),
    ]
