"""Face detection and 128-d face descriptors with dlib, for paintings and visitor photos.

Everything here runs offline: the model files come from the PyPI package
``face_recognition_models`` (only its data directory is used; its ``__init__``
imports ``pkg_resources`` and is never imported).

Default detector: dlib's HOG frontal detector with one upsampling step. Measured on
the 267 demo paintings (512 px, 2 CPU cores shared with other work):

================  ===========  ===================  ========================
detector          s / image    faces (images)       portraits with a face/41
================  ===========  ===================  ========================
HOG, upsample 0   0.03         63 (60)              36
HOG, upsample 1   0.13         110 (87)             36
CNN, upsample 0   2.7          65 (61)              34
CNN, upsample 1   11.4         171 (115)            40
================  ===========  ===================  ========================

Looked at as crops, the HOG detections were almost all real painted faces
(one gilded ornament, at score 0.1); the CNN detector also finds profiles and
tilted heads (and a dog and a lion), but at ~85x the CPU cost of HOG upsample 1,
i.e. ~50 minutes for this small collection. HOG upsample 1 is therefore the
default and CNN (``detector="cnn"``) is the option for GPU builds of dlib or
collections where recall on profiles matters more than time.

Boxes are normalised to [0, 1] of the image so they survive the derivative
sizes the platform stores, and so that downscaling before detection needs no
mapping back beyond the pixel-size filter.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageOps

__all__ = [
    "DESCRIPTOR_DIM",
    "SAME_PERSON_DISTANCE",
    "Face",
    "FaceConfig",
    "FaceModel",
    "FaceModelError",
    "crop_face",
    "default_model",
    "default_models_dir",
    "descriptor_for_upload",
    "detect_faces",
    "face_distances",
]

log = logging.getLogger(__name__)

DESCRIPTOR_DIM = 128
# dlib's documented operating point for its ResNet descriptor: pairs closer than this
# are the same person on LFW (99.38 %). Paintings are harder; treat it as a hint.
SAME_PERSON_DISTANCE = 0.6

DetectorKind = Literal["hog", "cnn"]

_CNN_DETECTOR_FILE = "mmod_human_face_detector.dat"
_RECOGNITION_FILE = "dlib_face_recognition_resnet_model_v1.dat"
_SHAPE_FILES = {5: "shape_predictor_5_face_landmarks.dat", 68: "shape_predictor_68_face_landmarks.dat"}


class FaceModelError(RuntimeError):
    """The dlib model files are missing or unreadable: a deployment problem, not 'no face'."""


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face.

    ``box`` and ``landmarks`` are fractions of the image's width/height, so they
    apply to any resized derivative of the same image. ``score`` is the detector's
    own confidence (HOG: SVM margin, ~0..4; CNN: MMOD confidence, ~0..1.5) and is
    only comparable between faces found by the same detector. Landmarks of a face
    cut by the picture's edge may lie slightly outside [0, 1]; they are not clamped
    because they describe where the face is, not where the picture is.
    """

    box: tuple[float, float, float, float]
    score: float
    descriptor: np.ndarray
    landmarks: tuple[tuple[float, float], ...] | None = None

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return (x1 - x0) * (y1 - y0)

    @property
    def center(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        return ((x0 + x1) / 2, (y0 + y1) / 2)


@dataclass(frozen=True)
class FaceConfig:
    """How faces are found. Frozen so a config can key a cache of loaded models.

    ``max_side``: images are shrunk to this longest side before detection, because
    HOG/CNN cost grows with pixel count while painted faces in a 1024 px image are
    already well above the detector's ~40 px floor at ``upsample=1``.
    ``min_size``: smallest face side kept, in pixels of the *original* image.
    ``min_score``: passed to the HOG detector as its threshold adjustment (and used
    as a plain cut-off for CNN); raise it to trade recall for precision.
    ``landmarks``: 5 points suffice for the descriptor's alignment (and is the
    file dlib recommends with the ResNet model); 68 gives richer landmarks for UI.
    ``num_jitters``: >1 averages descriptors of jittered crops - slower, slightly
    more stable; 0 keeps stored and query descriptors deterministic.
    """

    detector: DetectorKind = "hog"
    upsample: int = 1
    landmarks: Literal[5, 68] = 5
    max_side: int = 1024
    min_size: int = 0
    min_score: float = 0.0
    num_jitters: int = 0
    models_dir: str | None = None

    def __post_init__(self) -> None:
        if self.detector not in ("hog", "cnn"):
            raise ValueError(f"unknown face detector {self.detector!r}; use 'hog' or 'cnn'")
        if self.landmarks not in _SHAPE_FILES:
            raise ValueError(f"landmarks must be 5 or 68, not {self.landmarks!r}")
        if self.upsample < 0 or self.max_side < 64 or self.min_size < 0 or self.num_jitters < 0:
            raise ValueError("upsample, min_size and num_jitters must be >= 0 and max_side >= 64")


def default_models_dir() -> Path:
    """The ``models`` folder of the installed ``face_recognition_models`` package, found without importing it."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelError(
            "face_recognition_models is not installed; `pip install face_recognition_models==0.3.0` "
            "or set FaceConfig.models_dir to a folder holding the dlib .dat files"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


_digest_cache: dict[tuple[str, int, int], str] = {}
_digest_lock = threading.Lock()


def _file_digest(path: Path) -> str:
    """sha256 of a model file, cached by (path, size, mtime): the 68-point file is 100 MB."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _digest_lock:
        if key not in _digest_cache:
            with path.open("rb") as fh:
                _digest_cache[key] = hashlib.file_digest(fh, "sha256").hexdigest()
        return _digest_cache[key]


class FaceModel:
    """The dlib detector, shape predictor and recognition network for one :class:`FaceConfig`.

    Loading takes ~0.5 s and ~40 MB with 5-point landmarks (~1 s and ~100 MB with
    68), so models load once, on first use, under a lock (Celery threads or a web
    process may race to it). Inference is
    serialised by a second lock because dlib's DNN objects keep per-call scratch
    buffers and are not safe to share between concurrent callers; use processes
    for parallelism.
    """

    def __init__(self, config: FaceConfig | None = None) -> None:
        self.config = config or FaceConfig()
        self._models_dir = Path(self.config.models_dir) if self.config.models_dir else None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._detector: Any = None
        self._shape_predictor: Any = None
        self._recognizer: Any = None
        self._version: str | None = None

    @property
    def models_dir(self) -> Path:
        if self._models_dir is None:
            self._models_dir = default_models_dir()
        return self._models_dir

    def model_files(self) -> list[Path]:
        """The files whose bytes decide the output, in a fixed order (detector, landmarks, descriptor)."""
        names = []
        if self.config.detector == "cnn":
            names.append(_CNN_DETECTOR_FILE)
        names += [_SHAPE_FILES[self.config.landmarks], _RECOGNITION_FILE]
        files = [self.models_dir / n for n in names]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise FaceModelError(f"dlib model files missing: {', '.join(missing)}")
        return files

    @property
    def version(self) -> str:
        """Names what produced stored faces, so descriptors from different models are never compared.

        e.g. ``dlib-20.0.1/hog/shape_predictor_5_face_landmarks+dlib_face_recognition_resnet_model_v1/3f1c2a9b7d04``.
        The detector is named because it decides *which* faces exist; the hash covers
        the model files because file names alone do not pin weights. Per-call
        settings (upsample, min_size) are left out: they change recall, not what a
        stored descriptor means, so faces found with either stay comparable.
        """
        if self._version is None:
            import dlib

            files = self.model_files()
            combined = hashlib.sha256("".join(_file_digest(f) for f in files).encode()).hexdigest()[:12]
            names = "+".join(f.stem for f in files if f.name != _CNN_DETECTOR_FILE)
            self._version = f"dlib-{dlib.__version__}/{self.config.detector}/{names}/{combined}"
        return self._version

    def _ensure_loaded(self) -> None:
        if self._recognizer is not None:
            return
        with self._load_lock:
            if self._recognizer is not None:
                return
            import dlib

            files = self.model_files()
            try:
                if self.config.detector == "cnn":
                    self._detector = dlib.cnn_face_detection_model_v1(str(files[0]))
                else:
                    self._detector = dlib.get_frontal_face_detector()
                self._shape_predictor = dlib.shape_predictor(str(files[-2]))
                recognizer = dlib.face_recognition_model_v1(str(files[-1]))
            except RuntimeError as exc:  # dlib raises RuntimeError for corrupt/truncated files
                raise FaceModelError(f"could not load dlib models from {self.models_dir}: {exc}") from exc
            log.info("loaded face models %s", self.version)
            self._recognizer = recognizer

    def _find(self, pixels: np.ndarray, upsample: int) -> list[tuple[Any, float]]:
        if self.config.detector == "cnn":
            found = self._detector(pixels, upsample)
            return [(d.rect, float(d.confidence)) for d in found if d.confidence >= self.config.min_score]
        rects, scores, _ = self._detector.run(pixels, upsample, self.config.min_score)
        return list(zip(rects, (float(s) for s in scores), strict=True))

    def detect(self, image: Image.Image, *, min_size: int | None = None, upsample: int | None = None) -> list[Face]:
        """Faces in ``image``, largest first; an empty list when there are none.

        ``min_size`` and ``upsample`` override the config for one call (the upload
        path wants different trade-offs than the batch job).
        """
        import dlib

        self._ensure_loaded()
        min_size = self.config.min_size if min_size is None else min_size
        upsample = self.config.upsample if upsample is None else upsample
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        orig_w, orig_h = rgb.size
        if max(orig_w, orig_h) > self.config.max_side:
            rgb = ImageOps.contain(rgb, (self.config.max_side, self.config.max_side), Image.Resampling.LANCZOS)
        w, h = rgb.size
        pixels = np.asarray(rgb, dtype=np.uint8)
        # Pixel-size filter in detection-image pixels, from the caller's original-image pixels.
        min_side_px = min_size * (w / orig_w)

        with self._run_lock:
            found = [(r, s) for r, s in self._find(pixels, upsample) if min(r.width(), r.height()) >= min_side_px]
            if not found:
                return []
            shapes = dlib.full_object_detections()
            for rect, _ in found:
                shapes.append(self._shape_predictor(pixels, rect))
            descriptors = self._recognizer.compute_face_descriptor(pixels, shapes, self.config.num_jitters)

        faces = []
        for (rect, score), shape, desc in zip(found, shapes, descriptors, strict=True):
            box = (
                min(max(rect.left() / w, 0.0), 1.0),
                min(max(rect.top() / h, 0.0), 1.0),
                min(max((rect.right() + 1) / w, 0.0), 1.0),
                min(max((rect.bottom() + 1) / h, 0.0), 1.0),
            )
            points = tuple((p.x / w, p.y / h) for p in shape.parts())
            faces.append(Face(box=box, score=score, descriptor=np.asarray(desc, dtype=np.float32), landmarks=points))
        faces.sort(key=lambda f: f.area, reverse=True)
        return faces

    def descriptor_for_upload(self, image: Image.Image) -> list[Face]:
        """Faces in a visitor's photo, largest (most likely the intended one) first.

        Phone photos carry their rotation in EXIF; without applying it a sideways
        face is invisible to a frontal detector.
        """
        return self.detect(ImageOps.exif_transpose(image))


_default_models: dict[FaceConfig, FaceModel] = {}
_default_lock = threading.Lock()


def default_model(config: FaceConfig | None = None) -> FaceModel:
    """A process-wide :class:`FaceModel` per config, so tasks do not reload 30-130 MB of model files."""
    config = config or FaceConfig()
    with _default_lock:
        if config not in _default_models:
            _default_models[config] = FaceModel(config)
        return _default_models[config]


def detect_faces(
    image: Image.Image,
    *,
    min_size: int | None = None,
    upsample: int | None = None,
    model: FaceModel | None = None,
) -> list[Face]:
    """Faces in ``image`` with ``model`` (default: the shared HOG model); see :meth:`FaceModel.detect`.

    ``None`` for ``min_size``/``upsample`` means the model's :class:`FaceConfig` value.
    """
    return (model or default_model()).detect(image, min_size=min_size, upsample=upsample)


def descriptor_for_upload(image: Image.Image, *, model: FaceModel | None = None) -> list[Face]:
    """Faces in a visitor's search photo; see :meth:`FaceModel.descriptor_for_upload`."""
    return (model or default_model()).descriptor_for_upload(image)


def crop_face(image: Image.Image, face: Face, margin: float = 0.3, size: int = 160) -> Image.Image:
    """A square ``size`` px crop around ``face`` with ``margin`` x box size of context on each side.

    Context (hair, collar) is what makes a face thumbnail recognisable in a grid.
    The square is shifted to stay inside the image rather than padded with black,
    which would look like a framing error on a painting.
    """
    w, h = image.size
    x0, y0, x1, y1 = face.box[0] * w, face.box[1] * h, face.box[2] * w, face.box[3] * h
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    side = max(1.0, min(side, w, h))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = min(max(cx - side / 2, 0.0), w - side)
    top = min(max(cy - side / 2, 0.0), h - side)
    box = (round(left), round(top), round(left + side), round(top + side))
    crop = image.convert("RGB").crop(box)
    return crop.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)


def face_distances(query: np.ndarray, descriptors: np.ndarray) -> np.ndarray:
    """Euclidean distances from one descriptor to each row: the metric dlib's model was trained for."""
    descriptors = np.asarray(descriptors, dtype=np.float32).reshape(-1, DESCRIPTOR_DIM)
    return np.linalg.norm(descriptors - np.asarray(query, dtype=np.float32)[None, :], axis=1)
