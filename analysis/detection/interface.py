"""What a detector is to the rest of the platform: its answer, its interface, its one error.

Kept apart from the engines so that code which only stores or shows detections
(and the web process) needs neither torch nor a backend to name them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from PIL import Image

Backend = Literal["auto", "detectron2", "torchvision"]

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


def normalised_box(box: Sequence[float], w: int, h: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    return (
        min(max(x0 / w, 0.0), 1.0),
        min(max(y0 / h, 0.0), 1.0),
        min(max(x1 / w, 0.0), 1.0),
        min(max(y1 / h, 0.0), 1.0),
    )
