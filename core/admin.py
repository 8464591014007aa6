"""Jobs in the curators' admin: what runs in the background, how far it got, its log, and a Cancel button.

A running job's page follows it without a reload: core/static/core/job_progress.js polls the small
JSON view below (``progress/``) every two seconds while the job is queued or running.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from core.models import Job, JobLog

LOG_SHOWN = 500  # newest lines on the page; the JSON view sends only the lines after the last one shown


def ref_link(ref: str) -> tuple[str, str | None]:
    """(label, admin URL or None) of an ``app_label.model:pk`` reference."""
    label, _sep, pk = ref.partition(":")
    app_label, _dot, model_name = label.partition(".")
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return ref, None
    obj = model._default_manager.filter(pk=pk).first()
    text = f"{model._meta.verbose_name} {obj}" if obj is not None else f"{ref} ({_t('deleted')})"
    try:
        return text, reverse(f"admin:{app_label}_{model_name}_change", args=[pk]) if obj is not None else None
    except NoReverseMatch:
        return text, None


def format_eta(job: Job) -> str:
    eta = job.eta
    if eta is None:
        return ""
    minutes, seconds = divmod(int(eta.total_seconds()), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def log_line(line: JobLog) -> dict[str, Any]:
    text, url = ref_link(line.ref) if line.ref else ("", None)
    return {
        "id": line.pk,
        "time": line.created.strftime("%H:%M:%S"),
        "level": line.level,
        "message": line.message,
        "link": url,
        "link_text": text,
    }


def progress_payload(job: Job, after: int = 0) -> dict[str, Any]:
    lines = job.logs.filter(pk__gt=after).order_by("pk")[:LOG_SHOWN]
    return {
        "status": job.status,
        "status_display": job.get_status_display(),
        "active": job.is_active,
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "message": job.message,
        "eta": format_eta(job),
        "error": job.error,
        "log": [log_line(line) for line in lines],
    }


JOB_FIELDS = (
    "kind",
    "target",
    "status",
    "progress_bar",
    "eta_display",
    "message",
    "error",
    "produced_links",
    "failed_works",
    "log_lines",
    "params",
    "result",
    "created",
    "started",
    "finished",
)


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["kind", "target", "status", "progress_bar", "eta_display", "message", "created", "finished"]
    list_filter = ["kind", "status"]
    fields = readonly_fields = JOB_FIELDS
    change_form_template = "admin/core/job/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("Progress"))
    def progress_bar(self, obj: Job) -> str:
        return format_html(
            '<progress class="job-progress" value="{}" max="{}" title="{}/{}"></progress> '
            '<span class="job-figure">{} / {} ({}%)</span>',
            obj.done,
            obj.total or 1,
            obj.done,
            obj.total,
            obj.done,
            obj.total,
            obj.percent,
        )

    @admin.display(description=_("Time left"))
    def eta_display(self, obj: Job) -> str:
        return format_html('<span class="job-eta">{}</span>', format_eta(obj))

    @admin.display(description=_("Produced"))
    def produced_links(self, obj: Job) -> SafeString:
        return _links([ref_link(ref) for ref in obj.outputs])

    @admin.display(description=_("Failed works"))
    def failed_works(self, obj: Job) -> SafeString:
        rows = [(line.message, *ref_link(line.ref)) for line in obj.failed_items()[:200]]
        if not rows:
            return format_html("{}", "-")
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", '<li><a href="{}">{}</a>: {}</li>', ((url or "#", text, m) for m, text, url in rows)),
        )

    @admin.display(description=_("Log"))
    def log_lines(self, obj: Job) -> SafeString:
        lines = list(obj.logs.order_by("-pk")[:LOG_SHOWN])[::-1]
        items = format_html_join(
            "",
            '<li class="job-log-{}" data-id="{}"><time>{}</time> {}{}</li>',
            (
                (d["level"], d["id"], d["time"], d["message"], _link_after(d["link"], d["link_text"]))
                for d in map(log_line, lines)
            ),
        )
        return format_html(
            '<ol class="job-log" data-url="{}" data-active="{}" data-last="{}">{}</ol>',
            reverse("admin:core_job_progress", args=[obj.pk]),
            "1" if obj.is_active else "",
            lines[-1].pk if lines else 0,
            items,
        )

    def get_urls(self) -> list[URLPattern]:
        own = [
            path("<int:pk>/progress/", self.admin_site.admin_view(self.progress_view), name="core_job_progress"),
            path("<int:pk>/cancel/", self.admin_site.admin_view(self.cancel_view), name="core_job_cancel"),
        ]
        return own + super().get_urls()

    def progress_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        """What the job page's script polls: figures, ETA and the log lines after ``?after=``."""
        job = get_object_or_404(Job, pk=pk)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        try:
            after = int(request.GET.get("after", "0"))
        except ValueError:
            after = 0
        return JsonResponse(progress_payload(job, after))

    def cancel_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """POST only: the job is marked cancelled; its task stops at its next checkpoint."""
        job = get_object_or_404(Job, pk=pk)
        if request.method != "POST" or not self.has_change_permission(request, job):
            raise PermissionDenied
        if job.cancel():
            self.message_user(request, _("Job cancelled: it stops at its next step."), messages.SUCCESS)
        else:
            self.message_user(request, _("The job had already ended."), messages.WARNING)
        return HttpResponseRedirect(reverse("admin:core_job_change", args=[job.pk]))

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        job = Job.objects.filter(pk=object_id).first() if object_id else None
        extra = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "can_cancel_job": bool(job and job.is_active and self.has_change_permission(request, job)),
            **(extra_context or {}),
        }
        return super().changeform_view(request, object_id, form_url, extra)

    class Media:
        css = {"all": ["core/job_progress.css"]}
        js = ["core/job_progress.js"]


def _links(items: list[tuple[str, str | None]]) -> SafeString:
    if not items:
        return format_html("{}", "-")
    return format_html_join(
        ", ", "{}", ((format_html('<a href="{}">{}</a>', url, text) if url else text,) for text, url in items)
    )


def _link_after(url: str | None, text: str) -> SafeString | str:
    return format_html(' <a href="{}">{}</a>', url, text) if url else ""
