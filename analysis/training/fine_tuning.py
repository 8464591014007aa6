"""Fine-tuning the whole network on a GPU (or slowly on CPU), as named steps."""

from __future__ import annotations

import copy
import functools
import logging
import math
import multiprocessing
import operator
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from analysis.backbone import (
    BackboneSpec,
    configure_torch_threads,
    load_backbone,
    make_eval_transform,
    make_train_transform,
    pooling_dim,
    resolve_data_config,
)
from analysis.training.checkpoints import FORMAT_VERSION
from analysis.training.labels import (
    EpochCallback,
    Kind,
    LabelCheck,
    LabelField,
    ProgressCallback,
    Sample,
    _LabelledDataset,
    min_labels_ok,
    split_samples,
)
from analysis.training.model import MultiHeadClassifier, _evaluate, _losses

logger = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Training parameters; recorded verbatim in the checkpoint."""

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    backbone_lr: float = 5e-4
    weight_decay: float = 0.01
    embedding_dim: int = 256
    dropout: float = 0.2
    label_smoothing: float = 0.1
    val_fraction: float = 0.2
    seed: int = 0
    patience: int = 3
    # Early stages (stem + blocks[:freeze_stages]) stay frozen: they hold generic
    # edge/texture filters, and skipping their backward pass is the biggest CPU saving.
    freeze_stages: int = 0
    img_size: int | None = None
    crop_scale: tuple[float, float] = (0.6, 1.0)
    min_per_class: int = 5
    min_classes: int = 2
    num_workers: int = 0
    max_seconds: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def _seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _num_workers(requested: int) -> int:
    # Daemonic processes (Celery prefork children) cannot start DataLoader workers.
    return 0 if multiprocessing.current_process().daemon else requested


def fine_tune(
    samples: Sequence[Sample],
    spec: BackboneSpec | None = None,
    config: TrainConfig | None = None,
    kinds: Mapping[str, Kind] | None = None,
    progress: ProgressCallback | None = None,
    on_epoch: EpochCallback | None = None,
) -> dict[str, Any]:
    """Fine-tune and return a checkpoint dict (see :func:`checkpoint_to_bytes`).

    Raises ``ValueError`` with :func:`min_labels_ok`'s reason when labels are too
    few - call that first to fall back gracefully. The held-out split is
    :func:`split_samples` with the config's ``val_fraction``/``seed``, stratified
    on the first single-label field. The weights of the epoch with the lowest
    held-out loss are returned (early stopping after ``patience`` worse epochs).
    """
    spec = spec or BackboneSpec()
    config = config or TrainConfig()
    started = time.monotonic()
    configure_torch_threads()
    generator = _seed_everything(config.seed)

    split = _labelled_split(samples, kinds, config)
    built = _build_model(spec, config, split.fields)
    train_loader, val_loader = _loaders(split, built, config, generator)
    steps_per_epoch = max(1, len(train_loader))
    optimiser = _optimiser(built, config, steps_per_epoch)
    ticks = _Ticks(progress, config.epochs * (steps_per_epoch + max(1, len(val_loader))))

    loaders = (train_loader, val_loader)
    best, history, stop_reason = _epoch_loop(built, split, loaders, optimiser, config, ticks, started, on_epoch)
    if best.state is not None:
        built.model.load_state_dict(best.state)
    built.model.eval()
    ticks.finish(f"done ({stop_reason}); best epoch {best.epoch}")
    return _checkpoint(spec, config, split, built, best, history, stop_reason, started)


# --------------------------------------------------------------------------- the steps, in order


class _Split(NamedTuple):
    check: LabelCheck
    fields: list[LabelField]
    train: list[Sample]
    val: list[Sample]


def _labelled_split(samples: Sequence[Sample], kinds: Mapping[str, Kind] | None, config: TrainConfig) -> _Split:
    """Data and split: too few labels raise before any weights load; the held-out part is stratified."""
    check = min_labels_ok(samples, kinds, config.min_per_class, config.min_classes)
    if not check:
        raise ValueError(check.reason)
    fields = list(check.fields.values())
    stratify = next((f.name for f in fields if f.kind == "single"), None)
    train_idx, val_idx = split_samples(samples, config.val_fraction, config.seed, stratify)
    return _Split(check, fields, [samples[i] for i in train_idx], [samples[i] for i in val_idx])


class _Built(NamedTuple):
    model: MultiHeadClassifier
    backbone: nn.Module
    data_config: dict[str, Any]
    device: torch.device
    use_amp: bool


def _build_model(spec: BackboneSpec, config: TrainConfig, fields: Sequence[LabelField]) -> _Built:
    """Model: the backbone under a new embedding layer and heads, on the device it trains on."""
    loaded = load_backbone(spec, num_classes=0)
    backbone, data_config = loaded.model, loaded.data_config
    if config.img_size is not None:
        data_config = resolve_data_config(backbone, config.img_size)
    model = MultiHeadClassifier(backbone, fields, config.embedding_dim, config.dropout)
    if config.freeze_stages > 0:
        model.freeze_early(config.freeze_stages)
    # On a GPU the whole network trains in mixed precision (fp16 autocast, scaled gradients).
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    use_amp = device.type == "cuda"
    # Module.to accepts memory_format (documented); torch's stubs only list device/dtype/tensor.
    model = model.to(device=device, memory_format=torch.channels_last)  # type: ignore[call-overload]
    return _Built(model, backbone, data_config, device, use_amp)


def _loaders(
    split: _Split, built: _Built, config: TrainConfig, generator: torch.Generator
) -> tuple[DataLoader[Any], DataLoader[Any]]:
    """Data loaders: random crops for the training part, the eval transform for the held-out part."""
    data_config = built.data_config
    input_size = int(data_config["input_size"][-1])
    # Decode JPEGs at reduced size, but large enough that the smallest random crop
    # (sqrt(min_scale) of the side) is still downsampled to the input size.
    train_draft = math.ceil(input_size / math.sqrt(config.crop_scale[0]))
    from analysis.extract import draft_size_for

    train_ds = _LabelledDataset(
        split.train, split.fields, make_train_transform(data_config, scale=config.crop_scale), train_draft
    )
    val_ds = _LabelledDataset(split.val, split.fields, make_eval_transform(data_config), draft_size_for(data_config))
    workers = _num_workers(config.num_workers)
    train_loader = DataLoader(
        train_ds,
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=len(train_ds) > config.batch_size,
        num_workers=workers,
        generator=generator,
        persistent_workers=workers > 0,
        pin_memory=built.use_amp,
    )
    val_loader = DataLoader(val_ds, batch_size=config.batch_size * 2, num_workers=workers, pin_memory=built.use_amp)
    return train_loader, val_loader


class _Optimiser(NamedTuple):
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler


def _optimiser(built: _Built, config: TrainConfig, steps_per_epoch: int) -> _Optimiser:
    """Optimiser: the backbone learns more slowly than the new layers; cosine schedule with a short warm-up."""
    model = built.model
    head_params = list(model.embedding.parameters()) + list(model.heads.parameters())
    backbone_params = [p for p in model.backbone.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": backbone_params, "lr": config.backbone_lr},
            {"params": head_params, "lr": config.lr},
        ],
        weight_decay=config.weight_decay,
    )
    total_steps = steps_per_epoch * config.epochs
    from timm.scheduler import CosineLRScheduler

    scheduler = CosineLRScheduler(
        optimizer,
        t_initial=total_steps,
        warmup_t=min(steps_per_epoch, total_steps // 5),
        warmup_lr_init=1e-6,
        lr_min=1e-6,
        t_in_epochs=False,
    )
    return _Optimiser(optimizer, scheduler, torch.amp.GradScaler("cuda", enabled=built.use_amp))


class _Ticks:
    """The progress callback's counter: one tick per training step and per held-out batch."""

    def __init__(self, progress: ProgressCallback | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0

    def tick(self, message: str) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total, message)

    def finish(self, message: str) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total, message)


