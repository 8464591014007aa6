"""A trained model as bytes and back: the checkpoint format, its versions, and loading it for inference."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import torch

from analysis.backbone import (
    POOLINGS,
    weights_digest,
)
from analysis.training.labels import LabelField
from analysis.training.model import MultiHeadClassifier

# 2: the checkpoint names its pooling, and the embedding layer starts with a Standardize step.
FORMAT_VERSION = 2
# Format 1 (average pooling, no Standardize layer) still loads: a model a museum trained before stays usable and
# keeps its feature version, so its stored vectors and maps remain valid until it trains again.
READABLE_FORMAT_VERSIONS = (1, 2)


class IncompatibleCheckpoint(ValueError):
    """The checkpoint cannot be used with this code or this backbone; retrain instead of guessing."""


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
