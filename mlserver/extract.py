"""Batched embedding extraction for collection images and search-by-image uploads.

Throughput on a small CPU box is decided by three things: the network, decoding
and resizing, and how the two share the cores.

* On CPU the network is exported in memory from the loaded, BatchNorm-folded
  PyTorch module, checked against it, and run by OpenVINO (float32; ~1.7x ONNX
  Runtime on one thread of the 2-core Xeon box) or, without it, ONNX Runtime;
  in PyTorch with channels-last and ``inference_mode`` otherwise, with fp16
  autocast on CUDA.
* Decoding uses Pillow's JPEG ``draft`` mode, which lets libjpeg decode
  directly at 1/2, 1/4 or 1/8 scale - close to the ~256 px the model needs -
  instead of decoding a full scan and throwing most pixels away. Resizing and
  cropping stay in uint8 per image (:class:`FastEvalTransform`); conversion to
  float and normalisation happen once per batch.
* Decoding runs in parallel: a thread pool (Pillow releases the GIL) or
  DataLoader worker processes; see :meth:`Extractor.embed_stream` for which
  wins where.
* The uint8 crop a picture gives is stored once (:class:`PreparedInput`, an
  exact ``.npy`` keyed by picture and preprocessing): a re-embedding, e.g. by a
  fine-tuned model with the same preprocessing, reads it instead of decoding the
  original again, and gets bit-identical inputs.

None of this changes the vectors beyond float rounding, so the feature version
does not depend on it. Every vector is L2-normalised float32 and tagged with a
``feature_version`` so the platform never compares vectors produced by
different weights or preprocessing.
"""

from __future__ import annotations

import collections
import copy
import functools
import io
import itertools
import logging
import math
import multiprocessing
import os
import queue
import threading
import time
import warnings
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .backbone import (
    BackboneSpec,
    configure_torch_threads,
    fuse_batchnorm_for_inference,
    load_backbone,
    pool_features,
    pooling_dim,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CUDA_BATCH_SIZE",
    "EmbeddingBatch",
    "Item",
    "Extractor",
    "ImageItemsDataset",
    "PooledFeatures",
    "PreparedInput",
    "prepared_tensor",
    "collate_items",
    "decode_image",
    "default_batch_size",
    "draft_size_for",
    "decode_input",
    "encode_input",
    "feature_version_string",
    "measure_batch_throughput",
]

logger = logging.getLogger(__name__)

# Chosen by measure_batch_throughput() on the 2-core dev/CI box (AMD EPYC (Zen 3),
# lite0 at 224 px, 2 threads, BN folded), best of 3:
#   ONNX Runtime 1.31 (the CPU default): batch 1: 131, 2: 150, 4: 150-152, 8: 143-146,
#     16: 144-146, 32: 135 images/s
#   eager torch 2.13, channels-last: batch 1: 71-73, 2: 94, 4: 102-103, 6: 110, 8: 84-91,
#     16: 69-82, 32: 56-62 images/s (contiguous layout: 4 -> 91, 32 -> 28)
#   OpenVINO 2026.4 (the CPU default since session 3; Intel Xeon box): batch 1: 176, 4: 185,
#     8: 169, 16: 173, 32: 153, 64: 153 images/s
# Small batches win on these CPUs because the activations of a few images stay in cache;
# large batches only help on a GPU. 4 is at the top for every runtime.
DEFAULT_BATCH_SIZE = 4
# Not measured here (no GPU on the dev box); a conventional size for a small CNN
# under fp16 autocast, to be re-measured with measure_batch_throughput on the worker.
DEFAULT_CUDA_BATCH_SIZE = 64


# How decode threads share the CPU with the model (see Extractor.embed_stream): they
# decode up to CPU_PREFETCH batches ahead at CPU_DECODE_NICE lower priority.
CPU_OVERLAP = True
CPU_PREFETCH = 2
CPU_DECODE_NICE = 19


def default_batch_size(device: torch.device | str) -> int:
    """Batch size for ``device``: CPUs favour small batches (cache), GPUs large ones."""
    return DEFAULT_CUDA_BATCH_SIZE if torch.device(device).type == "cuda" else DEFAULT_BATCH_SIZE


ImageSource = Union[bytes, bytearray, memoryview, str, Path, IO[bytes], Image.Image]
ItemData = Union[ImageSource, Callable[[], ImageSource]]
Item = tuple[Hashable, ItemData]
Runtime = Literal["auto", "torch", "onnxruntime", "openvino"]
# CPU engines for the exported graph, in order of preference for runtime="auto".
ENGINES: dict[str, type[ExportedModel]] = {}


