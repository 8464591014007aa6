"""Held-out style kNN accuracy of an extractor on a labelled set: the measure both training paths are judged by."""

from __future__ import annotations

import numpy as np

from analysis.extract import Extractor
from analysis.training import Sample, knn_label_accuracy, split_samples


def heldout_knn(extractor: Extractor, samples: list[Sample], val_fraction: float, seed: int) -> float:
    train, val = split_samples(samples, val_fraction, seed, "style")
    vectors = np.zeros((len(samples), extractor.dim), np.float32)
    for batch in extractor.embed_stream([(i, s.image) for i, s in enumerate(samples)], num_workers=1):
        assert not batch.errors
        vectors[batch.keys] = batch.vectors
    labels = [s.labels["style"] for s in samples]
    return knn_label_accuracy(vectors[train], [labels[i] for i in train], vectors[val], [labels[i] for i in val], k=10)
