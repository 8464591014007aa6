"""Training the embedding layer and heads on cached features, and the checkpoint it gives."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from analysis.backbone import POOLINGS, BackboneSpec, configure_torch_threads, load_backbone, pooling_dim
from analysis.cached_training.features import FeatureCache, extract_view_features
from analysis.training.checkpoints import FORMAT_VERSION
from analysis.training.fine_tuning import _seed_everything
from analysis.training.labels import (
    EpochCallback,
    Kind,
    LabelField,
    ProgressCallback,
    Sample,
    min_labels_ok,
    split_samples,
)
from analysis.training.model import MultiHeadClassifier, Standardize, _losses, head_metrics

logger = logging.getLogger(__name__)


@dataclass
class CachedTrainConfig:
    """Parameters of the CPU path; recorded verbatim in the checkpoint's ``params``.

    Defaults are the best measured on the WikiArt development set
    (docs/decisions/features-on-real-art.md).
    """

    views: int = 4
    pooling: str = "style"
    epochs: int = 15
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.05
    embedding_dim: int = 256
    dropout: float = 0.2
    label_smoothing: float = 0.1
    supcon_weight: float = 0.3
    temperature: float = 0.2
    # "instance": a work's positives are its own other views (labels are the heads' job);
    # "label": every work of its class in the first single-label field, as Khosla et al.
    supcon_groups: str = "instance"
    val_fraction: float = 0.2
    seed: int = 0
    min_per_class: int = 5
    min_classes: int = 2

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; known: {', '.join(POOLINGS)}")
        if self.supcon_groups not in ("instance", "label"):
            raise ValueError(f"supcon_groups must be 'instance' or 'label', not {self.supcon_groups!r}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- training


def supcon_loss(z: torch.Tensor, groups: torch.Tensor, temperature: float) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020) on L2-normalised rows; positives share a group."""
    z = F.normalize(z, dim=1)
    logits = z @ z.T / temperature
    n = z.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(eye, -1e9)
    positives = (groups[:, None] == groups[None, :]) & ~eye
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    count = positives.sum(1)
    keep = count > 0
    if not keep.any():
        return z.sum() * 0
    mean_pos = (log_prob * positives).sum(1)[keep] / count[keep]
    return -mean_pos.mean()


def _targets(samples: Sequence[Sample], fields: Sequence[LabelField]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for f in fields:
        lookup = {c: i for i, c in enumerate(f.classes)}
        if f.kind == "single":
            out[f.name] = torch.tensor(
                [lookup.get(v, -1) if isinstance(v := s.labels.get(f.name), str) else -1 for s in samples]
            )
        else:
            vec = torch.zeros(len(samples), len(f.classes) + 1)
            for r, s in enumerate(samples):
                value = s.labels.get(f.name)
                if value is not None:
                    vec[r, -1] = 1.0
                    for v in value:
                        if v in lookup:
                            vec[r, lookup[v]] = 1.0
            out[f.name] = vec
    return out


def fit_embedding(
    model: MultiHeadClassifier,
    features: np.ndarray,
    targets: Mapping[str, torch.Tensor],
    fields: Sequence[LabelField],
    config: CachedTrainConfig,
    metric_field: str | None,
    generator: torch.Generator,
    progress: Callable[[int, float, str], None] | None = None,
) -> list[dict[str, Any]]:
    """Train ``model.embedding`` and ``model.heads`` on (n, views, dim) features; returns the loss history.

    Each step takes two different views of every work in the batch, so the
    contrastive term always has a positive (the work itself) and, where the work
    is labelled in ``metric_field``, every other work of its class. With no
    fields at all this is instance discrimination across views.
    """
    x = torch.from_numpy(features)
    n, views, _ = x.shape
    params = list(model.embedding.parameters()) + list(model.heads.parameters())
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = max(1, n // config.batch_size) if n >= config.batch_size else 1
    total = steps_per_epoch * config.epochs
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=total, pct_start=0.1, anneal_strategy="cos"
    )
    metric = targets.get(metric_field) if metric_field and config.supcon_groups == "label" else None
    history = []
    model.embedding.train()
    model.dropout.train()
    for epoch in range(1, config.epochs + 1):
        order = torch.randperm(n, generator=generator)
        running = 0.0
        for step in range(steps_per_epoch):
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]
            if views > 1:
                first = torch.randint(0, views, (len(idx),), generator=generator)
                second = (first + torch.randint(1, views, (len(idx),), generator=generator)) % views
            else:
                first = second = torch.zeros(len(idx), dtype=torch.long)
            batch = torch.cat([x[idx, first], x[idx, second]])
            rows = torch.cat([idx, idx])
            e = model.embedding(batch)
            dropped = model.dropout(e)
            logits = {name: head(dropped) for name, head in model.heads.items()}
            batch_targets = {name: t[rows] for name, t in targets.items()}
            loss = sum(_losses(logits, batch_targets, fields, config.label_smoothing).values(), e.sum() * 0)
            if config.supcon_weight > 0:
                # Unlabelled works are their own group: positives are then only their other view.
                groups = rows + n
                if metric is not None:
                    labelled = metric[rows] >= 0
                    groups = torch.where(labelled, metric[rows], groups)
                loss = loss + config.supcon_weight * supcon_loss(e, groups, config.temperature)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            running += float(loss.detach())
        history.append({"epoch": epoch, "train_loss": running / steps_per_epoch})
        if progress is not None:
            loss = running / steps_per_epoch
            progress(epoch, loss, f"epoch {epoch}/{config.epochs}: loss {loss:.3f}")
    model.eval()
    return history


