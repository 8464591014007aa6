"""The CPU training path: train the embedding layer and heads on cached backbone features.

Fine-tuning the whole backbone on a 2-core server takes many hours (issue #14:
20-85 s a step) and, cut short, made the embedding worse. The frozen backbone
already knows a lot about paintings; what it lacks is a projection that puts the
distinctions curators care about first. So this path:

1. runs the frozen backbone once per work through the fast CPU engine
   (:class:`analysis.extract.Extractor`: OpenVINO / ONNX Runtime) on several
   fixed views suited to paintings (the inference view, its mirror, a detail
   crop, the whole picture, corner crops) and caches the pooled features with the
   version of the backbone, pooling, preprocessing and views that made them. The
   default pooling is ``style`` (:func:`analysis.backbone.pool_features`): GeM of
   the last map plus channel mean/std of stages 2-6, computed in the model's own
   forward, so inference reads exactly what training read;
2. standardises those features with their training statistics (stored in the
   model) and trains ``MultiHeadClassifier``'s embedding layer and heads on them:
   cross-entropy heads plus a light instance-contrastive term (a work's other view
   is its positive), about two seconds an epoch;
3. returns a checkpoint in exactly :func:`analysis.training.fine_tune`'s format
   (frozen backbone weights + trained embedding/heads), so the extractor,
   feature versions, re-embedding and map rebuilds need no change.

Extraction is resumable: each work's views are stored as soon as they are made,
and a later run reads them back instead of recomputing. Cached features made by
another backbone, preprocessing or set of views are refused with
:class:`StaleFeatureCache` rather than silently mixed in.

One job per module: :mod:`~analysis.cached_training.features` makes and caches the
view features; :mod:`~analysis.cached_training.fitting` trains on them and returns the
checkpoint. The names below are the package's public surface.
"""

from analysis.cached_training.features import (
    CACHE_FORMAT,
    VIEWS,
    DirectoryCache,
    FeatureCache,
    StaleFeatureCache,
    cache_prefix,
    cache_version,
    extract_view_features,
    sample_id,
)
from analysis.cached_training.fitting import CachedTrainConfig, train_on_cached_features

__all__ = [
    "CACHE_FORMAT",
    "VIEWS",
    "CachedTrainConfig",
    "DirectoryCache",
    "FeatureCache",
    "StaleFeatureCache",
    "cache_prefix",
    "cache_version",
    "extract_view_features",
    "sample_id",
    "train_on_cached_features",
]
