"""The two detector engines: torchvision's Faster R-CNN and Detectron2's model zoo.

* :class:`TorchvisionDetector` - torchvision's Faster R-CNN. Default architecture
  ``fasterrcnn_mobilenet_v3_large_fpn`` (box mAP 32.8 on COCO val2017): on 2 CPU
  cores it is ~4x faster than ``fasterrcnn_resnet50_fpn_v2`` (46.7 mAP) while the
  ``..._320_fpn`` variant, faster again, loses a third of the mAP (22.8) and
  misses the small figures that fill paintings. Other architectures can be chosen.
* :class:`Detectron2Detector` - Detectron2's model zoo Faster R-CNN R50-FPN 3x,
  used when ``detectron2`` is importable (it has no wheels on PyPI).

torch, torchvision and detectron2 are imported when an engine is built, never at
import time, so the web process can import this package to name things.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from analysis.detection.interface import Detection, DetectorUnavailable, normalised_box
from analysis.detection.weights import (
    DEFAULT_TORCHVISION_ARCH,
    DETECTRON2_CONFIG,
    detectron2_available,
    detectron2_missing_reason,
    file_sha256,
    locate_torchvision_weights,
    torchvision_missing_reason,
    torchvision_weights_location,
)

log = logging.getLogger(__name__)


def _torch_device(device: Any) -> Any:
    import torch

    return device if isinstance(device, torch.device) else torch.device(device or "cpu")


def torchvision_arches() -> dict[str, tuple[Callable[..., Any], Any]]:
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

        arches = torchvision_arches()
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

        source = None if random_weights else locate_torchvision_weights(arch, weights_path)
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
            weights_id = f"{source.name}/{file_sha256(source)[:12]}"
        elif allow_download:
            log.info("downloading %s weights via torchvision into %s", arch, torchvision_weights_location(arch)[1])
            model = builder(weights=weights_enum, progress=False, **size_kwargs)
            self.trusted = True
            cached = torchvision_weights_location(arch)[1]
            weights_id = f"{cached.name}/{file_sha256(cached)[:12]}" if cached.is_file() else weights_enum.url
        else:
            raise DetectorUnavailable(torchvision_missing_reason(arch, weights_path))

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
                        found.append(Detection(label=label, score=float(score), box=normalised_box(box, w, h)))
                    found.sort(key=lambda d: d.score, reverse=True)
                    results.append(found)
        return results


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
            weights_id = f"{path.name}/{file_sha256(path)[:12]}"
        elif allow_download:
            cfg.MODEL.WEIGHTS = model_zoo.get_checkpoint_url(config_name)
            self.trusted = True
            weights_id = cfg.MODEL.WEIGHTS.rsplit("/", 2)[-2] + "/" + Path(cfg.MODEL.WEIGHTS).name
        else:
            raise DetectorUnavailable(detectron2_missing_reason())

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
        Detection(label=labels[int(c)], score=float(s), box=normalised_box(b, w, h))
        for b, s, c in zip(boxes, scores, classes, strict=True)
        if s >= score_threshold
    ]
    found.sort(key=lambda d: d.score, reverse=True)
    return found
