"""Worker-side object detection for works: one detector per process, one transaction per work.

The detector is chosen by the ``DETECTION_*`` settings and built once per process
(and per combination of those settings), because building a Faster R-CNN costs
seconds. When no usable weights exist the verdict is cached too, so an offline
worker logs the reason once and then processes works without objects instead of
failing them. Put the weights in place and restart the worker to switch it on.

The worker also leaves its verdict in the shared cache: in the documented
deployment the web process runs on another machine without torch or weights, so
its own :func:`~analysis.detection.detector_status` cannot speak for the worker.

Importing this module does not import torch (the detector is built lazily).
"""

from __future__ import annotations

import io
import logging
import socket
import threading
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from PIL import Image

from analysis.detection import Detector, DetectorUnavailable, detector_status, load_detector
from analysis.models import AnalysisRun, Detection
from collection import images, storage
from collection.models import Artwork

log = logging.getLogger(__name__)

WORKER_STATUS_KEY = "mlserver:object-detection-status"
# Derivatives carry the orientation and colour fixes of ingest; the network resizes to 800 px anyway.
IMAGE_SIZE_ORDER = ("large", "medium")

_lock = threading.Lock()
_detectors: dict[tuple[Any, ...], Detector | DetectorUnavailable] = {}


def _settings_key() -> tuple[Any, ...]:
    return (
        settings.DETECTION_BACKEND,
        settings.DETECTION_WEIGHTS or None,
        settings.DETECTION_ALLOW_DOWNLOAD,
        settings.DETECTION_RANDOM_WEIGHTS,
        settings.ML_DEVICE,
    )


def _device(name: str) -> str:
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _build(key: tuple[Any, ...]) -> Detector:
    backend, weights, allow_download, random_weights, device = key
    if backend == "off":
        raise DetectorUnavailable("DETECTION_BACKEND is off")
    if not random_weights:
        # Files only: an offline worker gets the reason without building a network, and the
        # verdict is the one the admin shows.
        available, reason = detector_status(backend, weights, allow_download)
        if not available:
            raise DetectorUnavailable(reason)
    return load_detector(backend, weights, allow_download, random_weights, _device(device))


def current_detector() -> Detector:
    """The configured detector, built once per process; :class:`DetectorUnavailable` when there is none.

    The first failure is logged once as a warning naming the reason; later calls
    raise the cached verdict silently.
    """
    key = _settings_key()
    with _lock:
        hit = _detectors.get(key)
        if hit is None:
            try:
                hit = _build(key)
            except DetectorUnavailable as exc:
                hit = exc
                log.warning(
                    "object detection is off on this worker, works are processed without objects: %s", exc.reason
                )
            _detectors[key] = hit
            _report(hit)
    if isinstance(hit, DetectorUnavailable):
        raise hit
    return hit


def _report(verdict: Detector | DetectorUnavailable) -> None:
    if isinstance(verdict, DetectorUnavailable):
        status = {"available": False, "reason": verdict.reason}
    elif not verdict.trusted:
        status = {"available": False, "reason": f"{verdict.version}: random weights, detections are never shown"}
    else:
        status = {"available": True, "reason": verdict.version}
    status |= {"host": socket.gethostname(), "checked": timezone.now().isoformat(timespec="seconds")}
    try:
        cache.set(WORKER_STATUS_KEY, status, timeout=None)
    except Exception as exc:  # noqa: BLE001 - a cache outage must not stop detection; the admin falls back
        log.warning("could not record the object detection status in the cache: %s", exc)


def reported_status() -> dict[str, Any] | None:
    """What the gpu worker last said about its detector (``available``, ``reason``, ``host``, ``checked``)."""
    try:
        return cache.get(WORKER_STATUS_KEY)
    except Exception:  # noqa: BLE001 - shown as "no report" in the admin
        return None


def forget_detectors() -> None:
    """Drops the cached detectors and verdicts (tests; after replacing weights in a long-lived shell)."""
    with _lock:
        _detectors.clear()


def _load_image(artwork: Artwork) -> Image.Image:
    record = artwork.image
    assert record is not None, "only works with a picture are analysed"
    for size_name in IMAGE_SIZE_ORDER:
        key = record.derivatives.get(size_name)
        if key:
            with Image.open(io.BytesIO(storage.get("public", key))) as im:
                return im.convert("RGB")
    return images.decode(storage.get("private", record.original), name=record.original).image


def is_current(artwork: Artwork, detector: Detector) -> bool:
    """True when this image was already analysed by this detector version."""
    return AnalysisRun.objects.filter(
        artwork=artwork,
        kind=AnalysisRun.Kind.OBJECTS,
        version=detector.version,
        image_sha256=artwork.image.sha256 if artwork.image is not None else None,
    ).exists()


def detect_artwork(artwork: Artwork, detector: Detector | None = None, *, force: bool = False) -> AnalysisRun | None:
    """Detects objects in the work's image and replaces its detections; None when it has no image.

    Idempotent: an image already analysed by this detector version is skipped
    (``force`` re-detects, e.g. after changing ``DETECTION_SCORE_THRESHOLD``, which
    is not part of the version). The old detections and runs are replaced in one
    transaction, so readers see either the old set or the new one.
    """
    if artwork.image is None:
        return None
    detector = detector or current_detector()
    sha256 = artwork.image.sha256
    if not force and is_current(artwork, detector):
        return AnalysisRun.objects.get(artwork=artwork, kind=AnalysisRun.Kind.OBJECTS, version=detector.version)
    [found] = detector.detect([_load_image(artwork)], score_threshold=settings.DETECTION_SCORE_THRESHOLD)
    with transaction.atomic():
        # Serialises two workers on the same work; the check is repeated under the lock.
        Artwork.objects.select_for_update().filter(pk=artwork.pk).first()
        if not force and is_current(artwork, detector):
            return AnalysisRun.objects.get(artwork=artwork, kind=AnalysisRun.Kind.OBJECTS, version=detector.version)
        Detection.objects.filter(artwork=artwork).delete()
        AnalysisRun.objects.filter(artwork=artwork, kind=AnalysisRun.Kind.OBJECTS).delete()
        Detection.objects.bulk_create(
            Detection(
                artwork=artwork,
                detector_version=detector.version,
                label=d.label,
                score=d.score,
                x0=d.box[0],
                y0=d.box[1],
                x1=d.box[2],
                y1=d.box[3],
                trusted=detector.trusted,
            )
            for d in found
        )
        return AnalysisRun.objects.create(
            artwork=artwork,
            kind=AnalysisRun.Kind.OBJECTS,
            version=detector.version,
            image_sha256=sha256,
            found=len(found),
            trusted=detector.trusted,
        )


def objects_stage(artwork: Artwork) -> AnalysisRun | None:
    """The pipeline's objects stage: detection, or nothing when this worker has no detector (logged once)."""
    try:
        detector = current_detector()
    except DetectorUnavailable:
        return None
    return detect_artwork(artwork, detector)
