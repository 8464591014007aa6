"""COCO object detection behind one small interface, with two interchangeable backends.

* :class:`TorchvisionDetector` - torchvision's Faster R-CNN. Default architecture
  ``fasterrcnn_mobilenet_v3_large_fpn`` (box mAP 32.8 on COCO val2017): on 2 CPU
  cores it is ~4x faster than ``fasterrcnn_resnet50_fpn_v2`` (46.7 mAP) while the
  ``..._320_fpn`` variant, faster again, loses a third of the mAP (22.8) and
  misses the small figures that fill paintings. Other architectures can be chosen.
* :class:`Detectron2Detector` - Detectron2's model zoo Faster R-CNN R50-FPN 3x,
  used when ``detectron2`` is importable (it has no wheels on PyPI).

Neither backend downloads anything unless ``allow_download=True``: the worker
must start on an offline machine, and a network fetch in the middle of a Celery
task would hang it. Without real weights :func:`load_detector` raises
:class:`DetectorUnavailable`, whose message says exactly which file to fetch and
where to put it; :func:`detector_status` returns the same verdict as
``(available, reason)`` without loading anything, for the admin.

``random_weights=True`` builds the network untrained so the plumbing (tasks,
storage, API) can be exercised; such a detector has ``trusted = False`` and its
output must never be shown to users.

Boxes are fractions of the image's width/height, like face boxes, so they apply
to every stored derivative of an image.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from PIL import Image

__all__ = [
    "COCO_LABELS",
    "DEFAULT_TORCHVISION_ARCH",
    "DETECTRON2_CHECKPOINT_URL",
    "DETECTRON2_CONFIG",
    "TORCHVISION_WEIGHTS_URLS",
    "Backend",
    "Detection",
    "Detector",
    "DetectorUnavailable",
    "Detectron2Detector",
    "TorchvisionDetector",
    "detector_status",
    "detectron2_available",
    "load_detector",
    "torchvision_weights_location",
]

log = logging.getLogger(__name__)

Backend = Literal["auto", "detectron2", "torchvision"]

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

# The 80 COCO "thing" classes in Detectron2's / the COCO API's order. torchvision
# uses the same names but indexes them by the sparse original COCO ids (with
# "N/A" gaps), so each backend maps its own indices to these names.
COCO_LABELS: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip


class DetectorUnavailable(RuntimeError):
    """No detector with usable weights could be built; ``reason`` says what to install or download.

    Chosen over returning ``None`` so a caller cannot forget the check and pass
    ``None`` into a task; catch it where "no object detection" is acceptable.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Detection:
    """One object: a COCO label, the model's score in [0, 1] and a box as fractions of the image."""

    label: str
    score: float
    box: tuple[float, float, float, float]


@runtime_checkable
class Detector(Protocol):
    """What the worker needs from a detector; both backends satisfy it.

    ``version`` names backend, architecture and a hash of the weights so stored
    detections carry what made them. ``trusted`` is False for random weights.
    """

    name: str
    version: str
    labels: tuple[str, ...]
    trusted: bool

    def detect(self, images: Sequence[Image.Image], score_threshold: float = 0.5) -> list[list[Detection]]: ...


