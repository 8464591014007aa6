"""Does training make the map's neighbourhoods agree with curators' labels?

Usage:
    python bench/feature_quality.py [--labelled PATH] [--field style] [--k 10]
        [--path cpu|gpu|both] [--views 4] [--epochs N] [--feature-cache DIR] [--no-map]
        [--img-size 160] [--freeze-stages 2]          (gpu path only)

PATH is a folder-per-class image set or a labels CSV (see analysis.training);
without it a procedural set is generated. The set is split (seeded, stratified)
exactly as both training paths split it; the trained models only ever see the
training part. Prints, for (a) the pretrained backbone, (b) the CPU path
(embedding layer on cached multi-view features, style statistics by default,
analysis.cached_training) and
(c) the full fine-tune (GPU path; "unmeasured" without a GPU unless
``--path gpu``/``both`` forces it): held-out k-NN (cosine) label accuracy and a
linear probe (logistic regression on the training part, accuracy on the held-out
part); then the 2-D map (openTSNE, as a map build runs it) of every work: kNN
label accuracy, trustworthiness and kNN recall (maps.metrics). Training
times include feature caching (a fresh cache folder unless ``--feature-cache``
names one already filled), with process CPU time and the load average, since
wall time on a shared machine says little.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.backbone import BackboneSpec
from analysis.cached_training import CachedTrainConfig, DirectoryCache, train_on_cached_features
from analysis.extract import Extractor
from analysis.training import (
    Sample,
    TrainConfig,
    fine_tune,
    knn_label_accuracy,
    load_labelled_set,
    split_samples,
)
from tests.analysis.procedural import generate_procedural_set


def embed_all(extractor: Extractor, samples: list[Sample]) -> np.ndarray:
    vectors = np.zeros((len(samples), extractor.dim), np.float32)
    items = [(i, s.image) for i, s in enumerate(samples)]
    for batch in extractor.embed_stream(items):
        for key, message in batch.errors.items():
            print(f"  unreadable: {samples[key].key}: {message}")
        vectors[batch.keys] = batch.vectors
    return vectors


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Clock:
    """Wall and process CPU time of a block, with the load average at its end (the box is shared)."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), _cpu_s()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = _cpu_s() - self.cpu
        self.load = os.getloadavg()

    def __str__(self) -> str:
        return f"wall {self.wall:.0f} s, CPU {self.cpu:.0f} s, load avg {self.load[0]:.1f}/{self.load[1]:.1f}/{self.load[2]:.1f}"


def linear_probe(vectors: np.ndarray, labels: list[str], train: list[int], val: list[int]) -> float:
    """Logistic regression on the training part, accuracy on the held-out part: what a linear readout finds."""
    from sklearn.linear_model import LogisticRegression

    probe = LogisticRegression(max_iter=3000, C=1.0)
    probe.fit(vectors[train], [labels[i] for i in train])
    return float(probe.score(vectors[val], [labels[i] for i in val]))


