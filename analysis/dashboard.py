"""The feature model in use on the curators' dashboard, with how well each of its heads did on held-out works.

Registered by ``AnalysisConfig.ready()`` through ``collection.dashboard.add_dashboard_panel``.
"""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from analysis.models import FeatureModel

PANEL_TITLE = _("Feature model")


def head_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per trained head (``analysis.training.model.head_metrics``); entries that are not heads are skipped."""
    rows = []
    for name, m in sorted(metrics.items()):
        if not isinstance(m, dict) or "value" not in m:
            continue
        value = m.get("value")
        shown = None if value is None or (isinstance(value, float) and math.isnan(value)) else value
        rows.append({"head": name, "metric": m.get("metric", ""), "value": shown, "n": m.get("n")})
    return rows


def feature_model_panel(request: HttpRequest) -> str | None:
    if not request.user.has_perm("mlserver.view_featuremodel"):
        return None
    active = FeatureModel.objects.active()
    pending = FeatureModel.objects.filter(
        status__in=[FeatureModel.Status.TRAINING, FeatureModel.Status.EMBEDDING]
    ).order_by("created")
    context = {
        "model": active,
        "heads": head_rows(active.metrics) if active else [],
        "url": reverse("admin:mlserver_featuremodel_change", args=[active.pk]) if active else None,
        "pending": list(pending),
        "models_url": reverse("admin:mlserver_featuremodel_changelist"),
    }
    return render_to_string("admin/dashboard/feature_model.html", context, request=request)
