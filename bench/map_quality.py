"""openTSNE vs parametric t-SNE: fit time, placement time and map quality.

Usage:
    python bench/map_quality.py [--n 5000] [--dim 128] [--clusters 12] [--holdout 0.1]
    python bench/map_quality.py --features feats.npy [--labels labels.npy]

Works are split into fitted and held-out; both methods fit on the same works,
then place the held-out ones: openTSNE's ``transform``, the network's forward
pass alone, and the platform's placement (the forward pass refined against the
fixed fitted works, maps/placement.py) on the layout a build would show.
Aims: parametric within 5% of openTSNE on fitted works, at least as good on
held-out works, placing one work in under 20 ms.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from maps.metrics import map_quality, placement_quality
from maps.parametric import ParametricConfig, ParametricTSNE
from maps.placement import PlacementParams, Placer, Reference, choose_layout
from maps.tsne import TSNEParams, build_tsne
from tests.maps.synthetic import clustered_embeddings

METRICS = ("trustworthiness", "knn_recall", "knn_accuracy")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _median_ms(fn, rows: np.ndarray) -> float:
    times = []
    for row in rows:
        start = time.perf_counter()
        fn(row[None, :])
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def _print_table(title: str, a: dict[str, float], b: dict[str, float]) -> None:
    print(f"\n{title}")
    print(f"  {'metric':<16}{'openTSNE':>10}{'parametric':>12}{'ratio p/o':>11}")
    for m in METRICS:
        if m in a and m in b:
            ratio = b[m] / a[m] if a[m] else float("nan")
            print(f"  {m:<16}{a[m]:>10.4f}{b[m]:>12.4f}{ratio:>11.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features", type=Path, help=".npy (n x d) feature matrix")
    ap.add_argument("--labels", type=Path, help=".npy (n,) labels for kNN accuracy")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--clusters", type=int, default=12)
    ap.add_argument("--holdout", type=float, default=0.1)
    ap.add_argument("--placements", type=int, default=200, help="single placements to time")
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--parametric",
        type=json.loads,
        default={},
        metavar="JSON",
        help="ParametricConfig overrides, e.g. '{\"local_weight\": 0}' for the absolute-error-only warm start",
    )
    args = ap.parse_args(argv)

    if args.features:
        X = np.load(args.features).astype(np.float32)
        X /= np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        labels = np.load(args.labels) if args.labels else None
        source = str(args.features)
    else:
        X, labels = clustered_embeddings(args.n, args.dim, args.clusters, seed=args.seed)
        source = f"synthetic n={args.n} d={args.dim} clusters={args.clusters}"
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(X))
    n_hold = max(1, int(round(args.holdout * len(X))))
    fit_idx, hold_idx = np.sort(order[n_hold:]), np.sort(order[:n_hold])
    X_fit, X_new = X[fit_idx], X[hold_idx]
    y_fit = labels[fit_idx] if labels is not None else None
    y_new = labels[hold_idx] if labels is not None else None
    print(f"data: {source}; fitted {len(X_fit)}, held out {len(X_new)}")

    t0, c0 = time.perf_counter(), _cpu_s()
    tsne_map = build_tsne(X_fit, TSNEParams(n_jobs=args.n_jobs, seed=args.seed))
    t_tsne, c_tsne = time.perf_counter() - t0, _cpu_s() - c0

    t0, c0 = time.perf_counter(), _cpu_s()
    net = ParametricTSNE.fit(
        X_fit,
        feature_version="bench",
        init_coords=tsne_map.raw_coords,
        affinities=tsne_map.affinities,
        # the build's own default threads (one: small batches on shared cores; see maps/parametric.py)
        config=ParametricConfig.from_dict({"seed": args.seed, **args.parametric}),
        normalisation=tsne_map.normalisation,  # drawn in openTSNE's frame, as a build does
    )
    t_param, c_param = time.perf_counter() - t0, _cpu_s() - c0
    net_coords = net.transform(X_fit)

    t0 = time.perf_counter()
    tsne_new = tsne_map.transform(X_new)
    t_tsne_batch = time.perf_counter() - t0
    net_new = net.transform(X_new)

    fit_o = map_quality(X_fit, tsne_map.coords, y_fit, seed=args.seed)
    fit_p = map_quality(X_fit, net_coords, y_fit, seed=args.seed)
    layout = choose_layout("auto", {"parametric": fit_p["knn_recall"], "opentsne": fit_o["knn_recall"]})
    shown = net_coords if layout == "parametric" else tsne_map.coords
    placement = PlacementParams(perplexity=TSNEParams().perplexity)  # a build's default: the map's own
    t0 = time.perf_counter()
    place = Placer(net, Reference(X_fit, net.normalisation.invert(shown)), placement).place
    t_reference = time.perf_counter() - t0

    t0 = time.perf_counter()
    placed_new = place(X_new)
    t_place_batch = time.perf_counter() - t0

    rows = X_new[: args.placements]
    ms_tsne = _median_ms(tsne_map.transform, rows[: max(1, min(len(rows), 50))])
    ms_net = _median_ms(net.transform, rows)
    ms_place = _median_ms(place, rows)

    new_o = placement_quality(X_fit, tsne_map.coords, X_new, tsne_new, fitted_labels=y_fit, new_labels=y_new)
    new_p = placement_quality(X_fit, net_coords, X_new, net_new, fitted_labels=y_fit, new_labels=y_new)
    new_r = placement_quality(X_fit, shown, X_new, placed_new, fitted_labels=y_fit, new_labels=y_new)
    # transform at the perplexity the platform's placement uses, for a like-for-like reading
    tsne_new_30 = tsne_map.transform(X_new, perplexity=placement.perplexity)
    new_o30 = placement_quality(X_fit, tsne_map.coords, X_new, tsne_new_30, fitted_labels=y_fit, new_labels=y_new)

    print("\ntimes")
    print(f"  openTSNE fit            {t_tsne:8.2f} s   (CPU {c_tsne:.1f} s; KL {tsne_map.kl_divergence:.3f})")
    print(
        f"  parametric fit          {t_param:8.2f} s   (CPU {c_param:.1f} s; on top of openTSNE; KL est. "
        f"{net.loss_history[0]:.3f} -> {net.loss_history[-1]:.3f})"
    )
    print(f"  openTSNE place 1 work   {ms_tsne:8.2f} ms  (median; batch of {len(X_new)}: {t_tsne_batch:.2f} s)")
    print(f"  network forward pass    {ms_net:8.3f} ms  (median of {len(rows)})")
    print(
        f"  platform place 1 work   {ms_place:8.2f} ms  (median of {len(rows)}: forward pass + refinement; "
        f"batch of {len(X_new)}: {t_place_batch:.2f} s; reference set-up once per map {t_reference * 1000:.0f} ms)"
    )
    print(f"  placement speed-up      {ms_tsne / ms_place:8.1f} x  (platform vs openTSNE)")
    if fit_o["subsampled"]:
        print(f"  (fitted-map metrics estimated on {int(fit_o['n_evaluated'])} sampled query works)")
    _print_table("fitted works", fit_o, fit_p)
    print(
        f"\na build's auto layout shows {'the network' if layout == 'parametric' else 'openTSNE'}'s map "
        f"(recall ratio {fit_p['knn_recall'] / fit_o['knn_recall']:.3f})"
    )
    _print_table("held-out works, network forward pass alone (on the network's map)", new_o, new_p)
    _print_table(f"held-out works, platform placement (on the {layout} layout)", new_o, new_r)
    print(
        f"  (openTSNE transform at perplexity {placement.perplexity:g} instead of its default 5: trustworthiness "
        f"{new_o30['trustworthiness']:.4f}, knn_recall {new_o30['knn_recall']:.4f})"
    )

    ok_fit = all(fit_p[m] >= 0.95 * fit_o[m] for m in METRICS if m in fit_o)
    ok_new = all(new_r[m] >= new_o[m] for m in METRICS if m in new_o)
    print("\naims")
    print(f"  fitted within 5% of openTSNE : {'yes' if ok_fit else 'NO'}")
    print(f"  held-out at least as good    : {'yes' if ok_new else 'NO'} (platform placement vs openTSNE transform)")
    print(f"  place one work under 20 ms   : {'yes' if ms_place < 20 else 'NO'} (platform placement)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
