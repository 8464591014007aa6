"""The CPU training path: train the embedding layer and heads on cached backbone features.

Fine-tuning the whole backbone on a 2-core server takes many hours (issue #14:
20-85 s a step) and, cut short, made the embedding worse. The frozen backbone
already knows a lot about paintings; what it lacks is a projection that puts the
distinctions curators care about first. So this path:

1. runs the frozen backbone once per work through the fast CPU engine
   (:class:`mlserver.extract.Extractor`: OpenVINO / ONNX Runtime) on several
   fixed views suited to paintings (the inference view, its mirror, a detail
   crop, the whole picture, corner crops) and caches the pooled features with the
   version of the backbone, pooling, preprocessing and views that made them. The
   default pooling is ``style`` (:func:`mlserver.backbone.pool_features`): GeM of
   the last map plus channel mean/std of stages 2-6, computed in the model's own
   forward, so inference reads exactly what training read;
2. standardises those features with their training statistics (stored in the
   model) and trains ``MultiHeadClassifier``'s embedding layer and heads on them:
   cross-entropy heads plus a light instance-contrastive term (a work's other view
   is its positive), about two seconds an epoch;
3. returns a checkpoint in exactly :func:`mlserver.training.fine_tune`'s format
   (frozen backbone weights + trained embedding/heads), so the extractor,
   feature versions, re-embedding and map rebuilds need no change.

Extraction is resumable: each work's views are stored as soon as they are made,
and a later run reads them back instead of recomputing. Cached features made by
another backbone, preprocessing or set of views are refused with
:class:`StaleFeatureCache` rather than silently mixed in.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .backbone import POOLINGS, BackboneSpec, configure_torch_threads, load_backbone, pooling_dim
from .training import (
    FORMAT_VERSION,
    Kind,
    LabelField,
    MultiHeadClassifier,
    ProgressCallback,
    Sample,
    Standardize,
    _losses,
    _open_image,
    _seed_everything,
    head_metrics,
    min_labels_ok,
    split_samples,
)

__all__ = [
    "CACHE_FORMAT",
    "VIEWS",
    "CachedTrainConfig",
    "DirectoryCache",
    "FeatureCache",
    "StaleFeatureCache",
    "cache_version",
    "extract_view_features",
    "sample_id",
    "train_on_cached_features",
]

logger = logging.getLogger(__name__)

# Bump when the layout of a cache entry or the meaning of a view changes.
# 2: entries hold the pooling named in the backbone version (style statistics by default).
CACHE_FORMAT = 2

# Fixed views, most useful first (``views=n`` takes the first n). Paintings are not
# photos: no colour jitter (palette is a style cue), no vertical flip (composition),
# crops no smaller than 0.6 of the short side (brushwork and motif detail, not texture noise).
VIEWS: tuple[str, ...] = ("center", "center-flip", "detail", "whole", "tl", "br-flip", "tr-flip", "bl")


class StaleFeatureCache(RuntimeError):
    """A cached entry was made by another backbone, pooling, preprocessing, set of views or cache format."""


class FeatureCache(Protocol):
    """Where cached features live: bytes by key, ``None`` when absent."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, data: bytes) -> None: ...