class EmbeddingBatch(NamedTuple):
    """One batch of results, in input order.

    ``keys[i]`` owns ``vectors[i]``; items that could not be read or decoded are
    absent from ``keys``/``vectors`` and listed in ``errors`` (key -> message) so a
    single corrupt scan never sinks a batch.
    """

    keys: list[Hashable]
    vectors: np.ndarray
    errors: dict[Hashable, str]


def feature_version_string(backbone_name: str, kind: str, digest: str) -> str:
    """``<backbone>:<pretrained|finetuned>:<digest>`` - stored next to every vector."""
    return f"{backbone_name}:{kind}:{digest}"


# --------------------------------------------------------------------------- decoding


def draft_size_for(data_config: dict[str, Any]) -> int:
    """Smallest side the eval transform needs before its centre crop (timm's resize size)."""
    _, height, width = data_config["input_size"]
    crop_pct = data_config.get("crop_pct") or 1.0
    return int(math.floor(max(height, width) / crop_pct))


def decode_image(source: ImageSource, draft_size: int | None = None) -> Image.Image:
    """Decode to an upright RGB image, at reduced size for JPEGs when ``draft_size`` is given.

    ``draft`` only ever picks a scale whose result is at least ``draft_size`` on
    both sides, so the later resize still downsamples (no quality loss from
    upsampling). EXIF orientation is applied after drafting because drafting
    needs the still-unloaded file.
    """
    if isinstance(source, Image.Image):
        if draft_size and source.format == "JPEG":
            source.draft("RGB", (draft_size, draft_size))  # no-op once the image is loaded
        return ImageOps.exif_transpose(source).convert("RGB")  # copies: the caller's image stays as it was
    if isinstance(source, (bytes, bytearray, memoryview)):
        fh: Any = io.BytesIO(source)
    elif isinstance(source, (str, Path)):
        fh = open(source, "rb")
    else:
        fh = source
    try:
        image = Image.open(fh)
        if draft_size and image.format == "JPEG":
            image.draft("RGB", (draft_size, draft_size))
        image.load()  # the full decode, while the file is open
        # In place and without a no-op convert: each copy of a decoded scan costs
        # as much as a tenth of its decode.
        ImageOps.exif_transpose(image, in_place=True)
        if image.mode != "RGB":
            image = image.convert("RGB")
    finally:
        if isinstance(source, (str, Path)):
            fh.close()
    return image


