"""Models every stage uses: the background jobs curators follow in the admin."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    """A long-running background job (training, embedding, map build) with progress for the admin."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=40)
    target = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table keeps the name it had when the model lived in collection/ (migrations
        # collection 0003 and core 0001 move the model without touching the rows).
        db_table = "collection_job"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.kind} {self.target} ({self.status})"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    def _update(self, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(self, name, value)
        type(self).objects.filter(pk=self.pk).update(**fields)

    def start(self, total: int = 0, message: str = "") -> None:
        self._update(status=self.Status.RUNNING, started=timezone.now(), total=total, done=0, message=message[:500])

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        fields: dict[str, Any] = {"done": done}
        if total is not None:
            fields["total"] = total
        if message:
            fields["message"] = message[:500]
        self._update(**fields)

    def finish(self, result: dict | None = None, message: str = "") -> None:
        self._update(
            status=self.Status.DONE, finished=timezone.now(), result=result or {}, message=message[:500] or self.message
        )

    def fail(self, error: str) -> None:
        self._update(status=self.Status.FAILED, finished=timezone.now(), error=error[:10000])
