"""Fine-tuning a multi-head classifier whose penultimate layer becomes the collection embedding.

Curators label a few fields (``style``: one class per work; ``motifs``: any number
of tags). Training one head per field on top of a shared embedding layer makes
that embedding reflect the distinctions curators care about, which is what the
similarity map and search then use. Everything here is storage-agnostic: samples
carry a path or a callable returning image bytes / a PIL image, so the Django
layer decides where images come from.

Architecture (all dims for the default lite0 backbone)::

    image -> timm backbone, pooled: ``avg`` pre-logits (1280) or ``style`` statistics (2768,
             see mlserver.backbone.pool_features)
          -> embedding: Standardize -> Linear(d, 256) -> LayerNorm -> GELU   (256-d, the vector we store)
          -> dropout -> one Linear head per field

``Standardize`` is the identity for the full fine-tune; the CPU path sets it to
the per-dimension mean and deviation of its cached training features, because
the style statistics of different stages differ in scale by orders of magnitude.

Metrics per head on the held-out split: single-label -> top-1 accuracy;
multi-label -> micro-F1 at threshold 0.5 (reported as ``value``) and macro mean
average precision (``map``) for information.
"""

from __future__ import annotations

import copy
import csv
import io
import logging
import math
import multiprocessing
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .backbone import (
    POOLINGS,
    BackboneSpec,
    configure_torch_threads,
    load_backbone,
    make_eval_transform,
    make_train_transform,
    pool_features,
    pooling_dim,
    weights_digest,
)

__all__ = [
    "FORMAT_VERSION",
    "IMAGE_EXTENSIONS",
    "IncompatibleCheckpoint",
    "LabelCheck",
    "LabelField",
    "LoadedCheckpoint",
    "MultiHeadClassifier",
    "ProgressCallback",
    "Sample",
    "Standardize",
    "TrainConfig",
    "checkpoint_from_bytes",
    "checkpoint_to_bytes",
    "fine_tune",
    "infer_kinds",
    "knn_label_accuracy",
    "load_checkpoint",
    "load_image_folder",
    "load_labelled_csv",
    "load_labelled_set",
    "min_labels_ok",
    "split_samples",
]

logger = logging.getLogger(__name__)

# 2: the checkpoint names its pooling, and the embedding layer starts with a Standardize step.
FORMAT_VERSION = 2
# Format 1 (average pooling, no Standardize layer) still loads: a model a museum trained before stays usable and
# keeps its feature version, so its stored vectors and maps remain valid until it trains again.
READABLE_FORMAT_VERSIONS = (1, 2)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif")

Kind = Literal["single", "multi"]
LabelValue = Union[str, Sequence[str], None]
ImageRef = Union[str, Path, Callable[[], Union[Image.Image, bytes]]]
ProgressCallback = Callable[[int, int, str], None]


class IncompatibleCheckpoint(ValueError):
    """The checkpoint cannot be used with this code or this backbone; retrain instead of guessing."""


@dataclass
class Sample:
    """One labelled image.

    ``image`` is a path or a zero-argument callable returning a PIL image or the
    encoded bytes. ``labels`` maps field -> label: a string for single-label
    fields, a list of strings for multi-label fields (an empty list means
    "labelled, none apply"), ``None``/absent for "not labelled".
    """

    image: ImageRef
    labels: dict[str, LabelValue]
    key: Hashable | None = None


@dataclass(frozen=True)
class LabelField:
    name: str
    kind: Kind
    classes: tuple[str, ...]


@dataclass
class LabelCheck:
    """Result of :func:`min_labels_ok`; falsy when no field can be trained.

    ``reason`` is a sentence for curators/logs: why training is impossible, or
    which classes were left out. ``fields`` holds the trainable fields with the
    classes that have enough examples.
    """

    ok: bool
    reason: str
    fields: dict[str, LabelField]

    def __bool__(self) -> bool:
        return self.ok


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


# --------------------------------------------------------------------------- datasets on disk


