"""A head with no held-out work has no figure; PostgreSQL's JSON takes no NaN, so the model must still save."""

from __future__ import annotations

import json

import pytest
import torch

from analysis.models import FeatureModel
from analysis.training.labels import LabelField
from analysis.training.model import head_metrics
from core.models import Job

FIELDS = [
    LabelField(name="style", kind="single", classes=("a", "b")),
    LabelField(name="motifs", kind="multi", classes=("x", "y")),
]


def metrics_with_an_empty_head() -> dict:
    # style: two held-out works with labels; motifs: none of the held-out works has motifs (last column 0).
    logits = {"style": torch.tensor([[2.0, 0.0], [0.0, 2.0]]), "motifs": torch.zeros(2, 2)}
    targets = {"style": torch.tensor([0, 1]), "motifs": torch.zeros(2, 3)}
    return head_metrics(logits, targets, FIELDS)


def test_a_head_without_held_out_works_gets_no_figure_rather_than_nan():
    metrics = metrics_with_an_empty_head()

    json.dumps(metrics, allow_nan=False)  # what PostgreSQL's jsonb accepts
    assert metrics["motifs"]["n"] == 0 and metrics["motifs"]["value"] is None and metrics["motifs"]["map"] is None
    assert metrics["style"]["value"] == 1.0


@pytest.mark.django_db
def test_a_model_whose_head_had_no_held_out_works_is_saved_and_shown(admin_client_for_curator):
    model = FeatureModel.objects.create(
        version="test:tuned:nan", backbone="test", kind="finetuned", dim=4, metrics=metrics_with_an_empty_head()
    )
    job = Job.objects.create(kind="train_features", status=Job.Status.DONE, result={"version": model.version})
    model.activate()

    assert FeatureModel.objects.get(pk=model.pk).metrics["motifs"]["value"] is None
    assert admin_client_for_curator.get(f"/admin/mlserver/featuremodel/{model.pk}/change/").status_code == 200
    assert admin_client_for_curator.get("/admin/").status_code == 200
    training = admin_client_for_curator.get(f"/admin/mlserver/featuremodel/training/{job.pk}/").content.decode()
    row = training[training.index("<td>motifs</td>") :].split("</tr>")[0]
    assert "<td>—</td>" in row
