"""COCO object detection behind one small interface, with two interchangeable backends.

One job per module:

* :mod:`~analysis.detection.interface` - :class:`Detection`, the :class:`Detector`
  protocol both backends satisfy, and :class:`DetectorUnavailable`;
* :mod:`~analysis.detection.weights` - where each backend's weights are and what to
  fetch when they are missing (answered without torch, for the admin);
* :mod:`~analysis.detection.engines` - :class:`TorchvisionDetector` and
  :class:`Detectron2Detector`;
* :mod:`~analysis.detection.choice` - :func:`load_detector` and :func:`detector_status`.

Neither backend downloads anything unless ``allow_download=True``. Without real
weights :func:`load_detector` raises :class:`DetectorUnavailable`, whose message says
exactly which file to fetch and where to put it; :func:`detector_status` returns the
same verdict as ``(available, reason)`` without loading anything, for the admin.

``random_weights=True`` builds the network untrained so the plumbing (tasks,
storage, API) can be exercised; such a detector has ``trusted = False`` and its
output must never be shown to users.

Boxes are fractions of the image's width/height, like face boxes, so they apply
to every stored derivative of an image.

The names below are the package's public surface (the worker, the admin, the
management command and the benches use them); anything else is reached through its module.
"""

from analysis.detection.choice import detector_status, load_detector
from analysis.detection.engines import Detectron2Detector, TorchvisionDetector
from analysis.detection.interface import COCO_LABELS, Backend, Detection, Detector, DetectorUnavailable
from analysis.detection.weights import (
    DEFAULT_TORCHVISION_ARCH,
    DETECTRON2_CHECKPOINT_URL,
    DETECTRON2_CONFIG,
    TORCHVISION_WEIGHTS_URLS,
    detectron2_available,
    torchvision_weights_location,
)

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
