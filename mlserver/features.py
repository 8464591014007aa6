"""Turning images into embeddings, batched.

Decoding is the bottleneck on CPU, so images are decoded in DataLoader
worker processes, JPEGs at reduced size with Pillow's ``draft`` (the DCT
scales them down for almost nothing), while the main process only runs the
model on whole batches in ``inference_mode`` with ``channels_last``. Vectors
are L2-normalised float32 and carry the ``feature_version`` of what made them.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import nn
from torch.utils.data import DataLoader, Dataset

from mlserver.backbone import BackboneSpec, configure_torch_threads, load_backbone

log = logging.getLogger(__name__)

BytesSource = bytes | Callable[[], bytes]


def pick_device(preference: str = "auto") -> torch.device:
    if preference and preference != "auto":
        return torch.device(preference)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def decode(data: bytes, target: int) -> Image.Image:
    """Decode at about the model's input size: JPEG ``draft`` skips most of the work."""
    img = Image.open(io.BytesIO(data))
    if img.format == "JPEG":
        img.draft("RGB", (target, target))
    img = ImageOps.exif_transpose(img)
    return img.convert("RGB")


class _ImageItems(Dataset):
    """(key, bytes or loader) pairs; a broken image becomes an error entry, never a crashed batch."""

    def __init__(self, items: Sequence[tuple[Any, BytesSource]], transform: Callable, target: int) -> None:
        self.items = items
        self.transform = transform
        self.target = target

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[Any, torch.Tensor | None, str | None]:
        key, source = self.items[index]
        try:
            data = source() if callable(source) else source
            return key, self.transform(decode(data, self.target)), None
        except Exception as exc:  # noqa: BLE001 - reported per item
            return key, None, f"{type(exc).__name__}: {exc}"


def _collate(batch: list[tuple[Any, torch.Tensor | None, str | None]]) -> tuple[list, torch.Tensor | None, dict]:
    keys = [k for k, t, _ in batch if t is not None]
    tensors = [t for _, t, _ in batch if t is not None]
    errors = {k: e for k, _, e in batch if e is not None}
    return keys, (torch.stack(tensors) if tensors else None), errors


class EmbeddingHead(nn.Module):
    """Backbone pooled features -> the embedding layer (pretrained: identity)."""

    def __init__(self, backbone: nn.Module, embed: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.embed = embed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.backbone.forward_head(self.backbone.forward_features(x), pre_logits=True)
        return self.embed(features) if self.embed is not None else features


@dataclass
class Extractor:
    model: nn.Module
    transform: Callable[[Any], torch.Tensor]
    input_size: int
    dim: int
    feature_version: str
    device: torch.device

    @classmethod
    def pretrained(cls, spec: BackboneSpec | None = None, *, device: str = "auto") -> "Extractor":
        spec = spec or BackboneSpec()
        loaded = load_backbone(spec, num_classes=0)
        version = f"{spec.name}:{spec.source_label}:{loaded.digest}"
        return cls._make(EmbeddingHead(loaded.model), loaded.transform, loaded.data_config, loaded.embedding_dim, version, device)

    @classmethod
    def finetuned(cls, checkpoint_bytes: bytes, *, device: str = "auto") -> "Extractor":
        from mlserver import training

        model, data_config, transform, dim, version = training.load_for_extraction(checkpoint_bytes)
        return cls._make(model, transform, data_config, dim, version, device)

    @classmethod
    def _make(cls, model: nn.Module, transform: Callable, data_config: dict, dim: int, version: str, device: str) -> "Extractor":
        target = pick_device(device)
        if target.type == "cpu":
            configure_torch_threads()
        model = model.eval().to(target).to(memory_format=torch.channels_last)
        return cls(model, transform, int(data_config["input_size"][-1]), int(dim), version, target)

    def _forward(self, batch: torch.Tensor) -> np.ndarray:
        batch = batch.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            if self.device.type == "cuda":
                with torch.autocast("cuda", dtype=torch.float16):
                    out = self.model(batch)
            else:
                out = self.model(batch)
        out = torch.nn.functional.normalize(out.float(), dim=1)
        return out.cpu().numpy().astype(np.float32)

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.empty((0, self.dim), dtype=np.float32)
        batch = torch.stack([self.transform(img.convert("RGB")) for img in images])
        return self._forward(batch)

    def embed_bytes(self, blobs: Sequence[bytes]) -> np.ndarray:
        return self.embed_images([decode(b, self.input_size) for b in blobs])

    def embed_stream(
        self, items: Sequence[tuple[Any, BytesSource]], *, batch_size: int = 32, num_workers: int = 2
    ) -> Iterator[tuple[list, np.ndarray, dict[Any, str]]]:
        """Yields (keys, vectors, errors) per batch, in input order."""
        if not items:
            return
        loader = DataLoader(
            _ImageItems(items, self.transform, self.input_size),
            batch_size=batch_size,
            num_workers=num_workers,
            collate_fn=_collate,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
            prefetch_factor=4 if num_workers else None,
        )
        if num_workers and self.device.type == "cpu":
            # Leave a core to the decoders: oversubscribing 2 cores costs more than it gains.
            configure_torch_threads(max(1, torch.get_num_threads() - 1))
        for keys, batch, errors in loader:
            vectors = self._forward(batch) if batch is not None else np.empty((0, self.dim), dtype=np.float32)
            yield keys, vectors, errors


def embed_all(extractor: Extractor, items: Iterable[tuple[Any, BytesSource]], **kwargs: Any) -> tuple[list, np.ndarray, dict]:
    keys: list = []
    chunks: list[np.ndarray] = []
    errors: dict = {}
    for batch_keys, vectors, batch_errors in extractor.embed_stream(list(items), **kwargs):
        keys += batch_keys
        chunks.append(vectors)
        errors.update(batch_errors)
    matrix = np.concatenate(chunks) if chunks else np.empty((0, extractor.dim), dtype=np.float32)
    return keys, matrix, errors
