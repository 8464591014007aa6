"""The multi-head classifier whose embedding layer becomes the collection's vectors, its losses and metrics."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from analysis.backbone import (
    POOLINGS,
    pool_features,
    pooling_dim,
)
from analysis.training.labels import LabelField


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

    def train(self, mode: bool = True) -> MultiHeadClassifier:
        super().train(mode)
        for module in self._frozen_modules():
            module.eval()  # frozen BN keeps its ImageNet statistics
        return self


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
) -> tuple[float, dict[str, dict[str, float | None]]]:
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
    return float(sum(m["loss"] or 0.0 for m in metrics.values())), metrics


def head_metrics(
    logits: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor], fields: Sequence[LabelField]
) -> dict[str, dict[str, float | None]]:
    """Held-out loss and metric per head: top-1 accuracy for single-label heads, micro-F1 and mAP for
    multi-label ones (whose target's last column says whether the work has that field at all).

    Shared by the full fine-tune and the CPU path, so their per-head figures read the same. A head with
    no held-out work has no figure: None, not NaN, which PostgreSQL's JSON refuses (FeatureModel.metrics).
    """
    from sklearn.metrics import average_precision_score, f1_score

    metrics: dict[str, dict[str, float | None]] = {}
    for f in fields:
        z, t = logits[f.name], targets[f.name]
        loss = float(_losses({f.name: z}, {f.name: t}, [f], 0.0)[f.name])
        if f.kind == "single":
            mask = t >= 0
            n = int(mask.sum())
            acc = float((z[mask].argmax(1) == t[mask]).float().mean()) if n else None
            metrics[f.name] = {"metric": "top1_accuracy", "value": acc, "loss": loss, "n": n}  # type: ignore[dict-item]
        else:
            mask = t[:, -1] > 0
            n = int(mask.sum())
            y = t[mask, :-1].numpy()
            p = torch.sigmoid(z[mask]).numpy()
            micro = float(f1_score(y, p >= 0.5, average="micro", zero_division=0)) if n else None
            has_pos = y.sum(0) > 0
            m_ap = (
                float(average_precision_score(y[:, has_pos], p[:, has_pos], average="macro"))
                if n and has_pos.any()
                else None
            )
            metrics[f.name] = {"metric": "micro_f1", "value": micro, "map": m_ap, "loss": loss, "n": n}  # type: ignore[dict-item]
    return metrics


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
