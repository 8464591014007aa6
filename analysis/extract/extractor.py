"""The extractor: a feature model plus its preprocessing, with batched, overlapped embedding."""

from __future__ import annotations

import collections
import copy
import itertools
import logging
import multiprocessing
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import nn
from torch.utils.data import DataLoader

from analysis.backbone import (
    BackboneSpec,
    configure_torch_threads,
    fuse_batchnorm_for_inference,
    load_backbone,
    pooling_dim,
)
from analysis.extract.batches import (
    ImageItemsDataset,
    _cores,
    _default_num_workers,
    _thread_batches,
    _worker_init,
    collate_items,
)
from analysis.extract.decode import FastEvalTransform, Item, decode_image, draft_size_for
from analysis.extract.engines import ENGINES, ExportedModel, PooledFeatures, Runtime, _Embedder, _engine_available
from analysis.extract.inputs import PreparedInput, prepared_tensor

logger = logging.getLogger(__name__)

# Chosen by bench/throughput.py (measure_batch_throughput) on the 2-core dev/CI box (AMD EPYC (Zen 3),
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
# under fp16 autocast, to be re-measured with bench/throughput.py on the worker.
DEFAULT_CUDA_BATCH_SIZE = 64


# How decode threads share the CPU with the model (see Extractor.embed_stream): they
# decode up to CPU_PREFETCH batches ahead at CPU_DECODE_NICE lower priority.
CPU_OVERLAP = True
CPU_PREFETCH = 2
CPU_DECODE_NICE = 19


def default_batch_size(device: torch.device | str) -> int:
    """Batch size for ``device``: CPUs favour small batches (cache), GPUs large ones."""
    return DEFAULT_CUDA_BATCH_SIZE if torch.device(device).type == "cuda" else DEFAULT_BATCH_SIZE


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
                logger.warning(
                    "neither openvino nor onnxruntime is installed: "
                    "CPU feature extraction runs in PyTorch, ~1.5-1.8x slower"
                )
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
            # Module.to accepts memory_format (documented); torch's stubs only list device/dtype/tensor.
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
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
    ) -> Extractor:
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
    def from_checkpoint(cls, checkpoint: Any, device: str | torch.device | None = None, **kwargs: Any) -> Extractor:
        """Fine-tuned embedding layer from a :func:`analysis.training.fine_tune` checkpoint.

        ``checkpoint`` is anything :func:`analysis.training.load_checkpoint` accepts
        (dict, bytes, path); incompatible checkpoints raise ``IncompatibleCheckpoint``.
        """
        from analysis.backbone import make_eval_transform
        from analysis.training import load_checkpoint

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
            batches = self._decoded_batches(dataset, batch_size, num_workers, loader)
            for keys, tensor, errors in batches:
                if tensor is None:
                    vectors = np.zeros((0, self.dim), dtype=np.float32)
                else:
                    vectors = self.embed_tensor(tensor)
                yield EmbeddingBatch(keys, vectors, errors)

    def _decoded_batches(
        self, dataset: ImageItemsDataset, batch_size: int, num_workers: int, loader: str
    ) -> Iterator[tuple[list[Hashable], torch.Tensor | None, dict[Hashable, str]]]:
        """Decoded batches for the model to run in this thread: from decode threads or DataLoader workers."""
        on_gpu = self.device.type == "cuda"
        if loader == "threads" or num_workers == 0:
            if on_gpu:
                return _thread_batches(dataset, batch_size, num_workers, overlap=True)
            return _thread_batches(
                dataset,
                batch_size,
                num_workers,
                overlap=CPU_OVERLAP,
                prefetch=CPU_PREFETCH,
                nice=CPU_DECODE_NICE,
            )
        return iter(
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
