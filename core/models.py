"""Models every stage uses: the background jobs curators follow in the admin, and their log lines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobCancelled(Exception):
    """Raised at a job's checkpoint once a curator cancelled it; the task stops there, between two steps."""


class Job(models.Model):
    """A long-running background job (import, processing burst, training, map build) with progress for the admin.

    The task that runs it reports through start/progress/log/finish/fail and calls
    :meth:`check_cancelled` between steps or works, where stopping leaves nothing half-written.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    LOG_LIMIT = 2000  # lines kept per job; a huge import's thousandth bad row adds nothing

    kind = models.CharField(max_length=40)
    target = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    # What the job made, as "app_label.model:pk" (a map build, a feature model, an import run).
    outputs = models.JSONField(default=list, blank=True)
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
        return min(100, int(100 * self.done / self.total)) if self.total else 0

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def eta(self) -> timedelta | None:
        """Time left at the pace so far (elapsed / done x remaining); None until there is a pace."""
        if self.status != self.Status.RUNNING or not self.started or not self.done or self.done >= self.total:
            return None
        elapsed = (timezone.now() - self.started).total_seconds()
        return timedelta(seconds=round(elapsed / self.done * (self.total - self.done)))

    def _update(self, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(self, name, value)
        type(self).objects.filter(pk=self.pk).update(**fields)

    def _update_unless_cancelled(self, **fields: Any) -> bool:
        """Writes the fields unless a curator cancelled the job meanwhile (the cancel has the last word)."""
        if not type(self).objects.filter(pk=self.pk).exclude(status=self.Status.CANCELLED).update(**fields):
            self.status = self.Status.CANCELLED
            return False
        for name, value in fields.items():
            setattr(self, name, value)
        return True

    def start(self, total: int = 0, message: str = "") -> None:
        """Raises JobCancelled for a job cancelled while it waited in the queue."""
        now = timezone.now()
        if not self._update_unless_cancelled(
            status=self.Status.RUNNING, started=now, total=total, done=0, message=message[:500]
        ):
            raise JobCancelled(str(self))
        if message:
            self.log(message)

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        fields: dict[str, Any] = {"done": done}
        if total is not None:
            fields["total"] = total
        if message:
            fields["message"] = message[:500]
        self._update(**fields)
        if message and message != getattr(self, "_last_message", None):
            self._last_message = message
            self.log(message)

    def checkpoint(self, done: int, total: int | None = None, message: str = "") -> None:
        """progress(), then the cancel check: for callers that report between whole steps."""
        self.progress(done, total, message)
        self.check_cancelled()

    def advance(self, by: int = 1) -> int:
        """Counts ``by`` more items done from any process (a burst's works finish on the worker); returns done."""
        type(self).objects.filter(pk=self.pk).update(done=models.F("done") + by)
        self.done = type(self).objects.filter(pk=self.pk).values_list("done", flat=True).get()
        return self.done

    # A burst: items (works) are counted in as they are queued and out as the workers finish them, in
    # any order and any process. Whichever of seal() and the last item_finished() comes second
    # finishes the job: each writes its own fact before reading the other's.

    def add_total(self, by: int = 1) -> None:
        if self.status == self.Status.QUEUED:
            self.start(message=f"{self.kind} {self.target}".strip())
        type(self).objects.filter(pk=self.pk).update(total=models.F("total") + by)
        self.total += by

    def item_finished(self, *, ok: bool, message: str = "", ref: str = "") -> None:
        """One item through; a failed one is logged with its reason and a link to it."""
        if message:
            self.log(message, level=JobLog.Level.INFO if ok else JobLog.Level.ERROR, ref=ref)
        self.advance()
        self._finish_if_complete()

    def seal(self) -> None:
        """No more items will be added; the job ends with its last item (or now, if all are through)."""
        self._update(params={**self.params, "sealed": True})
        self._finish_if_complete()

    def _finish_if_complete(self) -> None:
        self.refresh_from_db(fields=["done", "total", "params", "status"])
        if self.params.get("sealed") and self.done >= self.total and self.status == self.Status.RUNNING:
            failed = self.failed_items().count()
            self.finish({"items": self.total, "failed": failed}, message=f"{self.total - failed} of {self.total} done")

    def failed_items(self) -> models.QuerySet[JobLog]:
        """The log lines of items that failed, each with its reason and a reference to the item."""
        return self.logs.filter(level=JobLog.Level.ERROR).exclude(ref="")

    def finish(self, result: dict | None = None, message: str = "") -> None:
        message = message[:500] or self.message
        if self._update_unless_cancelled(
            status=self.Status.DONE, finished=timezone.now(), result=result or {}, message=message
        ):
            self.log(message or "done")

    def fail(self, error: str) -> None:
        if self._update_unless_cancelled(status=self.Status.FAILED, finished=timezone.now(), error=error[:10000]):
            self.log(error[:1000], level=JobLog.Level.ERROR)

    def cancel(self) -> bool:
        """Marks a queued or running job cancelled; its task stops at its next checkpoint. False if it had ended."""
        now = timezone.now()
        if (
            not type(self)
            .objects.filter(pk=self.pk, status__in=self.ACTIVE)
            .update(status=self.Status.CANCELLED, finished=now)
        ):
            return False
        self.status, self.finished = self.Status.CANCELLED, now
        self.log("cancelled", level=JobLog.Level.WARNING)
        return True

    def check_cancelled(self) -> None:
        """A checkpoint: raises JobCancelled once the job was cancelled (one indexed read)."""
        status = type(self).objects.filter(pk=self.pk).values_list("status", flat=True).first()
        if status in (None, self.Status.CANCELLED):
            self.status = self.Status.CANCELLED
            raise JobCancelled(str(self))

    def log(self, message: str, *, level: str = "info", ref: str = "") -> None:
        """One line of the job's log, with an optional reference (``app_label.model:pk``) the admin links."""
        logged = getattr(self, "_logged", None)
        if logged is None:
            logged = JobLog.objects.filter(job_id=self.pk).count()
        if logged >= self.LOG_LIMIT:
            return
        JobLog.objects.create(job_id=self.pk, level=level, message=message[:1000], ref=ref[:100])
        self._logged = logged + 1

    def produced(self, obj: models.Model) -> None:
        """Records what the job made, for the admin's link to it."""
        ref = object_ref(obj)
        if ref not in self.outputs:
            self._update(outputs=[*self.outputs, ref])


def object_ref(obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}:{obj.pk}"


class JobLog(models.Model):
    """A line of a job's log: what it did, what it skipped and why, which work failed."""

    class Level(models.TextChoices):
        INFO = "info", _("Info")
        WARNING = "warning", _("Warning")
        ERROR = "error", _("Error")

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="logs")
    created = models.DateTimeField(auto_now_add=True)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    message = models.CharField(max_length=1000)
    # The object the line is about ("collection.artwork:12"), linked in the admin.
    ref = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"