def _normalised_box(box: Sequence[float], w: int, h: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    return (
        min(max(x0 / w, 0.0), 1.0),
        min(max(y0 / h, 0.0), 1.0),
        min(max(x1 / w, 0.0), 1.0),
        min(max(y1 / h, 0.0), 1.0),
    )


def _sha256(path: Path) -> str:
    """Hash of a weights file, remembered per (path, size, mtime): files are tens of MB and the admin
    asks on every artwork list page."""
    stat = path.stat()
    return _sha256_cached(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _torch_device(device: Any) -> Any:
    import torch

    return device if isinstance(device, torch.device) else torch.device(device or "cpu")


# --------------------------------------------------------------------------- torchvision


def _torchvision_arches() -> dict[str, tuple[Callable[..., Any], Any]]:
    from torchvision.models import detection as tvd

    return {
        "fasterrcnn_mobilenet_v3_large_fpn": (
            tvd.fasterrcnn_mobilenet_v3_large_fpn,
            tvd.FasterRCNN_MobileNet_V3_Large_FPN_Weights.COCO_V1,
        ),
        "fasterrcnn_mobilenet_v3_large_320_fpn": (
            tvd.fasterrcnn_mobilenet_v3_large_320_fpn,
            tvd.FasterRCNN_MobileNet_V3_Large_320_FPN_Weights.COCO_V1,
        ),
        "fasterrcnn_resnet50_fpn": (tvd.fasterrcnn_resnet50_fpn, tvd.FasterRCNN_ResNet50_FPN_Weights.COCO_V1),
        "fasterrcnn_resnet50_fpn_v2": (tvd.fasterrcnn_resnet50_fpn_v2, tvd.FasterRCNN_ResNet50_FPN_V2_Weights.COCO_V1),
    }


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


class TorchvisionDetector:
    """torchvision Faster R-CNN on COCO.

    Weights, first found wins: ``weights_path`` (a state_dict file), then the
    torch hub cache; with ``allow_download=True`` torchvision's weights API
    fetches into that cache. ``min_size``/``max_size`` override the network's
    input resize (800/1333 px) - smaller is faster and loses small objects.
    """

    def __init__(
        self,
        arch: str = DEFAULT_TORCHVISION_ARCH,
        weights_path: str | Path | None = None,
        *,
        allow_download: bool = False,
        random_weights: bool = False,
        device: Any = "cpu",
        min_size: int | None = None,
        max_size: int | None = None,
        batch_size: int = 4,
    ) -> None:
        import torch
        import torchvision

        arches = _torchvision_arches()
        if arch not in arches:
            raise ValueError(f"unknown torchvision detector {arch!r}; choose from {sorted(arches)}")
        builder, weights_enum = arches[arch]
        self.name = f"torchvision:{arch}"
        self.device = _torch_device(device)
        self.batch_size = max(1, batch_size)
        self._categories: list[str] = list(weights_enum.meta["categories"])
        self.labels = tuple(c for c in self._categories if c not in ("__background__", "N/A"))
        self._preprocess = weights_enum.transforms()
        size_kwargs = {k: v for k, v in (("min_size", min_size), ("max_size", max_size)) if v is not None}
        num_classes = len(self._categories)

        source = None if random_weights else _locate_torchvision_weights(arch, weights_path)
        if random_weights:
            model = builder(weights=None, weights_backbone=None, num_classes=num_classes, **size_kwargs)
            self.trusted = False
            weights_id = "random-weights"
        elif source is not None:
            model = builder(weights=None, weights_backbone=None, num_classes=num_classes, **size_kwargs)
            state = torch.load(source, map_location="cpu", weights_only=True)
            try:
                model.load_state_dict(state, strict=True)
            except RuntimeError as exc:
                raise DetectorUnavailable(f"{source} is not a COCO state_dict for {arch}: {exc}") from exc
            self.trusted = True
            weights_id = f"{source.name}/{_sha256(source)[:12]}"
        elif allow_download:
            log.info("downloading %s weights via torchvision into %s", arch, torchvision_weights_location(arch)[1])
            model = builder(weights=weights_enum, progress=False, **size_kwargs)
            self.trusted = True
            cached = torchvision_weights_location(arch)[1]
            weights_id = f"{cached.name}/{_sha256(cached)[:12]}" if cached.is_file() else weights_enum.url
        else:
            raise DetectorUnavailable(_torchvision_missing_reason(arch, weights_path))

        self.version = f"torchvision-{torchvision.__version__}/{arch}/{weights_id}"
        self._model = model.eval().to(self.device)
        self._lock = threading.Lock()

    def detect(self, images: Sequence[Image.Image], score_threshold: float = 0.5) -> list[list[Detection]]:
        """Detections per image, best first.

        The threshold is applied inside the model's post-processing (its
        ``roi_heads.score_thresh``) so low-scoring boxes never reach NMS.
        """
        import torch

        results: list[list[Detection]] = []
        with self._lock, torch.inference_mode():
            self._model.roi_heads.score_thresh = float(score_threshold)
            for start in range(0, len(images), self.batch_size):
                batch = images[start : start + self.batch_size]
                chunk = [im if im.mode == "RGB" else im.convert("RGB") for im in batch]
                tensors = [self._preprocess(im).to(self.device) for im in chunk]
                for im, out in zip(chunk, self._model(tensors), strict=True):
                    w, h = im.size
                    found = []
                    for box, score, idx in zip(
                        out["boxes"].tolist(), out["scores"].tolist(), out["labels"].tolist(), strict=True
                    ):
                        label = self._categories[idx] if 0 <= idx < len(self._categories) else "N/A"
                        if label in ("__background__", "N/A"):  # only an untrained head predicts the gaps
                            continue
                        found.append(Detection(label=label, score=float(score), box=_normalised_box(box, w, h)))
                    found.sort(key=lambda d: d.score, reverse=True)
                    results.append(found)
        return results


def _locate_torchvision_weights(arch: str, weights_path: str | Path | None) -> Path | None:
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
    if not _sha256(cached).startswith(prefix):
        raise DetectorUnavailable(
            f"{cached} does not match the sha256 prefix {prefix} in its name; delete it and re-fetch {url}"
        )
    return cached


def _torchvision_missing_reason(arch: str, weights_path: str | Path | None) -> str:
    url, cached = torchvision_weights_location(arch)
    return (
        f"no COCO weights for torchvision {arch}: download {url} to {cached} "
        f"(or set the detector weights path to that file, or allow downloads)"
    )


# --------------------------------------------------------------------------- detectron2


def detectron2_available() -> bool:
    """True when ``import detectron2`` would succeed, checked without importing it (it pulls in a lot)."""
    return importlib.util.find_spec("detectron2") is not None


def _detectron2_missing_reason() -> str:
    return (
        f"no Detectron2 weights: download {DETECTRON2_CHECKPOINT_URL} and set the detector weights "
        f"path to it (or allow downloads)"
    )


class Detectron2Detector:
    """Detectron2 model-zoo Faster R-CNN through ``DefaultPredictor``, its documented inference API.

    ``score_floor`` becomes ``SCORE_THRESH_TEST``: the predictor drops boxes below
    it before NMS, so :meth:`detect` cannot return anything lower than the floor.
    """

    def __init__(
        self,
        weights_path: str | Path | None = None,
        *,
        allow_download: bool = False,
        random_weights: bool = False,
        device: Any = "cpu",
        config_name: str = DETECTRON2_CONFIG,
        score_floor: float = 0.05,
    ) -> None:
        if not detectron2_available():
            raise DetectorUnavailable("detectron2 is not installed (it must be built from source)")
        import detectron2
        from detectron2 import model_zoo
        from detectron2.config import get_cfg
        from detectron2.data import MetadataCatalog
        from detectron2.engine import DefaultPredictor

        cfg = get_cfg()
        cfg.merge_from_file(model_zoo.get_config_file(config_name))
        cfg.MODEL.DEVICE = str(_torch_device(device))
        cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = float(score_floor)
        if random_weights:
            cfg.MODEL.WEIGHTS = ""  # DetectionCheckpointer initialises from scratch on an empty path
            self.trusted = False
            weights_id = "random-weights"
        elif weights_path:
            path = Path(weights_path).expanduser()
            if not path.is_file():
                raise DetectorUnavailable(f"configured detector weights {path} do not exist")
            cfg.MODEL.WEIGHTS = str(path)
            self.trusted = True
            weights_id = f"{path.name}/{_sha256(path)[:12]}"
        elif allow_download:
            cfg.MODEL.WEIGHTS = model_zoo.get_checkpoint_url(config_name)
            self.trusted = True
            weights_id = cfg.MODEL.WEIGHTS.rsplit("/", 2)[-2] + "/" + Path(cfg.MODEL.WEIGHTS).name
        else:
            raise DetectorUnavailable(_detectron2_missing_reason())

        self._predictor = DefaultPredictor(cfg)
        self.score_floor = float(score_floor)
        self.labels = tuple(MetadataCatalog.get(cfg.DATASETS.TRAIN[0]).thing_classes)
        self.name = f"detectron2:{Path(config_name).stem}"
        self.version = f"detectron2-{detectron2.__version__}/{config_name}/{weights_id}"
        self._lock = threading.Lock()

    def detect(self, images: Sequence[Image.Image], score_threshold: float = 0.5) -> list[list[Detection]]:
        """Detections per image, best first; ``DefaultPredictor`` takes one BGR image at a time."""
        results = []
        with self._lock:
            for im in images:
                rgb = im if im.mode == "RGB" else im.convert("RGB")
                bgr = np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])
                instances = self._predictor(bgr)["instances"].to("cpu")
                results.append(instances_to_detections(instances, self.labels, score_threshold))
        return results


