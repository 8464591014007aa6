"""Where each backend's COCO weights are, whether they are there, and what to fetch when not.

Answered from files and imports only, never by building a model or importing torch
where it is not already loaded: the admin asks from the web process. Nothing here
downloads: the worker must start on an offline machine, and a network fetch in the
middle of a Celery task would hang it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
from pathlib import Path

from analysis.detection.interface import DetectorUnavailable

DEFAULT_TORCHVISION_ARCH = "fasterrcnn_mobilenet_v3_large_fpn"
# torchvision's COCO_V1 weight URLs (``<Weights enum>.url``), spelled out so that
# detector_status() can answer from a process without torch (the web process).
# A test checks them against torchvision's enums.
TORCHVISION_WEIGHTS_URLS = {
    "fasterrcnn_mobilenet_v3_large_fpn": (
        "https://download.pytorch.org/models/fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth"
    ),
    "fasterrcnn_mobilenet_v3_large_320_fpn": (
        "https://download.pytorch.org/models/fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth"
    ),
    "fasterrcnn_resnet50_fpn": "https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_coco-258fb6c6.pth",
    "fasterrcnn_resnet50_fpn_v2": "https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth",
}
DETECTRON2_CONFIG = "COCO-Detection/faster_rcnn_R_50_FPN_3x.yaml"
# model_zoo.get_checkpoint_url(DETECTRON2_CONFIG), spelled out so the "what to
# download" message can be given on machines without detectron2.
DETECTRON2_CHECKPOINT_URL = (
    "https://dl.fbaipublicfiles.com/detectron2/COCO-Detection/faster_rcnn_R_50_FPN_3x/137849458/model_final_280758.pkl"
)


def file_sha256(path: Path) -> str:
    """Hash of a weights file, remembered per (path, size, mtime): files are tens of MB and the admin
    asks on every artwork list page."""
    stat = path.stat()
    return _sha256_cached(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def torchvision_weights_location(arch: str = DEFAULT_TORCHVISION_ARCH) -> tuple[str, Path]:
    """(URL, local path) of torchvision's COCO weights for ``arch``.

    The path is where torchvision's own weights API caches the file
    (``torch.hub.get_dir()/checkpoints/<file name from the URL>``, i.e.
    ``$TORCH_HOME/hub/checkpoints``), so a file fetched by any torchvision
    program, or copied there by hand, is found without a download. Works
    without torch installed, following torch's own rule for the hub directory.
    """
    if arch not in TORCHVISION_WEIGHTS_URLS:
        raise ValueError(f"unknown torchvision detector {arch!r}; choose from {sorted(TORCHVISION_WEIGHTS_URLS)}")
    url = TORCHVISION_WEIGHTS_URLS[arch]
    return url, _torch_hub_dir() / "checkpoints" / Path(url).name


def _torch_hub_dir() -> Path:
    # torch is asked only where it is already loaded (the worker): the admin asks from the web
    # process, which must not import it. Where torch is not loaded nobody can have called
    # torch.hub.set_dir(), so torch's default rule, followed here, gives the same answer.
    if sys.modules.get("torch") is not None:
        import torch.hub

        return Path(torch.hub.get_dir())
    xdg = os.getenv("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    return Path(os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(xdg, "torch")))) / "hub"


def locate_torchvision_weights(arch: str, weights_path: str | Path | None) -> Path | None:
    """A local weights file for ``arch``, or None. A configured path that does not exist is an error, not a fallback."""
    if weights_path:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise DetectorUnavailable(f"configured detector weights {path} do not exist")
        return path
    url, cached = torchvision_weights_location(arch)
    if not cached.is_file():
        return None
    # torchvision names files <name>-<sha256 prefix>.pth; a mismatch means a corrupt copy.
    prefix = Path(url).stem.rsplit("-", 1)[-1]
    if not file_sha256(cached).startswith(prefix):
        raise DetectorUnavailable(
            f"{cached} does not match the sha256 prefix {prefix} in its name; delete it and re-fetch {url}"
        )
    return cached


def torchvision_missing_reason(arch: str, weights_path: str | Path | None) -> str:
    url, cached = torchvision_weights_location(arch)
    return (
        f"no COCO weights for torchvision {arch}: download {url} to {cached} "
        f"(or set the detector weights path to that file, or allow downloads)"
    )


def detectron2_available() -> bool:
    """True when ``import detectron2`` would succeed, checked without importing it (it pulls in a lot)."""
    return importlib.util.find_spec("detectron2") is not None


def detectron2_missing_reason() -> str:
    return (
        f"no Detectron2 weights: download {DETECTRON2_CHECKPOINT_URL} and set the detector weights "
        f"path to it (or allow downloads)"
    )
