"""Similar works and search by vector at collection scale: latency of the exact numpy index.

Usage:
    python bench/similar.py [--n 100000] [--dims 1280 256] [--queries 200] [--k 12]
    python bench/similar.py --api --n 20000    # also the whole HTTP path on a synthetic database

The index part builds a VectorIndex over N random L2-normalised vectors and
times `search` (k nearest, excluding the query work) for many queries, printing
p50/p99 in ms against the 50 ms aim. With --api it also creates N works with
vectors in a throwaway SQLite database and times GET /api/v1/artworks/{acc}/similar/
through Django's test client (index cached in the process, as in a web worker).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.index import VectorIndex

AIM_MS = 50.0


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def bench_index(n: int, dim: int, queries: int, k: int, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    t = time.perf_counter()
    index = VectorIndex(np.arange(n), vectors)
    build_s = time.perf_counter() - t
    times = []
    for q in rng.integers(0, n, size=queries):
        t = time.perf_counter()
        index.search(index.vectors[q], k, exclude=[int(q)])
        times.append((time.perf_counter() - t) * 1000)
    p50, p99 = statistics.median(times), percentile(times, 99)
    print(
        f"index n={n:>7} d={dim:>5}: build {build_s:.2f} s, memory {index.vectors.nbytes / 1e6:.0f} MB, "
        f"search p50 {p50:.2f} ms, p99 {p99:.2f} ms, aim {AIM_MS:.0f} ms -> p50 is {AIM_MS / p50:.1f}x under the aim"
    )
    return p50, p99


def bench_api(n: int, dim: int, queries: int, k: int) -> None:
    tmp = tempfile.mkdtemp(prefix="bench-similar-")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_INSECURE_DEV_KEY": "true",
            "VAR_DIR": tmp,
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "ML_ENABLED": "false",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from analysis.models import Embedding, FeatureModel
    from collection.models import Artwork, ImageFile
    from core.stamp import bump_stamp

    call_command("migrate", verbosity=0)
    rng = np.random.default_rng(1)
    image = ImageFile.objects.create(
        sha256="0" * 64, original="x", content_type="image/jpeg", width=1, height=1, byte_size=1
    )
    t = time.perf_counter()
    Artwork.objects.bulk_create(
        [Artwork(accession_number=f"B{i}", title=f"Work {i}", image=image) for i in range(n)], batch_size=5000
    )
    fm = FeatureModel.objects.create(version="bench:1", backbone="bench", kind="pretrained", dim=dim)
    fm.activate()
    ids = list(Artwork.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, n, 5000):
        chunk = ids[start : start + 5000]
        vectors = rng.normal(size=(len(chunk), dim)).astype(np.float32)
        Embedding.objects.bulk_create(
            [
                Embedding(artwork_id=a, feature_model=fm, image_sha256="0" * 64, vector=Embedding.pack(v))
                for a, v in zip(chunk, vectors)
            ]
        )
    bump_stamp()
    print(f"api: created {n} works with {dim}-d vectors in {time.perf_counter() - t:.1f} s")
    client = Client()
    t = time.perf_counter()
    assert client.get(f"/api/v1/artworks/B0/similar/?k={k}").status_code == 200
    print(f"api: first request (loads the index) {time.perf_counter() - t:.2f} s")
    times = []
    for q in rng.integers(0, n, size=queries):
        t = time.perf_counter()
        response = client.get(f"/api/v1/artworks/B{q}/similar/?k={k}")
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
    p50, p99 = statistics.median(times), percentile(times, 99)
    print(f"api: GET similar p50 {p50:.1f} ms, p99 {p99:.1f} ms (aim {AIM_MS:.0f} ms p50; ratio {AIM_MS / p50:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dims", type=int, nargs="+", default=[1280, 256])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=12)
    parser.add_argument("--api", action="store_true")
    args = parser.parse_args()
    for dim in args.dims:
        bench_index(args.n, dim, args.queries, args.k)
    if args.api:
        bench_api(args.n, args.dims[0], min(args.queries, 100), args.k)


if __name__ == "__main__":
    main()
