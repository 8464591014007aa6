"""Does fine-tuning make the map's neighbourhoods agree with curators' labels?

Usage:
    python bench/feature_quality.py [--labelled PATH] [--field style] [--epochs 6]
                                    [--img-size 160] [--k 10] [--freeze-stages 2]

PATH is a folder-per-class image set or a labels CSV (see mlserver.training);
without it a procedural set is generated. The set is split (seeded, stratified)
exactly as fine_tune splits it; the fine-tuned model only ever sees the training
part. Prints held-out k-NN (cosine) label accuracy of pretrained backbone features
(1280-d) against the fine-tuned embedding (256-d), plus the classifier's own
held-out metrics.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlserver.backbone import BackboneSpec  # noqa: E402
from mlserver.extract import Extractor  # noqa: E402
from mlserver.procedural import generate_procedural_set  # noqa: E402
from mlserver.training import (  # noqa: E402
    Sample,
    TrainConfig,
    fine_tune,
    knn_label_accuracy,
    load_labelled_set,
    split_samples,
)


def embed_all(extractor: Extractor, samples: list[Sample]) -> np.ndarray:
    vectors = np.zeros((len(samples), extractor.dim), np.float32)
    items = [(i, s.image) for i, s in enumerate(samples)]
    for batch in extractor.embed_stream(items):
        for key, message in batch.errors.items():
            print(f"  unreadable: {samples[key].key}: {message}")
        vectors[batch.keys] = batch.vectors
    return vectors


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelled", type=Path, default=None)
    parser.add_argument("--field", default="style", help="single-label field scored by k-NN")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--img-size", type=int, default=None, help="input size for both models (default: timm's)")
    parser.add_argument("--freeze-stages", type=int, default=2)
    parser.add_argument("--per-class", type=int, default=80, help="procedural set size per class")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="  %(message)s")

    if args.labelled is None:
        root = Path(tempfile.mkdtemp(prefix="feature-quality-"))
        generate_procedural_set(root, per_class=args.per_class, size=192, seed=args.seed)
        args.labelled = root
        print(f"generated procedural set in {root}")
    samples = load_labelled_set(args.labelled, field=args.field)
    config = TrainConfig(epochs=args.epochs, img_size=args.img_size, freeze_stages=args.freeze_stages, seed=args.seed)
    train, val = split_samples(samples, config.val_fraction, config.seed, args.field)
    labels = [str(s.labels.get(args.field)) for s in samples]
    print(
        f"{len(samples)} images, {len(set(labels))} classes of {args.field!r}; {len(train)} train / {len(val)} held out"
    )

    def score(vectors: np.ndarray) -> float:
        return knn_label_accuracy(
            vectors[train], [labels[i] for i in train], vectors[val], [labels[i] for i in val], k=args.k
        )

    start = time.perf_counter()
    pretrained = Extractor.from_backbone(BackboneSpec(img_size=args.img_size))
    pre_acc = score(embed_all(pretrained, samples))
    print(
        f"pretrained  {pretrained.feature_version} ({pretrained.dim}-d): "
        f"kNN(k={args.k}) accuracy {pre_acc:.3f}  [{time.perf_counter() - start:.0f} s]"
    )

    start = time.perf_counter()
    checkpoint = fine_tune(samples, config=config)
    finetuned = Extractor.from_checkpoint(checkpoint)
    ft_acc = score(embed_all(finetuned, samples))
    print(
        f"fine-tuned  {finetuned.feature_version} ({finetuned.dim}-d): "
        f"kNN(k={args.k}) accuracy {ft_acc:.3f}  [{time.perf_counter() - start:.0f} s incl. training]"
    )
    for name, m in checkpoint["metrics"].items():
        extra = f", mAP {m['map']:.3f}" if "map" in m else ""
        print(f"  head {name}: held-out {m['metric']} {m['value']:.3f}{extra} (n={m['n']})")
    print(f"  {checkpoint['params']['stop_reason']}, best epoch {checkpoint['params']['best_epoch']}")
    print(f"change: {ft_acc - pre_acc:+.3f}")
    return {"pretrained": pre_acc, "finetuned": ft_acc}


if __name__ == "__main__":
    main()