class DirectoryCache:
    """A local folder as the cache, for benches and tests without object storage."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def get(self, key: str) -> bytes | None:
        path = self.root / key
        return path.read_bytes() if path.is_file() else None

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)  # a crash never leaves half an entry behind


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


# --------------------------------------------------------------------------- views


def _crop_resize(image: Image.Image, box: tuple[float, float, float, float], size: int, flip: bool) -> np.ndarray:
    out = image.resize((size, size), Image.Resampling.BICUBIC, box=box)
    if flip:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return np.asarray(out, dtype=np.uint8)


def make_views(image: Image.Image, names: Sequence[str], fast: Any) -> np.ndarray:
    """uint8 (len(names), h, w, 3): view 0 is exactly what the extractor embeds at inference."""
    size = fast.crop_h
    w, h = image.size
    short = min(w, h)
    out = []
    centre = None
    for name in names:
        flip = name.endswith("-flip")
        base = name.removesuffix("-flip")
        if base == "center":
            if centre is None:
                centre = fast(image).numpy()
            out.append(centre[:, ::-1] if flip else centre)
            continue
        if base == "whole":
            box = (0.0, 0.0, float(w), float(h))
        elif base == "detail":
            side = 0.6 * short
            box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
        else:
            side = 0.75 * short
            left = 0.0 if base[1] == "l" else w - side
            top = 0.0 if base[0] == "t" else h - side
            box = (left, top, left + side, top + side)
        out.append(_crop_resize(image, box, size, flip))
    return np.ascontiguousarray(np.stack(out))


# --------------------------------------------------------------------------- cache


def cache_version(backbone_version: str, input_spec: str, views: int) -> str:
    """Names all that decides a cached feature: cache format, backbone weights and pooling, preprocessing, views."""
    return f"cache{CACHE_FORMAT}|{backbone_version}|{input_spec}|{','.join(VIEWS[:views])}"


def sample_id(sample: Sample) -> str:
    """Content identity of a sample's picture, so a replaced image is never served stale features.

    Collection readers carry the original's sha256; files are hashed; anything
    else falls back to its key.
    """
    ref = sample.image
    digest = getattr(ref, "sha256", None)
    if digest:
        return str(digest)
    if isinstance(ref, (str, Path)):
        return hashlib.sha256(Path(ref).read_bytes()).hexdigest()
    if sample.key is None:
        raise ValueError("a sample needs an image path, a reader with sha256, or a key to be cached")
    return hashlib.sha256(repr(sample.key).encode()).hexdigest()


def _entry_key(prefix: str, sid: str) -> str:
    return f"{prefix}/{sid[:2]}/{sid}.npz"


def _encode_entry(version: str, features: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, version=np.array(version), features=features.astype(np.float16))
    return buf.getvalue()


def _decode_entry(data: bytes, expected: str, where: str) -> np.ndarray:
    with np.load(io.BytesIO(data), allow_pickle=False) as entry:
        version = str(entry["version"])
        if version != expected:
            raise StaleFeatureCache(
                f"cached features {where} were made by {version!r}, but this run needs {expected!r}; "
                "refusing to mix them. Train with refresh_cache=True (--refresh-cache) to make them again."
            )
        return entry["features"].astype(np.float32)


def cache_prefix(backbone_name: str) -> str:
    """One cache folder per backbone; the version inside each entry says exactly what made it."""
    return f"feature-cache/{backbone_name}"


@functools.lru_cache(maxsize=1)
def _extractor(spec: BackboneSpec, pooling: str) -> Any:
    """One engine per process: exporting and compiling it costs ~10 s of CPU, a training run may extract twice."""
    from .extract import Extractor

    return Extractor.from_backbone(spec, device="cpu", pooling=pooling)


def extract_view_features(
    samples: Sequence[Sample],
    spec: BackboneSpec | None = None,
    views: int = 4,
    cache: FeatureCache | None = None,
    refresh: bool = False,
    progress: ProgressCallback | None = None,
    batch_works: int = 8,
    pooling: str = "style",
) -> tuple[np.ndarray, dict[str, Any]]:
    """Pooled backbone features (n, views, dim) for every sample, from the cache where it has them.

    Returns the features and a report (version, how many were read from the cache,
    made, seconds). Unreadable images raise: the caller decides which works to train on.
    """
    if not 1 <= views <= len(VIEWS):
        raise ValueError(f"views must be between 1 and {len(VIEWS)}, not {views}")
    started = time.monotonic()
    extractor = _extractor(spec or BackboneSpec(), pooling)
    fast = extractor.fast_transform
    if fast is None or extractor.input_spec is None:
        raise ValueError(f"{extractor.feature_version}: its preprocessing has no fast uint8 path to make views from")
    version = cache_version(extractor.feature_version, extractor.input_spec, views)
    prefix = cache_prefix((spec or BackboneSpec()).name)
    names = VIEWS[:views]
    dim = extractor.dim
    out = np.zeros((len(samples), views, dim), np.float32)
    ids = [sample_id(s) for s in samples]
    todo: list[int] = []
    hits = 0

    def read(i: int) -> bool:
        if cache is None or refresh:
            return False
        data = cache.get(_entry_key(prefix, ids[i]))
        if data is None:
            return False
        out[i] = _decode_entry(data, version, f"for {samples[i].key!r}")
        return True

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="feature-cache") as pool:
        for i, hit in enumerate(pool.map(read, range(len(samples)))):
            if hit:
                hits += 1
            else:
                todo.append(i)
    total = max(1, math.ceil(len(todo) / batch_works))
    if progress is not None:
        progress(0, total, f"features: {hits} cached, {len(todo)} to make")

    # Draft decoding large enough that the detail crop is still downsampled.
    draft = math.ceil(fast.resize_short / 0.6)
    lane_model = extractor.lane_model() if extractor._compiled is not None else None
    lanes = 2 if lane_model is not None else 1

    def run(chunk: list[int]) -> list[int]:
        stacks = [make_views(_open_image(samples[i].image, draft), names, fast) for i in chunk]
        batch = fast.to_input(torch.from_numpy(np.concatenate(stacks)))
        if lane_model is not None:
            feats = lane_model(batch).numpy()
        else:
            with torch.inference_mode():
                feats = extractor.model(batch.contiguous(memory_format=torch.channels_last)).float().numpy()
        feats = feats.reshape(len(chunk), views, dim)
        for j, i in enumerate(chunk):
            out[i] = feats[j]
            if cache is not None:
                cache.put(_entry_key(prefix, ids[i]), _encode_entry(version, feats[j]))
        return chunk

    chunks = [todo[k : k + batch_works] for k in range(0, len(todo), batch_works)]
    done = 0
    with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="views") as pool:
        for _ in pool.map(run, chunks):
            done += 1
            if progress is not None:
                progress(done, total, f"features: {done * batch_works}/{len(todo)} works")
    seconds = time.monotonic() - started
    report = {
        "version": version,
        "backbone_version": extractor.feature_version,
        "from_cache": hits,
        "made": len(todo),
        "seconds": round(seconds, 1),
    }
    logger.info("view features: %s", report)
    return out, report


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
    progress: Callable[[int, str], None] | None = None,
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
            progress(epoch, f"epoch {epoch}/{config.epochs}: loss {running / steps_per_epoch:.3f}")
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
) -> dict[str, Any]:
    """The CPU path: a checkpoint in :func:`mlserver.training.fine_tune`'s format, made in minutes.

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
    model = MultiHeadClassifier(loaded.model, fields, config.embedding_dim, config.dropout, pooling=config.pooling)
    # Training statistics only: the held-out works must not shape the model.
    standardize = model.embedding[0]
    assert isinstance(standardize, Standardize)
    standardize.set_statistics(torch.from_numpy(features[train_idx]))
    model.freeze_early(10**6)
    for p in model.backbone.parameters():
        p.requires_grad_(False)
    targets = _targets(samples, fields)
    train_targets = {k: v[train_idx] for k, v in targets.items()}

    def epoch_progress(epoch: int, message: str) -> None:
        if progress is not None:
            progress(extract_share + (100 - extract_share - 1) * epoch // config.epochs, 100, message)

    metric_field = stratify
    history = fit_embedding(
        model, features[train_idx], train_targets, fields, config, metric_field, generator, epoch_progress
    )
    metrics: dict[str, dict[str, float]] = {}
    if val_idx:
        with torch.inference_mode():
            e = model.embedding(torch.from_numpy(features[val_idx, 0]))
            logits = {name: head(e) for name, head in model.heads.items()}
        metrics = head_metrics(logits, {k: v[val_idx] for k, v in targets.items()}, fields)
    if progress is not None:
        progress(100, 100, "done")
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
        "params": {
            **config.as_dict(),
            "path": "cpu-cached-features",
            "n_train": len(train_idx),
            "n_val": len(val_idx),
            "epochs_run": len(history),
            "stop_reason": "completed",
            "seconds": round(time.monotonic() - started, 1),
            "feature_cache": report,
            "label_check": check.reason,
        },
        "history": history,
        "state_dict": state_dict,
    }
