"""What the curators' admin computes in a request about a map: the preview picture and the comparison of two builds.

Usage:
    python bench/admin_maps.py [N ...] [--repeat 3]

For each N, synthetic clustered coordinates (a stand-in for a build's points): the time to draw
the dashboard's preview PNG (maps.preview.render_preview, drawn once per build and then read from
storage) and to compare two layouts of the same works (maps.compare.neighbour_change, on every
load of the comparison page), and the comparison's time relative to the smallest N.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from maps.compare import neighbour_change
from maps.preview import render_preview


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", nargs="*", type=int, default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    first = None
    for n in args.n:
        centres = rng.normal(scale=5.0, size=(30, 2))
        labels = rng.integers(0, 30, n)
        xy = centres[labels] + rng.normal(size=(n, 2))
        moved = xy + rng.normal(scale=0.3, size=(n, 2))
        preview = timed(lambda xy=xy, labels=labels: render_preview(xy, labels), args.repeat)
        compare = timed(lambda xy=xy, moved=moved: neighbour_change(xy, moved), args.repeat)
        first = first or compare
        change = neighbour_change(xy, moved)
        print(
            f"n={n:>7}: preview {preview * 1000:7.1f} ms, compare {compare * 1000:7.1f} ms "
            f"({compare / first:5.1f}x n={args.n[0]}), {change['n_evaluated']:.0f} works evaluated, "
            f"share changed {change['share_changed']:.3f}"
        )


if __name__ == "__main__":
    main()
