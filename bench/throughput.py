"""Images/s of an extractor's bare model per batch size: how ``DEFAULT_BATCH_SIZE`` was chosen.

Benchmark-only, so it lives with the benches (bench/features.py runs it) rather than in the product.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch

from analysis.extract import Extractor


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
