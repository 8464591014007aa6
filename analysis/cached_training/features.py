"""The frozen backbone's pooled features for a few fixed views of every picture, kept in a cache."""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from PIL import Image

from analysis.backbone import BackboneSpec
from analysis.training.labels import (
    ProgressCallback,
    Sample,
    _open_image,
)

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
    from analysis.extract import Extractor

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
    run = _ViewRun(
        samples=samples,
        extractor=extractor,
        version=cache_version(extractor.feature_version, extractor.input_spec, views),
        prefix=cache_prefix((spec or BackboneSpec()).name),
        ids=[sample_id(s) for s in samples],
        cache=cache,
        out=np.zeros((len(samples), views, extractor.dim), np.float32),
    )
    hits, todo = _read_cached(run, refresh)
    total = max(1, math.ceil(len(todo) / batch_works))
    if progress is not None:
        progress(0, total, f"features: {hits} cached, {len(todo)} to make")
    _make_missing(run, todo, batch_works, total, progress)
    report = {
        "version": run.version,
        "backbone_version": extractor.feature_version,
        "from_cache": hits,
        "made": len(todo),
        "seconds": round(time.monotonic() - started, 1),
    }
    logger.info("view features: %s", report)
    return run.out, report


@dataclass
class _ViewRun:
    """What the cache reads and the view-making lanes of one extraction share."""

    samples: Sequence[Sample]
    extractor: Any
    version: str
    prefix: str
    ids: list[str]
    cache: FeatureCache | None
    out: np.ndarray


def _read_cached(run: _ViewRun, refresh: bool) -> tuple[int, list[int]]:
    """Fill ``run.out`` from the cache; returns how many were read and the indices still to make."""
    todo: list[int] = []
    hits = 0

    def read(i: int) -> bool:
        if run.cache is None or refresh:
            return False
        data = run.cache.get(_entry_key(run.prefix, run.ids[i]))
        if data is None:
            return False
        run.out[i] = _decode_entry(data, run.version, f"for {run.samples[i].key!r}")
        return True

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="feature-cache") as pool:
        for i, hit in enumerate(pool.map(read, range(len(run.samples)))):
            if hit:
                hits += 1
            else:
                todo.append(i)
    return hits, todo


def _make_missing(
    run: _ViewRun, todo: list[int], batch_works: int, total: int, progress: ProgressCallback | None
) -> None:
    """Make the views of ``todo`` in chunks, embed them, and store each work's entry as soon as it is made."""
    extractor = run.extractor
    fast = extractor.fast_transform
    views, dim = run.out.shape[1], run.out.shape[2]
    names = VIEWS[:views]
    # Draft decoding large enough that the detail crop is still downsampled.
    draft = math.ceil(fast.resize_short / 0.6)
    lane_model = extractor.lane_model() if extractor._compiled is not None else None
    lanes = 2 if lane_model is not None else 1

    def embed(chunk: list[int]) -> list[int]:
        stacks = [make_views(_open_image(run.samples[i].image, draft), names, fast) for i in chunk]
        batch = fast.to_input(torch.from_numpy(np.concatenate(stacks)))
        if lane_model is not None:
            feats = lane_model(batch).numpy()
        else:
            with torch.inference_mode():
                feats = extractor.model(batch.contiguous(memory_format=torch.channels_last)).float().numpy()
        feats = feats.reshape(len(chunk), views, dim)
        for j, i in enumerate(chunk):
            run.out[i] = feats[j]
            if run.cache is not None:
                run.cache.put(_entry_key(run.prefix, run.ids[i]), _encode_entry(run.version, feats[j]))
        return chunk

    chunks = [todo[k : k + batch_works] for k in range(0, len(todo), batch_works)]
    done = 0
    with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="views") as pool:
        for _ in pool.map(embed, chunks):
            done += 1
            if progress is not None:
                progress(done, total, f"features: {done * batch_works}/{len(todo)} works")
