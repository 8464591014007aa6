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

One job per module:

* :mod:`~analysis.extract.decode` - :func:`decode_image` (draft decoding) and
  :class:`FastEvalTransform` (uint8 resize and crop per image, normalisation per batch);
* :mod:`~analysis.extract.inputs` - :class:`PreparedInput`, the stored model input;
* :mod:`~analysis.extract.batches` - :class:`ImageItemsDataset` and the decode thread pool;
* :mod:`~analysis.extract.engines` - the eager module and the exported OpenVINO / ONNX Runtime engines;
* :mod:`~analysis.extract.extractor` - :class:`Extractor`, which ties them together.

The names below are the package's public surface (the worker, the training code, the
benches and the tests use them); anything else is reached through its module.
"""

from analysis.extract.batches import ImageItemsDataset, collate_items
from analysis.extract.decode import FastEvalTransform, Item, decode_image, draft_size_for
from analysis.extract.engines import PooledFeatures
from analysis.extract.extractor import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CUDA_BATCH_SIZE,
    EmbeddingBatch,
    Extractor,
    default_batch_size,
    feature_version_string,
)
from analysis.extract.inputs import PreparedInput, decode_input, encode_input, prepared_tensor

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CUDA_BATCH_SIZE",
    "EmbeddingBatch",
    "Extractor",
    "FastEvalTransform",
    "ImageItemsDataset",
    "Item",
    "PooledFeatures",
    "PreparedInput",
    "collate_items",
    "decode_image",
    "decode_input",
    "default_batch_size",
    "draft_size_for",
    "encode_input",
    "feature_version_string",
    "prepared_tensor",
]
