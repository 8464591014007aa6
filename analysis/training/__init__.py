"""Fine-tuning a multi-head classifier whose penultimate layer becomes the collection embedding.

Curators label a few fields (``style``: one class per work; ``motifs``: any number
of tags). Training one head per field on top of a shared embedding layer makes
that embedding reflect the distinctions curators care about, which is what the
similarity map and search then use. Everything here is storage-agnostic: samples
carry a path or a callable returning image bytes / a PIL image, so the Django
layer decides where images come from.

Architecture (all dims for the default lite0 backbone)::

    image -> timm backbone, pooled: ``avg`` pre-logits (1280) or ``style`` statistics (2768,
             see analysis.backbone.pool_features)
          -> embedding: Standardize -> Linear(d, 256) -> LayerNorm -> GELU   (256-d, the vector we store)
          -> dropout -> one Linear head per field

``Standardize`` is the identity for the full fine-tune; the CPU path sets it to
the per-dimension mean and deviation of its cached training features, because
the style statistics of different stages differ in scale by orders of magnitude.

Metrics per head on the held-out split: single-label -> top-1 accuracy;
multi-label -> micro-F1 at threshold 0.5 (reported as ``value``) and macro mean
average precision (``map``) for information.

One job per module:

* :mod:`~analysis.training.labels` - samples, reading labelled sets, the label check and the split;
* :mod:`~analysis.training.model` - :class:`MultiHeadClassifier`, its losses and metrics;
* :mod:`~analysis.training.fine_tuning` - :func:`fine_tune` as named steps;
* :mod:`~analysis.training.checkpoints` - the checkpoint format and :func:`load_checkpoint`.

The names below are the package's public surface; anything else is reached through its module.
"""

from analysis.training.checkpoints import (
    FORMAT_VERSION,
    IncompatibleCheckpoint,
    LoadedCheckpoint,
    checkpoint_from_bytes,
    checkpoint_to_bytes,
    load_checkpoint,
)
from analysis.training.fine_tuning import TrainConfig, fine_tune
from analysis.training.labels import (
    IMAGE_EXTENSIONS,
    EpochCallback,
    LabelCheck,
    LabelField,
    ProgressCallback,
    Sample,
    infer_kinds,
    load_image_folder,
    load_labelled_csv,
    load_labelled_set,
    min_labels_ok,
    split_samples,
)
from analysis.training.model import MultiHeadClassifier, Standardize, knn_label_accuracy

__all__ = [
    "FORMAT_VERSION",
    "EpochCallback",
    "IMAGE_EXTENSIONS",
    "IncompatibleCheckpoint",
    "LabelCheck",
    "LabelField",
    "LoadedCheckpoint",
    "MultiHeadClassifier",
    "ProgressCallback",
    "Sample",
    "Standardize",
    "TrainConfig",
    "checkpoint_from_bytes",
    "checkpoint_to_bytes",
    "fine_tune",
    "infer_kinds",
    "knn_label_accuracy",
    "load_checkpoint",
    "load_image_folder",
    "load_labelled_csv",
    "load_labelled_set",
    "min_labels_ok",
    "split_samples",
]