class FastEvalTransform:
    """timm's eval transform (resize shorter side, centre crop, to-tensor, normalise), split for speed.

    Per image (in the decode threads) the picture is resized and cropped with
    the same Pillow calls torchvision makes, and stays uint8 HWC: a quarter of
    the bytes to stack and move, and no per-image float tensors. Conversion to
    float and normalisation then happen once per batch in torch, with
    torchvision's operation order (``/255``, ``-mean``, ``/std``), so the model
    input is bit-for-bit what timm's transform gives.

    Built by :meth:`from_timm` only when the timm transform has exactly the
    expected shape; anything else keeps the plain timm transform.
    """

    def __init__(
        self,
        resize_short: int,
        crop: tuple[int, int],
        resample: int,
        mean: Sequence[float],
        std: Sequence[float],
    ) -> None:
        self.resize_short = int(resize_short)
        self.crop_h, self.crop_w = int(crop[0]), int(crop[1])
        self.resample = resample
        self.mean = torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1)
        self.std = torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1)

    @classmethod
    def from_timm(cls, transform: Any) -> "FastEvalTransform | None":
        """Read the parameters off timm's ``Compose``; ``None`` when it is not Resize/CenterCrop/ToTensor/Normalize."""
        from torchvision import transforms as T
        from torchvision.transforms.functional import InterpolationMode, pil_modes_mapping

        steps = list(getattr(transform, "transforms", ()))
        if len(steps) != 4:
            return None
        resize, crop, to_tensor, normalize = steps
        if not (
            type(resize) is T.Resize
            and type(crop) is T.CenterCrop
            and isinstance(to_tensor, T.ToTensor)
            and type(normalize) is T.Normalize
        ):
            return None
        size = resize.size if isinstance(resize.size, int) else (resize.size[0] if len(resize.size) == 1 else None)
        crop_h, crop_w = crop.size
        if size is None or resize.max_size is not None or min(crop_h, crop_w) > size:
            return None  # fixed-aspect resizes or padding crops: leave those to torchvision
        if resize.interpolation not in (InterpolationMode.BICUBIC, InterpolationMode.BILINEAR):
            return None
        return cls(size, (crop_h, crop_w), pil_modes_mapping[resize.interpolation], normalize.mean, normalize.std)

    @property
    def spec(self) -> str:
        """Names the per-image preprocessing: equal specs make bit-identical uint8 inputs."""
        return f"r{self.resize_short}c{self.crop_h}x{self.crop_w}m{self.resample}"

    def resized_size(self, width: int, height: int) -> tuple[int, int]:
        """torchvision's size rule: the shorter side becomes ``resize_short``, the longer one is truncated."""
        if width <= height:
            return self.resize_short, int(self.resize_short * height / width)
        return int(self.resize_short * width / height), self.resize_short

    def __call__(self, image: Image.Image) -> torch.Tensor:
        """RGB image -> uint8 tensor (crop_h, crop_w, 3) of the resized, centre-cropped picture."""
        width, height = image.size
        new_w, new_h = self.resized_size(width, height)
        if (new_w, new_h) != (width, height):
            # The whole image, not just the cropped region (resize(box=...)): with a box
            # Pillow may run its two passes in the other order, which rounds the uint8
            # intermediate differently - the vectors would no longer match timm's.
            image = image.resize((new_w, new_h), self.resample)
        top = int(round((new_h - self.crop_h) / 2.0))
        left = int(round((new_w - self.crop_w) / 2.0))
        out = image.crop((left, top, left + self.crop_w, top + self.crop_h))
        return torch.from_numpy(np.array(out, dtype=np.uint8))

    def to_input(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 (n, h, w, 3) -> normalised float32 (n, 3, h, w), channels-last in memory (what the model wants)."""
        x = batch.permute(0, 3, 1, 2).to(torch.float32)
        return x.div_(255).sub_(self.mean.to(x.device)).div_(self.std.to(x.device))

    def to_float(self, image: Image.Image) -> torch.Tensor:
        """One image -> normalised float (3, h, w): the same values timm's transform returns."""
        return self.to_input(self(image)[None])[0]


class PreparedInput(NamedTuple):
    """An item whose model input may already be stored: the exact uint8 crop (``encode_input``).

    Decoding and resizing a picture costs as much as half the model's forward on
    CPU; the crop it produces depends only on the picture and the preprocessing
    (:attr:`Extractor.input_spec`), not on the weights. Stored once, it lets every
    later embedding (a fine-tuned model's re-embedding of the whole collection)
    skip the decode with bit-identical inputs, so identical vectors.
    ``prepared`` loads it (any failure - not stored yet, unreadable, wrong size -
    falls back to ``original``); ``store`` receives the encoded input made from
    the original.
    """

    prepared: ItemData
    original: ItemData
    store: Callable[[bytes], None] | None = None


def encode_input(crop: np.ndarray) -> bytes:
    """uint8 (h, w, 3) -> ``.npy`` bytes: exact, and read back with no decoding at all.

    PNG was measured first: ~93 KiB instead of 147, but 7.6 ms to encode and 3.6 ms
    to decode a 224 px crop on the dev box, more than decoding the 512 px JPEG
    it came from (3.3 ms); ``.npy`` takes ~0.05 ms either way.
    """
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(crop, dtype=np.uint8), allow_pickle=False)
    return buf.getvalue()


def decode_input(data: bytes | bytearray | memoryview, shape: tuple[int, int, int]) -> np.ndarray:
    """The stored uint8 model input; raises unless it is exactly that shape."""
    array = np.load(io.BytesIO(data), allow_pickle=False)
    if array.dtype != np.uint8 or array.shape != shape:
        raise ValueError(f"stored model input is {array.dtype} {array.shape}, expected uint8 {shape}")
    return array


def _load(data: ItemData) -> ImageSource:
    return data() if callable(data) else data


def prepared_tensor(
    item: PreparedInput, transform: Callable[[Image.Image], torch.Tensor], draft_size: int | None
) -> torch.Tensor:
    """The item's model input: stored when usable, else made from the original (and handed to ``store``)."""
    fast = transform if isinstance(transform, FastEvalTransform) else None
    if fast is not None:
        try:
            source = _load(item.prepared)
            if isinstance(source, (bytes, bytearray, memoryview)) and len(source):
                return torch.from_numpy(decode_input(source, (fast.crop_h, fast.crop_w, 3)))
        except Exception:  # noqa: BLE001 - not stored yet or unusable: made again below
            pass
    tensor = transform(decode_image(_load(item.original), draft_size))
    if fast is not None and item.store is not None:
        try:
            item.store(encode_input(tensor.numpy()))
        except Exception:  # noqa: BLE001 - an optimisation for next time; this vector is fine
            logger.warning("could not store a prepared model input", exc_info=True)
    return tensor


