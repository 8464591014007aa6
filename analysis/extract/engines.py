"""The three ways a feature network runs: eager PyTorch modules, and the same graph exported to
ONNX and run by OpenVINO or ONNX Runtime on CPU.
"""

from __future__ import annotations

import functools
import io
import queue
import warnings
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from analysis.training import MultiHeadClassifier

from analysis.backbone import (
    pool_features,
)

Runtime = Literal["auto", "torch", "onnxruntime", "openvino"]


class PooledFeatures(nn.Module):
    """Pretrained backbone -> pooled features: ``avg`` pre-logits (1280-d for lite0) or ``style`` statistics.

    The same :func:`analysis.backbone.pool_features` the trained model runs, so
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

    def __init__(self, model: MultiHeadClassifier) -> None:
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
            buf,  # type: ignore[arg-type]  # a file-like object is documented; the stubs name only paths
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


# CPU engines for the exported graph, in order of preference for runtime="auto".
ENGINES: dict[str, type[ExportedModel]] = {"openvino": OpenVinoModel, "onnxruntime": OnnxRuntimeModel}
