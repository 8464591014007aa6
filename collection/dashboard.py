"""The curators' dashboard on the admin index: how processing stands, and what later stages add to it.

collection knows works and jobs; the live maps and the feature model belong to later stages, which
add their panels with :func:`add_dashboard_panel` from their ``AppConfig.ready()``, the way
:func:`collection.sites.add_notice` and ``add_artwork_section`` let them extend the admin
without collection importing them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import urlencode

from collection.models import Artwork, ProcessingStatus
from core.models import Job

# A panel's HTML (escaped by its template), or None to leave it out (a stage with nothing to show yet).
PanelRender = Callable[[HttpRequest], "str | None"]


@dataclass(frozen=True)
class Panel:
    key: str
    title: str | Promise
    render: PanelRender
    order: int


_panels: dict[str, Panel] = {}

# The states a curator acts on, in the order work flows through them ("" is a work with no image).
STATES = (ProcessingStatus.QUEUED, ProcessingStatus.RUNNING, ProcessingStatus.DONE, ProcessingStatus.FAILED)
WAITING_JOBS_SHOWN = 10


def add_dashboard_panel(key: str, title: str | Promise, render: PanelRender, *, order: int = 50) -> None:
    """Registers a later stage's panel once per key: ``ready()`` may run twice in tests and management commands."""
    _panels[key] = Panel(key=key, title=title, render=render, order=order)


def panels(request: HttpRequest) -> list[tuple[str, str | Promise, str]]:
    """``(key, title, html)`` of every panel with something to show, in their order."""
    shown = []
    for panel in sorted(_panels.values(), key=lambda p: (p.order, p.key)):
        html = panel.render(request)
        if html:
            shown.append((panel.key, panel.title, html))
    return shown


def processing_counts() -> list[dict[str, Any]]:
    """Works per processing state, each with the artwork list filtered to it: one grouped query."""
    counts = dict(
        Artwork.objects.filter(processing_status__in=STATES)
        .values_list("processing_status")
        .annotate(n=Count("pk"))
        .values_list("processing_status", "n")
    )
    changelist = reverse("admin:collection_artwork_changelist")
    return [
        {
            "state": state.value,
            "label": state.label,
            "count": counts.get(state.value, 0),
            "url": f"{changelist}?{urlencode({'processing_status__exact': state.value})}",
        }
        for state in STATES
    ]


def waiting_jobs() -> dict[str, Any]:
    """Background jobs not finished yet, oldest first, since the oldest is what the next one waits behind."""
    pending = Job.objects.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).order_by("created")
    return {
        "jobs": list(pending[:WAITING_JOBS_SHOWN]),
        "total": pending.count(),
        "url": reverse("admin:core_job_changelist"),
    }


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    return {"processing": processing_counts(), "waiting": waiting_jobs(), "panels": panels(request)}