def instances_to_detections(instances: Any, labels: Sequence[str], score_threshold: float) -> list[Detection]:
    """Detectron2 ``Instances`` (``pred_boxes``, ``scores``, ``pred_classes``, ``image_size``) to :class:`Detection`."""
    h, w = instances.image_size
    boxes = instances.pred_boxes.tensor.tolist()
    scores = instances.scores.tolist()
    classes = instances.pred_classes.tolist()
    found = [
        Detection(label=labels[int(c)], score=float(s), box=_normalised_box(b, w, h))
        for b, s, c in zip(boxes, scores, classes, strict=True)
        if s >= score_threshold
    ]
    found.sort(key=lambda d: d.score, reverse=True)
    return found


# --------------------------------------------------------------------------- choosing


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
        return False, _detectron2_missing_reason()
    try:
        source = _locate_torchvision_weights(arch, weights_path)
    except DetectorUnavailable as exc:
        return False, exc.reason
    if source is not None:
        return True, f"torchvision {arch} with weights {source}"
    url, cached = torchvision_weights_location(arch)
    if allow_download:
        return True, f"torchvision {arch}; {url} downloads to {cached} on first use"
    reason = _torchvision_missing_reason(arch, weights_path)
    if backend == "auto" and not detectron2_available():
        reason += "; detectron2 is not installed"
    return False, reason