def load_image_folder(root: str | Path, field: str = "style") -> list[Sample]:
    """Folder-per-class layout (``root/<class>/<image>``) as single-label samples of ``field``."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    samples: list[Sample] = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(class_dir.rglob("*")):
            if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS:
                samples.append(Sample(image=path, labels={field: class_dir.name}, key=str(path.relative_to(root))))
    if not samples:
        raise ValueError(f"no images found in class folders under {root}")
    return samples


_MULTI_SPLIT = re.compile(r"[|;]")


def load_labelled_csv(
    csv_path: str | Path,
    image_root: str | Path | None = None,
    multi_label_fields: Sequence[str] | None = None,
    image_column: str = "image",
) -> list[Sample]:
    """CSV with an image path column and one column per label field.

    A field is multi-label if named in ``multi_label_fields`` or, when that is not
    given, if any of its cells contains ``|`` or ``;`` (the separators). Empty
    single-label cells mean "unlabelled"; empty multi-label cells mean "none apply".
    Relative image paths resolve against ``image_root`` (default: the CSV's folder).
    """
    csv_path = Path(csv_path)
    image_root = Path(image_root) if image_root is not None else csv_path.parent
    with csv_path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise ValueError(f"{csv_path} has no rows")
    columns = [c for c in rows[0].keys() if c != image_column]
    if image_column not in rows[0]:
        raise ValueError(f"{csv_path} has no {image_column!r} column")
    if multi_label_fields is None:
        multi = {c for c in columns if any(_MULTI_SPLIT.search(row[c] or "") for row in rows)}
    else:
        multi = set(multi_label_fields)
    samples: list[Sample] = []
    for row in rows:
        labels: dict[str, LabelValue] = {}
        for column in columns:
            cell = (row[column] or "").strip()
            if column in multi:
                labels[column] = [v.strip() for v in _MULTI_SPLIT.split(cell) if v.strip()]
            else:
                labels[column] = cell or None
        path = Path(row[image_column])
        if not path.is_absolute():
            path = image_root / path
        samples.append(Sample(image=path, labels=labels, key=row[image_column]))
    return samples


def load_labelled_set(path: str | Path, field: str = "style") -> list[Sample]:
    """A ``.csv`` file -> :func:`load_labelled_csv`; a directory -> :func:`load_image_folder`."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".csv":
        return load_labelled_csv(path)
    return load_image_folder(path, field=field)


# --------------------------------------------------------------------------- label checks


def infer_kinds(samples: Sequence[Sample]) -> dict[str, Kind]:
    """single for string labels, multi for list labels; mixing both in one field is an error."""
    kinds: dict[str, Kind] = {}
    for sample in samples:
        for name, value in sample.labels.items():
            if value is None:
                continue
            kind: Kind = "single" if isinstance(value, str) else "multi"
            if kinds.setdefault(name, kind) != kind:
                raise ValueError(f"field {name!r} mixes single labels and label lists")
    return kinds


def _labelled(samples: Sequence[Sample], name: str, kind: Kind) -> list[Sample]:
    out = []
    for s in samples:
        value = s.labels.get(name)
        if value is None or (kind == "single" and value == ""):
            continue
        out.append(s)
    return out


def min_labels_ok(
    samples: Sequence[Sample],
    kinds: Mapping[str, Kind] | None = None,
    min_per_class: int = 5,
    min_classes: int = 2,
) -> LabelCheck:
    """Decide whether there are enough labels to fine-tune, and with which classes.

    A single-label class needs ``min_per_class`` examples and a single-label field
    needs ``min_classes`` such classes. A multi-label class needs
    ``min_per_class`` positives *and* negatives (a tag on every image teaches
    nothing); a multi-label field needs one such class. Classes below the bar are
    left out (their images remain unlabelled for that field) rather than failing
    the whole run. If no field is trainable the platform should fall back to the
    pretrained backbone's features - ``reason`` says why.
    """
    kinds = dict(kinds) if kinds is not None else infer_kinds(samples)
    fields: dict[str, LabelField] = {}
    problems: list[str] = []
    notes: list[str] = []
    for name, kind in sorted(kinds.items()):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            problems.append(f"field name {name!r} must be an identifier")
            continue
        labelled = _labelled(samples, name, kind)
        counts: Counter[str] = Counter()
        for s in labelled:
            value = s.labels[name]
            counts.update([value] if kind == "single" else set(value))  # type: ignore[list-item,arg-type]
        if kind == "single":
            keep = sorted(c for c, n in counts.items() if n >= min_per_class)
            needed = min_classes
        else:
            keep = sorted(c for c, n in counts.items() if n >= min_per_class and len(labelled) - n >= min_per_class)
            needed = 1
        dropped = sorted(set(counts) - set(keep))
        if len(keep) < needed:
            problems.append(
                f"{name}: {len(labelled)} labelled images, {len(keep)} classes with at least "
                f"{min_per_class} examples{' and non-examples' if kind == 'multi' else ''} "
                f"(need {needed})"
            )
            continue
        if dropped:
            notes.append(f"{name}: left out classes with too few examples: {', '.join(dropped)}")
        fields[name] = LabelField(name, kind, tuple(keep))
    if not fields:
        reason = "too few labels to fine-tune; use pretrained features. " + (
            "; ".join(problems) if problems else "no labelled fields"
        )
        return LabelCheck(False, reason, {})
    summary = ", ".join(f"{f.name} ({f.kind}, {len(f.classes)} classes)" for f in fields.values())
    reason = f"trainable: {summary}" + ("; " + "; ".join(problems + notes) if problems or notes else "")
    return LabelCheck(True, reason, fields)


def split_samples(
    samples: Sequence[Sample],
    val_fraction: float = 0.2,
    seed: int = 0,
    stratify_field: str | None = None,
) -> tuple[list[int], list[int]]:
    """Seeded held-out split, stratified on a single-label field where possible.

    Returns index lists (train, val) so callers (tests, benches) can reproduce the
    exact split :func:`fine_tune` used. Unlabelled samples form their own stratum.
    """
    from sklearn.model_selection import train_test_split

    indices = list(range(len(samples)))
    if val_fraction <= 0 or len(samples) < 2:
        return indices, []
    strata = None
    if stratify_field is not None:
        strata = [str(s.labels.get(stratify_field)) for s in samples]
        counts = Counter(strata)
        n_val = math.ceil(len(samples) * val_fraction)
        if min(counts.values()) < 2 or n_val < len(counts):
            strata = None
    train, val = train_test_split(indices, test_size=val_fraction, random_state=seed, stratify=strata)
    return sorted(train), sorted(val)


# --------------------------------------------------------------------------- model


class Standardize(nn.Module):
    """Per-dimension ``(x - mean) / std`` with stored statistics; the identity until they are set."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def set_statistics(self, features: torch.Tensor) -> None:
        """Statistics of (n, dim) training features; a floor on std keeps dead channels from exploding."""
        flat = features.reshape(-1, features.shape[-1]).float()
        self.mean.copy_(flat.mean(0))
        self.std.copy_(flat.std(0).clamp_min(1e-3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class MultiHeadClassifier(nn.Module):
    """Backbone -> pooling -> embedding layer -> one linear head per label field."""

    def __init__(
        self,
        backbone: nn.Module,
        fields: Sequence[LabelField],
        embedding_dim: int = 256,
        dropout: float = 0.2,
        pooling: str = "avg",
        standardize: bool = True,
    ) -> None:
        """``standardize=False`` is the format-1 layout (no Standardize layer), kept so older models load."""
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; known: {', '.join(POOLINGS)}")
        self.backbone = backbone
        self.pooling = pooling
        self.fields = list(fields)
        dim = pooling_dim(backbone, pooling)
        layers: list[nn.Module] = [Standardize(dim)] if standardize else []
        self.embedding = nn.Sequential(*layers, nn.Linear(dim, embedding_dim), nn.LayerNorm(embedding_dim), nn.GELU())
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({f.name: nn.Linear(embedding_dim, len(f.classes)) for f in self.fields})
        self.frozen_stages = -1

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return pool_features(self.backbone, x, self.pooling)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The stored vector: the penultimate (embedding) layer, before normalisation."""
        return self.embedding(self.features(x))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        e = self.dropout(self.embed(x))
        return {name: head(e) for name, head in self.heads.items()}

    def freeze_early(self, stages: int) -> None:
        """Freeze stem and the first ``stages`` block stages (weights and BN statistics)."""
        self.frozen_stages = stages
        for module in self._frozen_modules():
            for p in module.parameters():
                p.requires_grad_(False)

    def _frozen_modules(self) -> list[nn.Module]:
        if self.frozen_stages < 0:
            return []
        b = self.backbone
        modules = [m for m in (getattr(b, "conv_stem", None), getattr(b, "bn1", None)) if m is not None]
        blocks = getattr(b, "blocks", None)
        if blocks is not None:
            modules.extend(list(blocks)[: self.frozen_stages])
        return modules

    def train(self, mode: bool = True) -> "MultiHeadClassifier":
        super().train(mode)
        for module in self._frozen_modules():
            module.eval()  # frozen BN keeps its ImageNet statistics
        return self


# --------------------------------------------------------------------------- training data


def _open_image(ref: ImageRef, draft_size: int | None) -> Image.Image:
    from .extract import decode_image

    return decode_image(ref() if callable(ref) else ref, draft_size)


class _LabelledDataset(Dataset):
    def __init__(
        self,
        samples: Sequence[Sample],
        fields: Sequence[LabelField],
        transform: Callable[[Image.Image], torch.Tensor],
        draft_size: int | None,
    ) -> None:
        self.samples = samples
        self.fields = fields
        self.transform = transform
        self.draft_size = draft_size
        self.index = {f.name: {c: i for i, c in enumerate(f.classes)} for f in fields}

    def __len__(self) -> int:
        return len(self.samples)

    def targets(self, sample: Sample) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for f in self.fields:
            value = sample.labels.get(f.name)
            lookup = self.index[f.name]
            if f.kind == "single":
                out[f.name] = torch.tensor(lookup.get(value, -1) if isinstance(value, str) else -1)
            else:
                vec = torch.zeros(len(f.classes) + 1)  # last slot: "is labelled" mask
                if value is not None:
                    vec[-1] = 1.0
                    for v in value:
                        if v in lookup:
                            vec[lookup[v]] = 1.0
                out[f.name] = vec
        return out

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        sample = self.samples[i]
        image = _open_image(sample.image, self.draft_size)
        return self.transform(image), self.targets(sample)


def _losses(
    logits: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor],
    fields: Sequence[LabelField],
    label_smoothing: float,
) -> dict[str, torch.Tensor]:
    """Per-head mean loss over the samples labelled for that head (zero if none are)."""
    out: dict[str, torch.Tensor] = {}
    for f in fields:
        z, t = logits[f.name], targets[f.name]
        if f.kind == "single":
            mask = t >= 0
            out[f.name] = (
                F.cross_entropy(z[mask], t[mask], label_smoothing=label_smoothing) if mask.any() else z.sum() * 0
            )
        else:
            mask = t[:, -1] > 0
            out[f.name] = F.binary_cross_entropy_with_logits(z[mask], t[mask, :-1]) if mask.any() else z.sum() * 0
    return out