@dataclass
class _Best:
    loss: float = math.inf
    state: dict[str, torch.Tensor] | None = None
    metrics: dict[str, dict[str, float | None]] = field(default_factory=dict)
    epoch: int = 0


def _epoch_loop(
    built: _Built,
    split: _Split,
    loaders: tuple[DataLoader[Any], DataLoader[Any]],
    optimiser: _Optimiser,
    config: TrainConfig,
    ticks: _Ticks,
    started: float,
    on_epoch: EpochCallback | None = None,
) -> tuple[_Best, list[dict[str, Any]], str]:
    """Epoch loop: train, evaluate, keep the best held-out weights; stop early or at the time limit."""
    train_loader, val_loader = loaders
    steps_per_epoch = max(1, len(train_loader))
    best = _Best()
    history: list[dict[str, Any]] = []
    stale = 0
    step = 0
    for epoch in range(1, config.epochs + 1):
        prefix = f"epoch {epoch}/{config.epochs}"
        running, step = _train_epoch(built, train_loader, optimiser, split.fields, config, step, ticks, prefix)
        val_loss, metrics = (
            _evaluation(built.model, val_loader, split.fields, ticks, prefix)
            if len(split.val)
            else (running / steps_per_epoch, {})
        )
        summary = ", ".join(f"{k} {v['metric']} {_figure(v['value'])}" for k, v in metrics.items())
        history.append({"epoch": epoch, "train_loss": running / steps_per_epoch, "val_loss": val_loss})
        logger.info("epoch %d: train loss %.4f, val loss %.4f, %s", epoch, running / steps_per_epoch, val_loss, summary)
        if on_epoch is not None:
            heads = {k: v["value"] for k, v in metrics.items()}
            on_epoch({"epoch": epoch, "train_loss": running / steps_per_epoch, "heads": heads})
        if val_loss < best.loss - 1e-4:
            best, stale = _Best(val_loss, copy.deepcopy(built.model.state_dict()), metrics, epoch), 0
        else:
            stale += 1
        if stale >= config.patience:
            return best, history, f"early stop: no held-out improvement for {stale} epochs"
        if config.max_seconds is not None and time.monotonic() - started > config.max_seconds:
            return best, history, "time limit"
    return best, history, "completed"


