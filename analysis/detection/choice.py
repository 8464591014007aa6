"""Choosing a detector from the settings, and saying without building one whether it would work.

``auto`` prefers Detectron2 when it is installed and can get weights meant for it,
else torchvision. Both answers come from the same rule, so the admin's verdict
(:func:`detector_status`) and the worker's (:func:`load_detector`) cannot disagree.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from analysis.detection.engines import Detectron2Detector, TorchvisionDetector
from analysis.detection.interface import Backend, Detector, DetectorUnavailable
from analysis.detection.weights import (
    DEFAULT_TORCHVISION_ARCH,
    DETECTRON2_CHECKPOINT_URL,
    DETECTRON2_CONFIG,
    detectron2_available,
    detectron2_missing_reason,
    locate_torchvision_weights,
    torchvision_missing_reason,
    torchvision_weights_location,
)

log = logging.getLogger(__name__)


def _auto_uses_detectron2(weights_path: str | Path | None, allow_download: bool, random_weights: bool) -> bool:
    """Detectron2 in ``auto`` only when it can get weights meant for it.

    A torchvision state_dict given to Detectron2 loads with warnings and leaves
    the network random, so in ``auto`` a weights file goes to Detectron2 only if
    it is a model-zoo ``.pkl``; use ``backend="detectron2"`` for other checkpoints.
    """
    if not detectron2_available():
        return False
    if weights_path:
        return Path(weights_path).suffix == ".pkl"
    return allow_download or random_weights


def load_detector(
    backend: Backend = "auto",
    weights_path: str | Path | None = None,
    allow_download: bool = False,
    random_weights: bool = False,
    device: Any = "cpu",
    *,
    arch: str = DEFAULT_TORCHVISION_ARCH,
) -> Detector:
    """The configured detector, or :class:`DetectorUnavailable` with what to download and where.

    ``auto`` prefers Detectron2 when it is installed and has weights (see
    :func:`_auto_uses_detectron2`), else torchvision.
    """
    if backend not in ("auto", "detectron2", "torchvision"):
        raise ValueError(f"unknown detector backend {backend!r}")
    try:
        if backend == "detectron2" or (
            backend == "auto" and _auto_uses_detectron2(weights_path, allow_download, random_weights)
        ):
            detector: Detector = Detectron2Detector(
                weights_path, allow_download=allow_download, random_weights=random_weights, device=device
            )
        else:
            detector = TorchvisionDetector(
                arch, weights_path, allow_download=allow_download, random_weights=random_weights, device=device
            )
    except DetectorUnavailable as exc:
        reason = exc.reason
        if backend == "auto" and not detectron2_available():
            reason += "; detectron2 is not installed"
        log.warning("object detection unavailable: %s", reason)
        raise DetectorUnavailable(reason) from exc
    if not detector.trusted:
        log.warning("object detector %s has random weights: its output is for plumbing tests only", detector.version)
    return detector


def detector_status(
    backend: Backend = "auto",
    weights_path: str | Path | None = None,
    allow_download: bool = False,
    random_weights: bool = False,
    *,
    arch: str = DEFAULT_TORCHVISION_ARCH,
) -> tuple[bool, str]:
    """``(available, reason)`` for the admin, from files and imports only (no model is built).

    ``available`` means detections shown to users can be produced; random
    weights therefore report False.
    """
    if random_weights:
        return False, "random weights configured: detections are for plumbing tests and are never shown"
    use_d2 = backend == "detectron2" or (
        backend == "auto" and _auto_uses_detectron2(weights_path, allow_download, random_weights)
    )
    if use_d2:
        if not detectron2_available():
            return False, "detectron2 is not installed (it must be built from source)"
        if weights_path:
            path = Path(weights_path).expanduser()
            if path.is_file():
                return True, f"Detectron2 {DETECTRON2_CONFIG} with weights {path}"
            return False, f"configured detector weights {path} do not exist"
        if allow_download:
            return True, f"Detectron2 {DETECTRON2_CONFIG}; weights {DETECTRON2_CHECKPOINT_URL} download on first use"
        return False, detectron2_missing_reason()
    try:
        source = locate_torchvision_weights(arch, weights_path)
    except DetectorUnavailable as exc:
        return False, exc.reason
    if source is not None:
        return True, f"torchvision {arch} with weights {source}"
    url, cached = torchvision_weights_location(arch)
    if allow_download:
        return True, f"torchvision {arch}; {url} downloads to {cached} on first use"
    reason = torchvision_missing_reason(arch, weights_path)
    if backend == "auto" and not detectron2_available():
        reason += "; detectron2 is not installed"
    return False, reason