@torch.inference_mode()
def _evaluate(
    model: MultiHeadClassifier,
    loader: DataLoader,
    fields: Sequence[LabelField],
    tick: Callable[[str], None],
) -> tuple[float, dict[str, dict[str, float]]]:
    model.eval()
    device = next(model.parameters()).device
    all_logits: dict[str, list[torch.Tensor]] = {f.name: [] for f in fields}
    all_targets: dict[str, list[torch.Tensor]] = {f.name: [] for f in fields}
    for images, targets in loader:
        images = images.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=device.type == "cuda"):
            logits = model(images)
        for f in fields:
            all_logits[f.name].append(logits[f.name].float().cpu())
            all_targets[f.name].append(targets[f.name])
        tick("validating")
    metrics = head_metrics(
        {f.name: torch.cat(all_logits[f.name]) for f in fields},
        {f.name: torch.cat(all_targets[f.name]) for f in fields},
        fields,
    )
    return float(sum(m["loss"] for m in metrics.values())), metrics


def head_metrics(
    logits: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor], fields: Sequence[LabelField]
) -> dict[str, dict[str, float]]:
    """Held-out loss and metric per head: top-1 accuracy for single-label heads, micro-F1 and mAP for
    multi-label ones (whose target's last column says whether the work has that field at all).

    Shared by the full fine-tune and the CPU path, so their per-head figures read the same.
    """
    from sklearn.metrics import average_precision_score, f1_score

    metrics: dict[str, dict[str, float]] = {}
    for f in fields:
        z, t = logits[f.name], targets[f.name]
        loss = float(_losses({f.name: z}, {f.name: t}, [f], 0.0)[f.name])
        if f.kind == "single":
            mask = t >= 0
            n = int(mask.sum())
            acc = float((z[mask].argmax(1) == t[mask]).float().mean()) if n else float("nan")
            metrics[f.name] = {"metric": "top1_accuracy", "value": acc, "loss": loss, "n": n}  # type: ignore[dict-item]
        else:
            mask = t[:, -1] > 0
            n = int(mask.sum())
            y = t[mask, :-1].numpy()
            p = torch.sigmoid(z[mask]).numpy()
            micro = float(f1_score(y, p >= 0.5, average="micro", zero_division=0)) if n else float("nan")
            has_pos = y.sum(0) > 0
            m_ap = (
                float(average_precision_score(y[:, has_pos], p[:, has_pos], average="macro"))
                if n and has_pos.any()
                else float("nan")
            )
            metrics[f.name] = {"metric": "micro_f1", "value": micro, "map": m_ap, "loss": loss, "n": n}  # type: ignore[dict-item]
    return metrics