class ImageItemsDataset(Dataset):
    """Map-style dataset over ``(key, data)`` pairs decoded lazily inside workers.

    ``data`` is bytes, a path, a binary file object, a PIL image, or a zero-argument
    callable returning one of those (so storage reads also happen in the workers). Failures
    are returned, not raised, so the batch survives.
    """

    def __init__(
        self,
        items: Sequence[Item],
        transform: Callable[[Image.Image], torch.Tensor],
        draft_size: int | None = None,
    ) -> None:
        self.items = items
        self.transform = transform
        self.draft_size = draft_size

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[Hashable, torch.Tensor | None, str | None]:
        key, data = self.items[index]
        try:
            if isinstance(data, PreparedInput):
                return key, prepared_tensor(data, self.transform, self.draft_size), None
            image = decode_image(_load(data), self.draft_size)
            return key, self.transform(image), None
        except Exception as exc:  # noqa: BLE001 - any failure is reported per item
            return key, None, f"{type(exc).__name__}: {exc}"


def collate_items(
    batch: list[tuple[Hashable, torch.Tensor | None, str | None]],
) -> tuple[list[Hashable], torch.Tensor | None, dict[Hashable, str]]:
    """Stack the decodable items, keep the failures aside (module-level so workers can pickle it)."""
    keys = [key for key, tensor, _ in batch if tensor is not None]
    tensors = [tensor for _, tensor, _ in batch if tensor is not None]
    errors = {key: err for key, tensor, err in batch if tensor is None}
    return keys, (torch.stack(tensors) if tensors else None), errors


def _worker_init(_: int) -> None:
    # Each worker decodes one image at a time; letting it spawn a torch thread pool
    # per worker would oversubscribe the cores the model needs.
    torch.set_num_threads(1)


# --------------------------------------------------------------------------- models


class PooledFeatures(nn.Module):
    """Pretrained backbone -> pooled features: ``avg`` pre-logits (1280-d for lite0) or ``style`` statistics.

    The same :func:`mlserver.backbone.pool_features` the trained model runs, so
    features cached for the CPU path are exactly what its embedding layer reads.
    """

    def __init__(self, backbone: nn.Module, pooling: str = "avg") -> None:
        super().__init__()
        self.backbone = backbone
        self.pooling = pooling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pool_features(self.backbone, x, self.pooling)