def map_figures(vectors: np.ndarray, labels: list[str], k: int) -> dict[str, float]:
    """The 2-D map a build would draw from these vectors, and its quality."""
    from maps.metrics import map_quality
    from maps.tsne import TSNEParams, build_tsne

    coords = build_tsne(vectors, TSNEParams()).coords
    return map_quality(vectors, coords, labels, k=k)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelled", type=Path, default=None)
    parser.add_argument("--field", default="style", help="single-label field scored by k-NN")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--path", choices=("cpu", "gpu", "both"), default=None, help="default: cpu, plus gpu on a GPU")
    parser.add_argument("--views", type=int, default=CachedTrainConfig.views, help="cpu path: views per work")
    parser.add_argument("--epochs", type=int, default=None, help="default: each path's own")
    parser.add_argument("--feature-cache", type=Path, default=None, help="cpu path: cache folder (default: fresh)")
    parser.add_argument("--no-map", action="store_true", help="skip the 2-D map figures")
    parser.add_argument("--img-size", type=int, default=None, help="gpu path: input size (default: timm's)")
    parser.add_argument("--freeze-stages", type=int, default=2, help="gpu path")
    parser.add_argument("--per-class", type=int, default=80, help="procedural set size per class")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="  %(message)s")
    import torch

    paths = {"cpu": ["cpu"], "gpu": ["gpu"], "both": ["cpu", "gpu"]}.get(
        args.path or "", ["cpu", "gpu"] if torch.cuda.is_available() else ["cpu"]
    )

    if args.labelled is None:
        root = Path(tempfile.mkdtemp(prefix="feature-quality-"))
        generate_procedural_set(root, per_class=args.per_class, size=192, seed=args.seed)
        args.labelled = root
        print(f"generated procedural set in {root}")
    samples = load_labelled_set(args.labelled, field=args.field)
    train, val = split_samples(samples, 0.2, args.seed, args.field)
    labels = [str(s.labels.get(args.field)) for s in samples]
    print(
        f"{len(samples)} images, {len(set(labels))} classes of {args.field!r}; {len(train)} train / {len(val)} held out"
        f" (seed {args.seed}); {os.cpu_count()} CPUs"
    )

    def score(vectors: np.ndarray) -> float:
        return knn_label_accuracy(
            vectors[train], [labels[i] for i in train], vectors[val], [labels[i] for i in val], k=args.k
        )

    results: dict[str, float] = {}
    vectors: dict[str, np.ndarray] = {}
    with Clock() as clock:
        pretrained = Extractor.from_backbone(BackboneSpec())
        vectors["a"] = embed_all(pretrained, samples)
    results["pretrained_knn"] = score(vectors["a"])
    results["pretrained_probe"] = linear_probe(vectors["a"], labels, train, val)
    print(
        f"(a) pretrained {pretrained.feature_version} ({pretrained.dim}-d): kNN@{args.k} {results['pretrained_knn']:.3f},"
        f" linear probe {results['pretrained_probe']:.3f}  [embedding: {clock}]"
    )

    if "cpu" in paths:
        cache_dir = args.feature_cache or Path(tempfile.mkdtemp(prefix="feature-cache-"))
        options = {"views": args.views, "seed": args.seed, **({"epochs": args.epochs} if args.epochs else {})}
        with Clock() as train_clock:
            checkpoint = train_on_cached_features(
                samples, config=CachedTrainConfig(**options), cache=DirectoryCache(cache_dir)
            )
        report = checkpoint["params"]["feature_cache"]
        cpu_model = Extractor.from_checkpoint(checkpoint)
        vectors["b"] = embed_all(cpu_model, samples)
        results["cpu_knn"] = score(vectors["b"])
        results["cpu_probe"] = linear_probe(vectors["b"], labels, train, val)
        results["cpu_train_wall_s"] = train_clock.wall
        results["cpu_train_cpu_s"] = train_clock.cpu
        print(
            f"(b) cpu path {cpu_model.feature_version} ({cpu_model.dim}-d, {args.views} views, "
            f"{checkpoint['pooling']} pooling, {checkpoint['backbone_dim']}-d features): "
            f"kNN@{args.k} {results['cpu_knn']:.3f} ({results['cpu_knn'] - results['pretrained_knn']:+.3f}), "
            f"linear probe {results['cpu_probe']:.3f} ({results['cpu_probe'] - results['pretrained_probe']:+.3f})"
        )
        print(
            f"    training incl. feature caching: {train_clock}; of which caching {report['seconds']:.0f} s wall "
            f"({report['made']} works made, {report['from_cache']} read from {cache_dir})"
        )
        for name, m in checkpoint["metrics"].items():
            print(f"    head {name}: held-out {m['metric']} {m['value']:.3f} (n={m['n']})")

    if "gpu" in paths:
        config = TrainConfig(
            img_size=args.img_size,
            freeze_stages=args.freeze_stages,
            seed=args.seed,
            **({"epochs": args.epochs} if args.epochs else {}),
        )
        with Clock() as gpu_clock:
            checkpoint = fine_tune(samples, config=config)
        finetuned = Extractor.from_checkpoint(checkpoint)
        vectors["c"] = embed_all(finetuned, samples)
        results["gpu_knn"] = score(vectors["c"])
        results["gpu_probe"] = linear_probe(vectors["c"], labels, train, val)
        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
        print(
            f"(c) full fine-tune on {device}: kNN@{args.k} {results['gpu_knn']:.3f}, linear probe "
            f"{results['gpu_probe']:.3f}  [training: {gpu_clock}]"
        )
    else:
        print("(c) full fine-tune (gpu path): unmeasured - no GPU here (--path gpu forces it on the CPU: hours)")

    if not args.no_map:
        for name in ("a", "b"):
            if name not in vectors:
                continue
            with Clock() as map_clock:
                q = map_figures(vectors[name], labels, args.k)
            results[f"{name}_map_knn"] = q["knn_accuracy"]
            print(
                f"map ({name}): kNN accuracy {q['knn_accuracy']:.3f}, trustworthiness {q['trustworthiness']:.3f}, "
                f"recall@{args.k} {q['knn_recall']:.3f}  [openTSNE + metrics: {map_clock}]"
            )
    return results


if __name__ == "__main__":
    main()