# --------------------------------------------------------------------------- training


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

    check = min_labels_ok(samples, kinds, config.min_per_class, config.min_classes)
    if not check:
        raise ValueError(check.reason)
    fields = list(check.fields.values())
    stratify = next((f.name for f in fields if f.kind == "single"), None)
    train_idx, val_idx = split_samples(samples, config.val_fraction, config.seed, stratify)
    train_samples = [samples[i] for i in train_idx]
    val_samples = [samples[i] for i in val_idx]

    loaded = load_backbone(spec, num_classes=0)
    backbone, data_config = loaded.model, loaded.data_config
    if config.img_size is not None:
        from .backbone import resolve_data_config

        data_config = resolve_data_config(backbone, config.img_size)
    model = MultiHeadClassifier(backbone, fields, config.embedding_dim, config.dropout)
    if config.freeze_stages > 0:
        model.freeze_early(config.freeze_stages)
    # On a GPU the whole network trains in mixed precision (fp16 autocast, scaled gradients).
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    use_amp = device.type == "cuda"
    model = model.to(device=device, memory_format=torch.channels_last)

    input_size = int(data_config["input_size"][-1])
    # Decode JPEGs at reduced size, but large enough that the smallest random crop
    # (sqrt(min_scale) of the side) is still downsampled to the input size.
    train_draft = math.ceil(input_size / math.sqrt(config.crop_scale[0]))
    from .extract import draft_size_for

    train_ds = _LabelledDataset(
        train_samples, fields, make_train_transform(data_config, scale=config.crop_scale), train_draft
    )
    val_ds = _LabelledDataset(val_samples, fields, make_eval_transform(data_config), draft_size_for(data_config))
    workers = _num_workers(config.num_workers)
    train_loader = DataLoader(
        train_ds,
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=len(train_ds) > config.batch_size,
        num_workers=workers,
        generator=generator,
        persistent_workers=workers > 0,
        pin_memory=use_amp,
    )
    val_loader = DataLoader(val_ds, batch_size=config.batch_size * 2, num_workers=workers, pin_memory=use_amp)

    head_params = list(model.embedding.parameters()) + list(model.heads.parameters())
    backbone_params = [p for p in model.backbone.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": backbone_params, "lr": config.backbone_lr},
            {"params": head_params, "lr": config.lr},
        ],
        weight_decay=config.weight_decay,
    )
    steps_per_epoch = max(1, len(train_loader))
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

    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    total_ticks = config.epochs * (steps_per_epoch + max(1, len(val_loader)))
    done = 0

    def tick(message: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(min(done, total_ticks), total_ticks, message)

    best_loss = math.inf
    best_state: dict[str, torch.Tensor] | None = None
    best_metrics: dict[str, dict[str, float]] = {}
    best_epoch = 0
    history: list[dict[str, Any]] = []
    stale = 0
    step = 0
    stop_reason = "completed"
    for epoch in range(1, config.epochs + 1):
        model.train()
        running = 0.0
        for images, targets in train_loader:
            images = images.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            targets = {name: t.to(device, non_blocking=True) for name, t in targets.items()}
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                logits = model(images)
            losses = _losses({k: v.float() for k, v in logits.items()}, targets, fields, config.label_smoothing)
            loss = sum(losses.values())
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()  # type: ignore[union-attr]
            scaler.step(optimizer)
            scaler.update()
            step += 1
            scheduler.step_update(step)
            running += float(loss.detach())  # type: ignore[union-attr]
            tick(f"epoch {epoch}/{config.epochs}: training, loss {float(loss.detach()):.3f}")
        prefix = f"epoch {epoch}/{config.epochs}"
        val_loss, metrics = (
            _evaluate(model, val_loader, fields, lambda m, prefix=prefix: tick(f"{prefix}: {m}"))
            if len(val_ds)
            else (running / steps_per_epoch, {})
        )
        summary = ", ".join(f"{k} {v['metric']} {v['value']:.3f}" for k, v in metrics.items())
        history.append({"epoch": epoch, "train_loss": running / steps_per_epoch, "val_loss": val_loss})
        logger.info("epoch %d: train loss %.4f, val loss %.4f, %s", epoch, running / steps_per_epoch, val_loss, summary)
        if val_loss < best_loss - 1e-4:
            best_loss, best_epoch, best_metrics, stale = val_loss, epoch, metrics, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
        if stale >= config.patience:
            stop_reason = f"early stop: no held-out improvement for {stale} epochs"
            break
        if config.max_seconds is not None and time.monotonic() - started > config.max_seconds:
            stop_reason = "time limit"
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    if progress is not None:
        progress(total_ticks, total_ticks, f"done ({stop_reason}); best epoch {best_epoch}")

    state_dict = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    model.to("cpu")
    return {
        "format_version": FORMAT_VERSION,
        "backbone": spec.name,
        "backbone_weights": spec.weights,
        "backbone_dim": pooling_dim(backbone, model.pooling),
        "pooling": model.pooling,
        "embedding_dim": config.embedding_dim,
        "data_config": {k: (tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in data_config.items()},
        "fields": {f.name: {"kind": f.kind, "classes": list(f.classes)} for f in fields},
        "metrics": best_metrics,
        "params": {
            **config.as_dict(),
            "n_train": len(train_samples),
            "n_val": len(val_samples),
            "best_epoch": best_epoch,
            "epochs_run": len(history),
            "stop_reason": stop_reason,
            "seconds": round(time.monotonic() - started, 1),
            "device": device.type,
            "mixed_precision": use_amp,
            "label_check": check.reason,
        },
        "history": history,
        "state_dict": state_dict,
    }


# --------------------------------------------------------------------------- checkpoints


def checkpoint_to_bytes(checkpoint: Mapping[str, Any]) -> bytes:
    """``torch.save`` to bytes, for storing in object storage or a DB blob."""
    buffer = io.BytesIO()
    torch.save(dict(checkpoint), buffer)
    return buffer.getvalue()


def checkpoint_from_bytes(data: bytes) -> dict[str, Any]:
    """Safe deserialisation (``weights_only=True``): a checkpoint can never execute code."""
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError on garbage, ...
        raise IncompatibleCheckpoint(f"not a loadable checkpoint: {type(exc).__name__}: {exc}") from exc
    if not isinstance(obj, dict):
        raise IncompatibleCheckpoint(f"checkpoint is a {type(obj).__name__}, expected a dict")
    return obj


class LoadedCheckpoint(NamedTuple):
    model: MultiHeadClassifier
    data_config: dict[str, Any]
    fields: list[LabelField]
    embedding_dim: int
    backbone_name: str
    digest: str
    metrics: dict[str, Any]


def load_checkpoint(
    checkpoint: Mapping[str, Any] | bytes | str | Path,
    expected_backbone: str | None = None,
) -> LoadedCheckpoint:
    """Rebuild the fine-tuned model (eval mode) or raise :class:`IncompatibleCheckpoint`.

    No pretrained weights are needed: the architecture comes from timm and every
    weight from the checkpoint. ``expected_backbone`` lets the platform insist the
    checkpoint matches its configured backbone.
    """
    import timm

    if isinstance(checkpoint, (bytes, bytearray)):
        ckpt = checkpoint_from_bytes(bytes(checkpoint))
    elif isinstance(checkpoint, (str, Path)):
        ckpt = checkpoint_from_bytes(Path(checkpoint).read_bytes())
    else:
        ckpt = dict(checkpoint)
    version = ckpt.get("format_version")
    if version not in READABLE_FORMAT_VERSIONS:
        raise IncompatibleCheckpoint(
            f"checkpoint format_version {version!r} is not supported (this code reads "
            f"{', '.join(map(str, READABLE_FORMAT_VERSIONS))}); train the features again"
        )
    if version == 1:  # before pooling choices: average pooling, no Standardize layer; same weights, same vectors
        ckpt = {**ckpt, "pooling": "avg"}
    name = ckpt.get("backbone")
    if expected_backbone is not None and name != expected_backbone:
        raise IncompatibleCheckpoint(f"checkpoint was trained on {name!r}, expected {expected_backbone!r}")
    if not isinstance(name, str) or not timm.is_model(name):
        raise IncompatibleCheckpoint(f"checkpoint backbone {name!r} is not a timm model")
    try:
        fields = [LabelField(n, f["kind"], tuple(f["classes"])) for n, f in ckpt["fields"].items()]
        embedding_dim = int(ckpt["embedding_dim"])
        data_config = dict(ckpt["data_config"])
        state_dict = ckpt["state_dict"]
        pooling = ckpt["pooling"]
    except (KeyError, TypeError, AttributeError) as exc:
        raise IncompatibleCheckpoint(f"checkpoint is missing or has malformed entries: {exc}") from exc
    if pooling not in POOLINGS:
        raise IncompatibleCheckpoint(
            f"checkpoint pooling {pooling!r} is not one this code computes ({', '.join(POOLINGS)})"
        )
    backbone = timm.create_model(name, pretrained=False, num_classes=0)
    try:
        model = MultiHeadClassifier(backbone, fields, embedding_dim, pooling=pooling, standardize=version != 1)
    except ValueError as exc:
        raise IncompatibleCheckpoint(f"checkpoint pooling does not fit {name}: {exc}") from exc
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        raise IncompatibleCheckpoint(f"checkpoint weights do not fit {name}: {exc}") from exc
    model.eval()
    digest = weights_digest(model, data_config)
    return LoadedCheckpoint(model, data_config, fields, embedding_dim, name, digest, dict(ckpt.get("metrics", {})))


# --------------------------------------------------------------------------- evaluation


def knn_label_accuracy(
    train_vectors: np.ndarray,
    train_labels: Sequence[str],
    test_vectors: np.ndarray,
    test_labels: Sequence[str],
    k: int = 10,
) -> float:
    """Held-out k-NN (cosine) label accuracy: how well neighbourhoods in the map agree with labels."""
    from sklearn.neighbors import KNeighborsClassifier

    k = max(1, min(k, len(train_labels)))
    knn = KNeighborsClassifier(n_neighbors=k, metric="cosine").fit(train_vectors, list(train_labels))
    return float(knn.score(test_vectors, list(test_labels)))