class _Embedder(nn.Module):
    """Adapter exposing a fine-tuned model's ``embed`` as ``forward``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.embed(x)


class ExportedModel:
    """The same network exported to ONNX and run by a CPU inference engine.

    The graph is exported in memory from the already loaded (BN-folded)
    module at start-up - nothing is downloaded or cached on disk - and checked
    against the eager module on a probe batch, so a faulty export or engine is
    refused instead of silently producing other vectors. Subclasses name the
    engine; calls may come from several threads at once (the lanes of
    :meth:`Extractor.embed_stream`).
    """

    runtime = ""
    # Largest difference allowed between the engine's and eager outputs on the probe,
    # relative to the output's scale (float32 kernels differ in summation order only).
    TOLERANCE = 1e-4

    def __init__(
        self, model: nn.Module, input_size: Sequence[int], num_threads: int, cache_key: Hashable | None = None
    ) -> None:
        probe = torch.randn(2, *input_size, generator=torch.Generator().manual_seed(0))
        graph = _ONNX_GRAPHS.get(cache_key) if cache_key is not None else None
        if graph is None:
            graph = _export_onnx(model, probe)
            if cache_key is not None:
                _ONNX_GRAPHS[cache_key] = graph
        self.num_threads = max(1, int(num_threads))
        self._load(graph)
        with torch.inference_mode():
            expected = model(probe).float()
        got = self(probe)
        error = float((got - expected).abs().max()) / max(float(expected.abs().max()), 1e-6)
        if not error <= self.TOLERANCE:
            raise RuntimeError(f"{self.runtime} output differs from PyTorch by {error:.2e} (relative); refusing it")

    def _load(self, graph: bytes) -> None:
        raise NotImplementedError

    def _run(self, array: np.ndarray) -> np.ndarray:
        """Outputs in memory the engine will not reuse."""
        raise NotImplementedError

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(batch.detach().cpu().numpy(), dtype=np.float32)
        return torch.from_numpy(np.asarray(self._run(array), dtype=np.float32))


class OnnxRuntimeModel(ExportedModel):
    """ONNX Runtime: ~1.05-1.4x eager PyTorch for EfficientNet-Lite0 depending on the CPU."""

    runtime = "onnxruntime"

    def _load(self, graph: bytes) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.num_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning worker threads would keep both cores busy between batches, stealing
        # them from the decode threads that run in those gaps.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # One session serves concurrent calls, each on its caller's thread.
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def _run(self, array: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"images": array})[0]


class OpenVinoModel(ExportedModel):
    """OpenVINO's CPU plugin, in float32: the default CPU engine when installed.

    On the 2-core Xeon dev box it runs EfficientNet-Lite0 1.7x faster than
    ONNX Runtime on one thread (132 vs 78 images/s at batch 4), with outputs
    equal to within 2e-6. Precision is pinned to f32 (OpenVINO would pick bf16
    on CPUs with AMX, which moves the vectors) and threads are not pinned to
    cores (two lanes pinned to the same core would halve throughput). Each
    concurrent caller gets its own compiled model and infer request (kept for
    the next call): a compiled model with one stream would serialise the lanes.
    """

    runtime = "openvino"

    def _load(self, graph: bytes) -> None:
        self._model = _openvino_core().read_model(model=graph)
        self._idle: queue.SimpleQueue[tuple[Any, Any]] = queue.SimpleQueue()

    def _new_request(self) -> tuple[Any, Any]:
        compiled = _openvino_core().compile_model(
            self._model,
            "CPU",
            {
                "INFERENCE_NUM_THREADS": self.num_threads,
                "NUM_STREAMS": 1,
                "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_PRECISION_HINT": "f32",
                "ENABLE_CPU_PINNING": False,
            },
        )
        return compiled, compiled.create_infer_request()  # the request never outlives its compiled model

    def _run(self, array: np.ndarray) -> np.ndarray:
        # A request per concurrent caller, reused across calls (compiling costs ~0.15 s).
        try:
            pair = self._idle.get_nowait()
        except queue.Empty:
            pair = self._new_request()
        try:
            # copied: the request's output buffer is overwritten by the next caller
            return np.array(pair[1].infer({0: array})[0], copy=True)
        finally:
            self._idle.put(pair)


@functools.lru_cache(maxsize=1)
def _openvino_core() -> Any:
    """One OpenVINO Core for the process, never released.

    A Core per model was freed with its model by the garbage collector at an
    arbitrary moment, unloading the CPU plugin while compiled models and
    requests still pointed into it: the test process segfaulted minutes later.
    """
    import openvino as ov

    return ov.Core()


ENGINES.update({"openvino": OpenVinoModel, "onnxruntime": OnnxRuntimeModel})

# Exported graphs by (feature_version, input size): a feature version names the weights
# and preprocessing, so a process re-creating an extractor need not export again (~5 s).
_ONNX_GRAPHS: dict[Hashable, bytes] = {}


def _export_onnx(model: nn.Module, probe: torch.Tensor) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript-based exporter is deprecated in favour of dynamo=True, which
        # needs onnxscript and is much slower to export this network; it still works.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (probe,),
            buf,
            input_names=["images"],
            output_names=["features"],
            dynamic_axes={"images": {0: "batch"}, "features": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    return buf.getvalue()


def _engine_available(runtime: str) -> bool:
    import importlib.util

    needs = {"onnxruntime": ("onnxruntime", "onnx"), "openvino": ("openvino", "onnx")}[runtime]
    return all(importlib.util.find_spec(name) is not None for name in needs)


_FORK = "fork" if "fork" in multiprocessing.get_all_start_methods() else None


def _in_daemon_process() -> bool:
    # Celery's prefork children are daemonic and may not fork DataLoader workers.
    return bool(multiprocessing.current_process().daemon)


class Extractor:
    """A feature model plus its preprocessing; thread-compatible for inference only.

    Build with :meth:`from_backbone` (pretrained pooled features) or
    :meth:`from_checkpoint` (fine-tuned embedding layer). ``feature_version``
    identifies the vectors it produces.
    """

    def __init__(
        self,
        model: nn.Module,
        transform: Callable[[Image.Image], torch.Tensor],
        data_config: dict[str, Any],
        feature_version: str,
        device: str | torch.device | None = None,
        fuse_bn: bool = True,
        channels_last: bool = True,
        runtime: Runtime = "auto",
    ) -> None:
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        threads = configure_torch_threads() if self.device.type == "cpu" else 1
        model = model.eval()
        if fuse_bn:
            # Folding rewrites modules in place; work on a copy so the caller's
            # model (e.g. one still being trained) is left untouched.
            model = copy.deepcopy(model)
            fuse_batchnorm_for_inference(model)
        self.channels_last = channels_last
        model = model.to(self.device)
        if runtime != "torch" and runtime != "auto" and self.device.type != "cpu":
            raise ValueError(f"runtime {runtime!r} is a CPU path; the model is on {self.device}")
        if self.device.type != "cpu":
            candidates: list[str] = []
        elif runtime == "auto":
            candidates = [name for name in ENGINES if _engine_available(name)]
            if not candidates:
                logger.warning("neither openvino nor onnxruntime is installed: CPU feature extraction runs in PyTorch, ~1.5-1.8x slower")
        else:
            candidates = [] if runtime == "torch" else [runtime]
        self._compiled: ExportedModel | None = None
        self._compiled_lane: ExportedModel | None = None  # single-threaded twin for embed_stream, made on first use
        self._onnx_key = (feature_version, tuple(data_config["input_size"]), fuse_bn, type(model).__name__)
        for name in candidates:
            try:
                self._compiled = ENGINES[name](model, data_config["input_size"], threads, cache_key=self._onnx_key)
                break
            except Exception:
                if runtime != "auto":
                    raise
                # Same vectors either way, only slower: a model an engine cannot run must still work.
                logger.warning("%s could not run %s; trying the next engine", name, feature_version, exc_info=True)
        self.runtime = self._compiled.runtime if self._compiled is not None else "torch"
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.transform = transform
        # uint8 resize/crop per image + batched normalisation when timm's transform allows it.
        self.fast_transform = FastEvalTransform.from_timm(transform)
        self.data_config = dict(data_config)
        self.feature_version = feature_version
        self.draft_size = draft_size_for(self.data_config)
        self._dim: int | None = None

    # ------------------------------------------------------------------ builders

    @classmethod
    def from_backbone(
        cls,
        spec: BackboneSpec | None = None,
        device: str | torch.device | None = None,
        pooling: str = "avg",
        **kwargs: Any,
    ) -> "Extractor":
        """Pretrained backbone features; the platform's fallback when there are too few labels.

        ``pooling="style"`` gives the CPU path's cached training features; the
        pooling is part of the feature version (``pretrained`` stays the name
        of the average-pooled vectors the platform stores).
        """
        spec = spec or BackboneSpec()
        loaded = load_backbone(spec, num_classes=0)
        kind = spec.source_label if pooling == "avg" else f"{spec.source_label}-{pooling}"
        version = feature_version_string(spec.name, kind, loaded.digest)
        model = PooledFeatures(loaded.model, pooling)
        extractor = cls(model, loaded.transform, loaded.data_config, version, device, **kwargs)
        extractor._dim = pooling_dim(loaded.model, pooling)
        return extractor

    @classmethod
    def from_checkpoint(cls, checkpoint: Any, device: str | torch.device | None = None, **kwargs: Any) -> "Extractor":
        """Fine-tuned embedding layer from a :func:`mlserver.training.fine_tune` checkpoint.

        ``checkpoint`` is anything :func:`mlserver.training.load_checkpoint` accepts
        (dict, bytes, path); incompatible checkpoints raise ``IncompatibleCheckpoint``.
        """
        from .backbone import make_eval_transform
        from .training import load_checkpoint

        loaded = load_checkpoint(checkpoint)
        version = feature_version_string(loaded.backbone_name, "finetuned", loaded.digest)
        transform = make_eval_transform(loaded.data_config)
        extractor = cls(_Embedder(loaded.model), transform, loaded.data_config, version, device, **kwargs)
        extractor._dim = loaded.embedding_dim
        return extractor

    # ------------------------------------------------------------------ inference

    @property
    def dim(self) -> int:
        """Vector width (1280 pretrained lite0, 256 fine-tuned by default)."""
        if self._dim is None:
            size = self.data_config["input_size"]
            self._dim = int(self.embed_tensor(torch.zeros(1, *size)).shape[1])
        return self._dim

    @property
    def input_spec(self) -> str | None:
        """Names the stored model inputs this extractor can use (:class:`PreparedInput`); None when it cannot."""
        if self.fast_transform is None:
            return None
        return f"{self.fast_transform.spec}d{self.draft_size}"

    @property
    def item_transform(self) -> Callable[[Image.Image], torch.Tensor]:
        """Per-image part of the preprocessing, run in the decode threads/workers."""
        return self.fast_transform or self.transform

    def embed_tensor(self, batch: torch.Tensor) -> np.ndarray:
        """Forward a preprocessed batch; returns L2-normalised float32 rows.

        ``batch`` is either normalised float (n, 3, h, w), as timm's transform
        makes, or stacked uint8 (n, h, w, 3) from :attr:`item_transform`, which
        is normalised here (on the model's device, so a GPU gets 4x fewer bytes).
        """
        batch = batch.to(self.device, non_blocking=True)
        if batch.dtype == torch.uint8:
            if self.fast_transform is None:
                raise ValueError("uint8 batches need the fast transform, which this model's preprocessing cannot use")
            batch = self.fast_transform.to_input(batch)
        with torch.inference_mode():
            if self._compiled is not None:
                out = self._compiled(batch)
            else:
                if self.channels_last:
                    batch = batch.contiguous(memory_format=torch.channels_last)
                if self.device.type == "cuda":
                    with torch.autocast("cuda", dtype=torch.float16):
                        out = self.model(batch)
                else:
                    out = self.model(batch)
            out = F.normalize(out.float(), dim=1)
        return out.cpu().numpy().astype(np.float32, copy=False)

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Vectors for already-opened images (search-by-image uploads), shape (n, dim)."""
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        step = default_batch_size(self.device)
        out = []
        for start in range(0, len(images), step):
            chunk = images[start : start + step]
            tensors = [self.item_transform(ImageOps.exif_transpose(image).convert("RGB")) for image in chunk]
            out.append(self.embed_tensor(torch.stack(tensors)))
        return np.concatenate(out)

    def embed_item(self, item: PreparedInput) -> np.ndarray:
        """One work's vector through its stored model input (made and stored when missing); raises on bad data."""
        return self.embed_tensor(prepared_tensor(item, self.item_transform, self.draft_size)[None])[0]

    def embed_bytes(self, blobs: Sequence[bytes]) -> np.ndarray:
        """Like :meth:`embed_images` for raw uploads, using draft decoding; raises on bad data."""
        images = [decode_image(blob, self.draft_size) for blob in blobs]
        return self.embed_images(images)

    def embed_stream(
        self,
        items: Iterable[Item],
        batch_size: int | None = None,
        num_workers: int | None = None,
        loader: Literal["auto", "processes", "threads"] = "auto",
        chunk_size: int = 4096,
    ) -> Iterator[EmbeddingBatch]:
        """Embed ``(key, data)`` items in batches, yielding results in input order.

        ``items`` may be a generator (e.g. over a queryset); it is consumed in
        chunks of ``chunk_size`` so bytes payloads never pile up in memory.

        ``loader``:
          * ``"processes"`` - DataLoader worker processes decode while the model
            runs. Best when the model runs on a GPU and the CPU cores are free.
          * ``"threads"`` - threads in this process (Pillow and ONNX Runtime
            release the GIL). On CPU with ONNX Runtime, ``min(num_workers,
            cores)`` lanes each decode a whole batch and run it through a
            single-threaded session (:meth:`_lane_batches`): measured on the
            2-core box, 117-120 images/s against 98-102 for the scheme below,
            which remains for the PyTorch runtime: threads decode up to
            ``CPU_PREFETCH`` batches ahead at the lowest priority (nice +19)
            while the model runs with all cores at normal priority: the model is
            never preempted by decoding (a preempted intra-op thread stalls its
            siblings at the next barrier) and the decoders run in the cycles the
            model leaves idle - between its parallel sections, and whenever it
            waits for input, when they have the cores to themselves. Measured
            with ONNX Runtime on the 2-core box: on a quiet machine it ties with
            decoding and computing in turn (99 vs 98 images/s) and beats overlap
            at equal priority (88); with other processes busy it keeps 53 where
            the phased loop drops to 32. Also works in daemonic processes
            (Celery prefork children), which may not start DataLoader workers.
          * ``"auto"`` - processes on CUDA (threads if daemonic), threads on CPU.
        """
        if batch_size is None:
            batch_size = default_batch_size(self.device)
        on_gpu = self.device.type == "cuda"
        if loader == "auto":
            loader = "processes" if on_gpu and not _in_daemon_process() else "threads"
        if num_workers is None:
            num_workers = _default_num_workers(loader, on_gpu)
        iterator = iter(items)
        while True:
            chunk = list(itertools.islice(iterator, chunk_size))
            if not chunk:
                return
            dataset = ImageItemsDataset(chunk, self.item_transform, self.draft_size)
            lanes = min(num_workers, _cores())
            if loader == "threads" and self._compiled is not None and lanes >= 2:
                yield from self._lane_batches(dataset, batch_size, lanes)
                continue
            if loader == "threads" or num_workers == 0:
                if on_gpu:
                    batches = _thread_batches(dataset, batch_size, num_workers, overlap=True)
                else:
                    batches = _thread_batches(
                        dataset,
                        batch_size,
                        num_workers,
                        overlap=CPU_OVERLAP,
                        prefetch=CPU_PREFETCH,
                        nice=CPU_DECODE_NICE,
                    )
            else:
                batches = iter(
                    DataLoader(
                        dataset,
                        batch_size=batch_size,
                        shuffle=False,
                        num_workers=num_workers,
                        collate_fn=collate_items,
                        worker_init_fn=_worker_init,
                        pin_memory=on_gpu,
                        prefetch_factor=2,
                        # fork: items may hold closures over storage clients, which
                        # spawn/forkserver (Python 3.14's default) cannot pickle.
                        multiprocessing_context=_FORK,
                    )
                )
            for keys, tensor, errors in batches:
                if tensor is None:
                    vectors = np.zeros((0, self.dim), dtype=np.float32)
                else:
                    vectors = self.embed_tensor(tensor)
                yield EmbeddingBatch(keys, vectors, errors)


    def lane_model(self) -> ExportedModel:
        """The single-threaded engine that :meth:`embed_stream` runs in each lane (CPU only)."""
        if self._compiled is None:
            raise ValueError(f"lanes need an exported CPU engine; this extractor runs {self.runtime} on {self.device}")
        if self._compiled_lane is None:
            self._compiled_lane = type(self._compiled)(
                self.model, self.data_config["input_size"], 1, cache_key=self._onnx_key
            )
        return self._compiled_lane

    def _lane_batches(self, dataset: ImageItemsDataset, batch_size: int, lanes: int) -> Iterator[EmbeddingBatch]:
        """CPU with ONNX Runtime: ``lanes`` threads each decode a batch and run it single-threaded.

        No thread ever waits for another inside a forward pass, and decoding
        needs no hand-over between threads, so both cores stay busy with useful
        work (bench/features.py: ~25% more images/s than decoding and running
        the model with all cores in turn). One session with one intra-op thread
        runs each call on its caller's thread; ONNX Runtime allows concurrent calls.
        """
        lane_model = self.lane_model()
        dim = self.dim
        fast = self.fast_transform

        def run(indices: range) -> EmbeddingBatch:
            keys, tensor, errors = collate_items([dataset[i] for i in indices])
            if tensor is None:
                return EmbeddingBatch(keys, np.zeros((0, dim), dtype=np.float32), errors)
            if tensor.dtype == torch.uint8 and fast is not None:
                tensor = fast.to_input(tensor)
            out = lane_model(tensor)
            vectors = F.normalize(out.float(), dim=1).numpy().astype(np.float32, copy=False)
            return EmbeddingBatch(keys, vectors, errors)

        batches = [range(i, min(i + batch_size, len(dataset))) for i in range(0, len(dataset), batch_size)]
        with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="embed") as pool:
            pending: collections.deque[Future] = collections.deque()
            for indices in batches:
                pending.append(pool.submit(run, indices))
                if len(pending) > lanes:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def _default_num_workers(loader: str, on_gpu: bool) -> int:
    """Threads: all cores (decode and model take turns). Processes: leave cores to the model on CPU."""
    cores = _cores()
    if loader == "threads":
        return cores
    return max(1, cores - 1) if on_gpu else max(1, cores // 2)


def _renice_current_thread(increment: int) -> None:
    """Lower this thread's scheduling priority (Linux: a thread id is a valid PRIO_PROCESS target)."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux, or not permitted
        pass


def _thread_batches(
    dataset: ImageItemsDataset,
    batch_size: int,
    num_workers: int,
    overlap: bool = False,
    prefetch: int = 1,
    nice: int = 0,
) -> Iterator[tuple[list[Hashable], torch.Tensor | None, dict[Hashable, str]]]:
    """Decode batches with a thread pool.

    Without ``overlap`` each batch is decoded while the caller waits (phased).
    With it, up to ``prefetch`` further batches decode while the caller
    computes; ``nice`` lowers the decode threads' priority so that they mostly
    run in the cycles the model leaves idle instead of preempting it.
    """
    batches = [range(i, min(i + batch_size, len(dataset))) for i in range(0, len(dataset), batch_size)]
    if num_workers == 0:
        for batch in batches:
            yield collate_items([dataset[i] for i in batch])
        return
    depth = 1 + (max(1, prefetch) if overlap else 0)
    initializer = functools.partial(_renice_current_thread, nice) if nice else None
    with ThreadPoolExecutor(max_workers=num_workers, thread_name_prefix="decode", initializer=initializer) as pool:
        pending: collections.deque[list[Future]] = collections.deque()
        for batch in batches:
            pending.append([pool.submit(dataset.__getitem__, i) for i in batch])
            if len(pending) >= depth:
                yield collate_items([f.result() for f in pending.popleft()])
        while pending:
            yield collate_items([f.result() for f in pending.popleft()])


# --------------------------------------------------------------------------- measuring


def measure_batch_throughput(
    extractor: Extractor,
    batch_sizes: Sequence[int] = (1, 4, 8, 16, 32, 64),
    seconds: float = 3.0,
    repeats: int = 3,
) -> dict[int, float]:
    """Images/s of the bare model per batch size, to choose ``DEFAULT_BATCH_SIZE`` by measurement.

    Uses the best of ``repeats`` timed passes per size because the dev box is
    shared and noisy; the best pass is the one least disturbed by neighbours.
    """
    size = extractor.data_config["input_size"]
    results: dict[int, float] = {}
    for batch_size in batch_sizes:
        batch = torch.randn(batch_size, *size)
        extractor.embed_tensor(batch)  # warm-up: oneDNN primitive creation
        best = 0.0
        for _ in range(repeats):
            done = 0
            start = time.perf_counter()
            while True:
                extractor.embed_tensor(batch)
                done += batch_size
                elapsed = time.perf_counter() - start
                if elapsed >= seconds / repeats:
                    break
            best = max(best, done / elapsed)
        results[batch_size] = best
    return results