def train_on_cached_features(
    samples: Sequence[Sample],
    spec: BackboneSpec | None = None,
    config: CachedTrainConfig | None = None,
    kinds: Mapping[str, Kind] | None = None,
    cache: FeatureCache | None = None,
    refresh_cache: bool = False,
    progress: ProgressCallback | None = None,
    on_epoch: EpochCallback | None = None,
) -> dict[str, Any]:
    """The CPU path: a checkpoint in :func:`analysis.training.fine_tune`'s format, made in minutes.

    The split is :func:`split_samples` with the config's fraction and seed,
    stratified on the first single-label field, as ``fine_tune`` does. The
    held-out part is never trained on and never used to pick an epoch: training
    runs a fixed schedule and the held-out metrics are reported as they come.
    """
    spec = spec or BackboneSpec()
    config = config or CachedTrainConfig()
    started = time.monotonic()
    configure_torch_threads()
    generator = _seed_everything(config.seed)

    check = min_labels_ok(samples, kinds, config.min_per_class, config.min_classes)
    if not check:
        raise ValueError(check.reason)
    fields = list(check.fields.values())
    stratify = next((f.name for f in fields if f.kind == "single"), None)
    train_idx, val_idx = split_samples(samples, config.val_fraction, config.seed, stratify)

    # Extraction counts as most of the work in the progress bar: it is most of the time.
    extract_share = 80

    def extract_progress(done: int, total: int, message: str) -> None:
        if progress is not None:
            progress(int(extract_share * done / max(1, total)), 100, message)

    features, report = extract_view_features(
        samples,
        spec,
        config.views,
        cache=cache,
        refresh=refresh_cache,
        progress=extract_progress,
        pooling=config.pooling,
    )

    loaded = load_backbone(spec, num_classes=0)
    model = _frozen_model(loaded.model, fields, config, features[train_idx])
    targets = _targets(samples, fields)
    train_targets = {k: v[train_idx] for k, v in targets.items()}
    held_out = {k: v[val_idx] for k, v in targets.items()}

    def epoch_progress(epoch: int, loss: float, message: str) -> None:
        if progress is not None:
            progress(extract_share + (100 - extract_share - 1) * epoch // config.epochs, 100, message)
        if on_epoch is not None:  # shown as it comes; like the final figures, never used to pick an epoch
            heads = _held_out_metrics(model, features[val_idx, 0], held_out, fields) if val_idx else {}
            on_epoch({"epoch": epoch, "train_loss": loss, "heads": {k: v["value"] for k, v in heads.items()}})

    history = fit_embedding(  # the contrastive groups, if by label, follow the stratified field
        model, features[train_idx], train_targets, fields, config, stratify, generator, epoch_progress
    )
    metrics: dict[str, dict[str, float | None]] = {}
    if val_idx:
        metrics = _held_out_metrics(model, features[val_idx, 0], held_out, fields)
    if progress is not None:
        progress(100, 100, "done")
    params = {
        **config.as_dict(),
        "path": "cpu-cached-features",
        "n_train": len(train_idx),
        "n_val": len(val_idx),
        "epochs_run": len(history),
        "stop_reason": "completed",
        "seconds": round(time.monotonic() - started, 1),
        "feature_cache": report,
        "label_check": check.reason,
    }
    return _checkpoint(spec, config, loaded, model, fields, metrics, params, history)


def _frozen_model(
    backbone: torch.nn.Module, fields: Sequence[LabelField], config: CachedTrainConfig, train_features: np.ndarray
) -> MultiHeadClassifier:
    """The classifier over a frozen backbone, its Standardize step set from the training features only."""
    model = MultiHeadClassifier(backbone, fields, config.embedding_dim, config.dropout, pooling=config.pooling)
    # Training statistics only: the held-out works must not shape the model.
    standardize = model.embedding[0]
    assert isinstance(standardize, Standardize)
    standardize.set_statistics(torch.from_numpy(train_features))
    model.freeze_early(10**6)
    for p in model.backbone.parameters():
        p.requires_grad_(False)
    return model


def _held_out_metrics(
    model: MultiHeadClassifier,
    inference_view: np.ndarray,
    targets: Mapping[str, torch.Tensor],
    fields: Sequence[LabelField],
) -> dict[str, dict[str, float | None]]:
    """Per-head metrics on the held-out works' inference view, the one the extractor embeds."""
    with torch.inference_mode():
        e = model.embedding(torch.from_numpy(inference_view))
        logits = {name: head(e) for name, head in model.heads.items()}
    return head_metrics(logits, targets, fields)


def _checkpoint(
    spec: BackboneSpec,
    config: CachedTrainConfig,
    loaded: Any,
    model: MultiHeadClassifier,
    fields: Sequence[LabelField],
    metrics: dict[str, dict[str, float | None]],
    params: dict[str, Any],
    history: list[dict[str, Any]],
) -> dict[str, Any]:
    """A checkpoint in :func:`analysis.training.fine_tune`'s format: the frozen backbone and the trained layers."""
    state_dict = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    data_config = loaded.data_config
    return {
        "format_version": FORMAT_VERSION,
        "backbone": spec.name,
        "backbone_weights": spec.weights,
        "backbone_dim": pooling_dim(loaded.model, config.pooling),
        "pooling": config.pooling,
        "embedding_dim": config.embedding_dim,
        "data_config": {k: (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in data_config.items()},
        "fields": {f.name: {"kind": f.kind, "classes": list(f.classes)} for f in fields},
        "metrics": metrics,
        "params": params,
        "history": history,
        "state_dict": state_dict,
    }
