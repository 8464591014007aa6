"""Works/s and peak memory of importing a collection with derivatives, through the real import path.

Usage:
    python bench/import.py [N]                     # N synthetic works (default 2000), embedded default
    python bench/import.py 2000 --postgres URL     # also against PostgreSQL (a throw-away database on
                                                   # that server) + a moto_server S3 endpoint started here
    python bench/import.py 2000 --tracemalloc      # also the Python heap's peak (slows the import)

DATABASE_URL, when set, is taken as ``--postgres``. What it does:

1. Writes N JPEGs of varied sizes (short side 120-900 px, aspect 0.5-2, every picture distinct so
   none is deduplicated) and a CSV naming them, with artist credits and dates to parse, in a temp dir.
2. For each setting, runs a fresh child process (its own VAR_DIR, migrated database, tasks eager,
   ML, faces and detection off) that times ``manage.py import_collection CSV --images DIR``: parse,
   store the original, write the derivatives (IMAGE_SIZES) and run the pipeline's remaining stages.
3. Prints works/s, the child's peak RSS (ru_maxrss) and its growth during the import, and with
   ``--tracemalloc`` the peak of Python allocations; exits non-zero unless every work was created
   with complete derivatives.

Not a test: figures depend on the machine and on who else uses it; record them in docs/decisions/.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SERVICE_VARS = ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CACHE_URL", "REDIS_URL", "S3_BUCKET")
ARTISTS = [
    "Jean Charles Cazin (French, 1841–1901)",
    "Attributed to Anthony van Dyck (Flemish, 1599–1641)",
    "Claude Monet (French, 1840–1926)",
    "Workshop of Rogier van der Weyden (Netherlandish, c. 1399–1464)",
    "Unknown artist",
]
DATES = ["1874", "c. 1631", "1890–95", "about 1505", "19th century", "1620s"]


def make_collection(folder: Path, count: int, seed: int = 7) -> Path:
    """N distinct JPEGs and their CSV; smooth pictures with a few shapes, so sizes resemble scans, not noise."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    images = folder / "images"
    images.mkdir(parents=True)
    rows = []
    for i in range(count):
        short = rng.randint(120, 900)
        aspect = rng.uniform(0.5, 2.0)
        size = (int(short * aspect), short) if aspect >= 1 else (short, int(short / aspect))
        top = tuple(rng.randrange(256) for _ in range(3))
        picture = Image.linear_gradient("L").resize(size).convert("RGB")
        picture = Image.blend(picture, Image.new("RGB", size, top), 0.6)  # type: ignore[arg-type]
        draw = ImageDraw.Draw(picture)
        for _ in range(4):
            x, y = rng.randrange(size[0]), rng.randrange(size[1])
            draw.ellipse((x, y, x + size[0] // 5, y + size[1] // 5), fill=tuple(rng.randrange(256) for _ in range(3)))
        draw.text((4, 4), f"work {i}", fill=(255, 255, 255))  # distinct bytes for every work
        name = f"w{i:06d}.jpg"
        picture.save(images / name, "JPEG", quality=85)
        rows.append(
            {
                "accession_number": f"BENCH-{i:06d}",
                "title": f"Synthetic work {i}",
                "artist": rng.choice(ARTISTS),
                "date": rng.choice(DATES),
                "classification": "painting",
                "image": name,
                "published": "yes",
            }
        )
    table = folder / "works.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return table


def child(table: Path, images: Path, trace: bool) -> dict[str, Any]:
    """Runs inside the child process, whose environment already names the setting under test."""
    import io
    import tracemalloc

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from collection import storage
    from collection.models import Artwork

    call_command("migrate", "--no-input", verbosity=0)
    if settings.S3_BUCKET:
        storage.ensure_buckets()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    call_command("import_collection", str(table), "--images", str(images), "--no-progress", stdout=io.StringIO())
    seconds = time.perf_counter() - start
    heap_peak = tracemalloc.get_traced_memory()[1] if trace else None
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    works = Artwork.objects.select_related("image").all()
    complete = sum(1 for w in works if w.image is not None and w.image.derivatives_complete())
    return {
        "works": works.count(),
        "complete": complete,
        "seconds": seconds,
        "rss_peak_mib": rss_after / 1024,
        "rss_growth_mib": (rss_after - rss_before) / 1024,
        "heap_peak_mib": heap_peak / 2**20 if heap_peak is not None else None,
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "storage": "s3" if settings.S3_BUCKET else "local files",
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    local = Path(sys.executable).parent / "moto_server"
    exe = str(local) if local.exists() else shutil.which("moto_server")
    if not exe:
        raise SystemExit("moto_server not found (pip install 'moto[server]')")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto_server did not start")


def scratch_database(server_url: str) -> tuple[str, str]:
    """A database of its own on the given server, so the bench neither reads nor leaves anything in others."""
    import psycopg

    name = f"bench_import_{uuid.uuid4().hex[:8]}"
    base = server_url.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}", name


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server_url.rsplit('/', 1)[0]}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_child(folder: Path, extra_env: dict[str, str], trace: bool) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS and not k.startswith(("CELERY_", "S3_"))}
    var_dir = Path(tempfile.mkdtemp(prefix="var-", dir=folder))
    env.update(
        VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY=env.get("DJANGO_SECRET_KEY", "bench-import"),
        ML_ENABLED="false",
        FACES_ENABLED="false",
        DETECTION_BACKEND="off",
        PYTHONPATH=str(REPO),
        **extra_env,
    )
    args = [sys.executable, __file__, "--child", str(folder)] + (["--tracemalloc"] if trace else [])
    done = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the import child failed:\n{done.stderr[-4000:]}")
    shutil.rmtree(var_dir, ignore_errors=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def report(label: str, result: dict[str, Any], count: int) -> bool:
    heap = f", heap peak {result['heap_peak_mib']:.0f} MiB" if result["heap_peak_mib"] is not None else ""
    print(
        f"{label:<28} {result['works']} works in {result['seconds']:.1f} s = {result['works'] / result['seconds']:.1f} "
        f"works/s; peak RSS {result['rss_peak_mib']:.0f} MiB (+{result['rss_growth_mib']:.0f} during the import){heap}; "
        f"{result['complete']} with all derivatives",
        flush=True,
    )
    return result["works"] == count and result["complete"] == count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=2000)
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL", ""), help="PostgreSQL server URL")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child / "works.csv", args.child / "images", args.tracemalloc)))
        return 0

    folder = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        start = time.perf_counter()
        make_collection(folder, args.count)
        size = sum(p.stat().st_size for p in (folder / "images").iterdir())
        print(
            f"{args.count} synthetic works, {size / 2**20:.0f} MiB of JPEGs, made in "
            f"{time.perf_counter() - start:.0f} s; cores: {os.cpu_count()}",
            flush=True,
        )
        ok = report("SQLite + local files", run_child(folder, {}, args.tracemalloc), args.count)
        if args.postgres.startswith(("postgres://", "postgresql://")):
            moto, endpoint = start_moto()
            url, name = scratch_database(args.postgres)
            try:
                s3 = {
                    "DATABASE_URL": url,
                    "S3_BUCKET": f"bench-{uuid.uuid4().hex[:8]}",
                    "S3_ENDPOINT_URL": endpoint,
                    "S3_ACCESS_KEY_ID": "testing",
                    "S3_SECRET_ACCESS_KEY": "testing",
                }
                ok = report("PostgreSQL + S3 (moto)", run_child(folder, s3, args.tracemalloc), args.count) and ok
            finally:
                drop_database(args.postgres, name)
                moto.terminate()
                moto.wait(timeout=10)
        else:
            print("PostgreSQL + S3: skipped (give --postgres URL or DATABASE_URL)")
        return 0 if ok else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
