"""Time and memory of a full map build (openTSNE + parametric net) for N works.

Usage:
    python bench/map_scale.py [N] [--dim 256] [--n-jobs 2] [--tsne-iter 500] [--placements 50] [--quality] [--python-heap]

Builds the map the way the real build does - openTSNE first, then the
parametric network warm-started from it and fine-tuned on the same sparse P -
on synthetic clustered features, and reports wall time per stage, the time
to place one new work as the platform does (forward pass refined against the
fitted works; with ``--quality`` also its held-out recall against openTSNE's
``transform``) and peak memory (process max RSS; with ``--python-heap`` also the Python-heap peak from
tracemalloc, which does not see native buffers allocated outside Python's
allocator and slows the build down about threefold: 644 s of openTSNE at
100,000 works with it, ~215 s without).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from maps.metrics import (
    map_quality,
    placement_quality,
)
from maps.parametric import ParametricConfig, ParametricTSNE
from maps.placement import PlacementParams, Placer, Reference, choose_layout
from maps.tsne import TSNEParams, build_tsne
from tests.maps.synthetic import clustered_embeddings


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _cpu_s() -> float:
    """CPU seconds used so far (all threads): on a shared machine wall time overstates."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, nargs="?", default=100_000)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--clusters", type=int, default=30)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--tsne-iter", type=int, default=500, help="openTSNE iterations after exaggeration")
    ap.add_argument("--placements", type=int, default=50, help="new works placed one at a time after the build")
    ap.add_argument("--quality", action="store_true", help="also estimate map quality (sampled)")
    ap.add_argument("--python-heap", action="store_true", help="also trace the Python-heap peak (slows the build ~3x)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--parametric",
        type=json.loads,
        default={},
        metavar="JSON",
        help="ParametricConfig overrides, e.g. '{\"local_weight\": 0}' for the absolute-error-only warm start",
    )
    args = ap.parse_args(argv)

    if args.python_heap:
        tracemalloc.start()
    t0 = time.perf_counter()
    X, labels = clustered_embeddings(args.n + args.placements, args.dim, args.clusters, seed=args.seed)
    X, X_new, labels = X[: args.n], X[args.n :], labels[: args.n]
    t_gen = time.perf_counter() - t0
    print(f"N={args.n} d={args.dim}: generated in {t_gen:.1f} s, RSS {_rss_mb():.0f} MB", flush=True)

    t0, c0 = time.perf_counter(), _cpu_s()
    tsne_map = build_tsne(X, TSNEParams(n_jobs=args.n_jobs, n_iter=args.tsne_iter, seed=args.seed))
    t_tsne, c_tsne = time.perf_counter() - t0, _cpu_s() - c0
    print(
        f"openTSNE    {t_tsne:7.1f} s  (CPU {c_tsne:.1f} s)  KL {tsne_map.kl_divergence:.3f}  RSS {_rss_mb():.0f} MB",
        flush=True,
    )

    t0, c0 = time.perf_counter(), _cpu_s()
    net = ParametricTSNE.fit(
        X,
        feature_version="bench",
        init_coords=tsne_map.raw_coords,
        affinities=tsne_map.affinities,
        # the build's own default threads (one: small batches on shared cores; see maps/parametric.py)
        config=ParametricConfig.from_dict({"seed": args.seed, **args.parametric}),
        normalisation=tsne_map.normalisation,  # drawn in openTSNE's frame, as a build does
    )
    t_param, c_param = time.perf_counter() - t0, _cpu_s() - c0
    print(
        f"parametric  {t_param:7.1f} s  (CPU {c_param:.1f} s)  KL est. {net.loss_history[0]:.3f} -> {net.loss_history[-1]:.3f}"
        f"  RSS {_rss_mb():.0f} MB",
        flush=True,
    )

    t0, c0 = time.perf_counter(), _cpu_s()
    coords = net.transform(X)
    blob = net.to_bytes()
    t_place, c_place = time.perf_counter() - t0, _cpu_s() - c0
    _, py_peak = tracemalloc.get_traced_memory() if args.python_heap else (0, 0)
    total = t_tsne + t_param + t_place
    print(f"place all   {t_place:7.1f} s  checkpoint {len(blob) / 1024:.0f} KiB")
    cpu = c_tsne + c_param + c_place
    print(f"total build {total:7.1f} s  ({total / 60:.1f} min wall; CPU {cpu:.1f} s = {cpu / 60:.1f} min)")
    heap = f"   python-heap peak (tracemalloc) {py_peak / 2**20:.0f} MB" if args.python_heap else ""
    print(f"peak RSS    {_rss_mb():7.0f} MB{heap}")

    layout = "opentsne"
    if args.quality:
        recall = {}
        for name, c in (("opentsne", tsne_map.coords), ("parametric", coords)):
            q = map_quality(X, c, labels, max_queries=2000, seed=args.seed)
            recall[name] = q["knn_recall"]
            print(
                f"{name:<11} trust {q['trustworthiness']:.4f}  recall@10 {q['knn_recall']:.4f}"
                f"  kNN acc {q['knn_accuracy']:.4f}  (on {int(q['n_evaluated'])} sampled works)"
            )
        layout = choose_layout("auto", recall)
        print(
            f"recall ratio {recall['parametric'] / recall['opentsne']:.3f}: a build's \"auto\" layout shows {layout}'s map"
        )

    if args.placements:
        shown = coords if layout == "parametric" else tsne_map.coords
        t0 = time.perf_counter()
        placer = Placer(
            net, Reference(X, net.normalisation.invert(shown)), PlacementParams(perplexity=TSNEParams().perplexity)
        )
        t_ref = time.perf_counter() - t0
        times, placed = [], []
        for row in X_new:
            start = time.perf_counter()
            placed.append(placer.place(row[None, :])[0])
            times.append((time.perf_counter() - start) * 1000.0)
        print(
            f"place 1 new work {statistics.median(times):6.2f} ms median of {len(times)} (p90 "
            f"{np.percentile(times, 90):.2f} ms; forward pass + refinement on the {layout} layout; "
            f"reference set-up once per map {t_ref:.2f} s)  RSS {_rss_mb():.0f} MB"
        )
        if args.quality:
            theirs = tsne_map.transform(X_new)
            for name, new_coords in (("openTSNE transform", theirs), ("platform placement", np.array(placed))):
                q = placement_quality(X, shown if name[0] == "p" else tsne_map.coords, X_new, new_coords)
                print(f"held-out {name:<19} trust {q['trustworthiness']:.4f}  recall@10 {q['knn_recall']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