def _train_epoch(
    built: _Built,
    loader: DataLoader[Any],
    optimiser: _Optimiser,
    fields: Sequence[LabelField],
    config: TrainConfig,
    step: int,
    ticks: _Ticks,
    prefix: str,
) -> tuple[float, int]:
    """One pass over the training part; returns the summed loss and the scheduler's step count so far."""
    model, device = built.model, built.device
    optimizer, scheduler, scaler = optimiser
    model.train()
    running = 0.0
    for images, targets in loader:
        images = images.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        targets = {name: t.to(device, non_blocking=True) for name, t in targets.items()}
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=built.use_amp):
            logits = model(images)
        losses = _losses({k: v.float() for k, v in logits.items()}, targets, fields, config.label_smoothing)
        loss: torch.Tensor = functools.reduce(operator.add, losses.values())  # fields is never empty
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        step += 1
        scheduler.step_update(step)
        running += float(loss.detach())
        ticks.tick(f"{prefix}: training, loss {float(loss.detach()):.3f}")
    return running, step


def _evaluation(
    model: MultiHeadClassifier, loader: DataLoader[Any], fields: Sequence[LabelField], ticks: _Ticks, prefix: str
) -> tuple[float, dict[str, dict[str, float | None]]]:
    """Evaluation: held-out loss and per-head metrics, ticking once per batch."""

    def tick(message: str) -> None:
        ticks.tick(f"{prefix}: {message}")

    return _evaluate(model, loader, fields, tick)


def _checkpoint(
    spec: BackboneSpec,
    config: TrainConfig,
    split: _Split,
    built: _Built,
    best: _Best,
    history: list[dict[str, Any]],
    stop_reason: str,
    started: float,
) -> dict[str, Any]:
    """Checkpoint: the chosen weights on CPU with everything needed to rebuild and trust them."""
    model = built.model
    state_dict = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    model.to("cpu")
    return {
        "format_version": FORMAT_VERSION,
        "backbone": spec.name,
        "backbone_weights": spec.weights,
        "backbone_dim": pooling_dim(built.backbone, model.pooling),
        "pooling": model.pooling,
        "embedding_dim": config.embedding_dim,
        "data_config": {k: (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in built.data_config.items()},
        "fields": {f.name: {"kind": f.kind, "classes": list(f.classes)} for f in split.fields},
        "metrics": best.metrics,
        "params": {
            **config.as_dict(),
            "n_train": len(split.train),
            "n_val": len(split.val),
            "best_epoch": best.epoch,
            "epochs_run": len(history),
            "stop_reason": stop_reason,
            "seconds": round(time.monotonic() - started, 1),
            "device": built.device.type,
            "mixed_precision": built.use_amp,
            "label_check": split.check.reason,
        },
        "history": history,
        "state_dict": state_dict,
    }


def _figure(value: float | None) -> str:
    """A held-out figure for the log; a head with no held-out work has none."""
    return "-" if value is None else f"{value:.3f}"
