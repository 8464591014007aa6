"""What a bounded burst of abusive requests costs the serving process, on loopback.

Usage:
    python bench/abuse.py [--burst 40] [--concurrency 20] [--threads 8]
                          [--broker-url redis://127.0.0.1:6379/7] [--cache-url redis://127.0.0.1:6379/2]
                          [--var-dir var/bench-abuse]

What it does:

1. Migrates an empty SQLite database in ``--var-dir`` (no collection is needed: every abusive request
   is refused or times out before it would touch one).
2. Starts one gunicorn worker process with ``--threads`` threads (the worst case for one process: many
   requests share its memory) with production settings, a Redis broker and cache (both databases are
   emptied first) and no Celery worker at all, SEARCH_TIMEOUT_SECONDS=2, and rate limits raised so the
   burst does the work instead of collecting 429s.
3. Measures the p99 of ordinary requests (the artwork list) with nothing else running, then sends
   ``--burst`` worst-case requests, ``--concurrency`` at a time, while the ordinary requests go on:
   10,950 x 10,950 PNGs to search by image and by face, 24-megapixel JPEGs that are valid and go to the
   (absent) worker, a declared 49.5 MB form body to the map's CSV export and a declared 300 MB image
   upload.
4. Prints the worker's idle RSS, its peak RSS (VmHWM) above idle, the ordinary p99 before and during
   the burst, the answers the burst got, and what the burst left in Redis: bytes in the broker and the
   cache, and photos still waiting there. Exits non-zero if the peak is 300 MB or more above idle or a
   photo was left behind.
"""

from __future__ import annotations

import argparse
import http.client
import io
import itertools
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import REPO, base_env, free_port, manage, start_gunicorn, stop

PEAK_LIMIT_MB = 300


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def worst_case_bodies() -> dict[str, tuple[str, bytes, str, int | None]]:
    """name -> (path, body sent, content type, declared length if it differs from the body)."""
    from PIL import Image

    bomb = io.BytesIO()
    Image.new("L", (10_950, 10_950), 0).save(bomb, "PNG", optimize=True)
    jpeg = io.BytesIO()
    Image.linear_gradient("L").resize((6000, 4000)).convert("RGB").save(jpeg, "JPEG", quality=90)
    bomb_body, bomb_type = multipart("image", "bomb.png", bomb.getvalue())
    jpeg_body, jpeg_type = multipart("image", "photo.jpg", jpeg.getvalue())
    print(
        f"bomb PNG {len(bomb.getvalue()) / 1e6:.2f} MB (10950 x 10950), valid JPEG {len(jpeg.getvalue()) / 1e6:.2f} MB "
        f"(6000 x 4000)",
        flush=True,
    )
    return {
        "PNG bomb, search by image": ("/api/v1/search/image/", bomb_body, bomb_type, None),
        "PNG bomb, search by face": ("/api/v1/search/face/", bomb_body, bomb_type, None),
        "24 MP JPEG, search by image": ("/api/v1/search/image/", jpeg_body, jpeg_type, None),
        "49.5 MB export form": ("/api/v1/maps/all/works/", b"ids=1", "application/x-www-form-urlencoded", 49_500_000),
        "300 MB image upload": ("/api/v1/artworks/X/image/", b"--x", "multipart/form-data; boundary=x", 300_000_000),
    }


def send(port: int, path: str, body: bytes, content_type: str, declared: int | None) -> str:
    """POSTs and returns the status; a declared length above the body sends only the start of it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Type", content_type)
        conn.putheader("Content-Length", str(declared if declared is not None else len(body)))
        conn.endheaders()
        conn.send(body)
        return str(conn.getresponse().status)
    except OSError as exc:
        return type(exc).__name__
    finally:
        conn.close()


def get_ms(port: int, path: str) -> float:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
    finally:
        conn.close()
    return (time.perf_counter() - started) * 1000


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")


def worker_pid(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.2)
    sys.exit("gunicorn started no worker")


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def redis_bytes(url: str) -> tuple[int, int]:
    """(bytes used by every key of the database, keys holding a search photo)."""
    import redis

    client = redis.Redis.from_url(url)
    total = sum(client.memory_usage(key) or 0 for key in client.scan_iter())
    photos = sum(1 for _ in client.scan_iter(match="*search-photo:*"))
    client.close()
    return total, photos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burst", type=int, default=40, help="abusive requests in all")
    parser.add_argument("--concurrency", type=int, default=20, help="abusive requests in flight at once")
    parser.add_argument("--threads", type=int, default=8, help="threads of the one gunicorn worker")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/7", help="emptied first")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/2", help="emptied first")
    parser.add_argument("--var-dir", type=Path, default=REPO / "var" / "bench-abuse")
    args = parser.parse_args()
    import redis

    for url in (args.broker_url, args.cache_url):
        redis.Redis.from_url(url).flushdb()
    var_dir = args.var_dir.resolve()
    (var_dir / "static").mkdir(parents=True, exist_ok=True)
    manage({**base_env(var_dir), "DJANGO_DEBUG": "true"}, "migrate", "--no-input", "-v0")
    bodies = worst_case_bodies()
    port = free_port()
    server = start_gunicorn(
        var_dir,
        port,
        1,
        threads=args.threads,
        extra_env={
            "CELERY_BROKER_URL": args.broker_url,
            "CELERY_RESULT_BACKEND": args.broker_url,
            "CACHE_URL": args.cache_url,
            "SEARCH_TIMEOUT_SECONDS": "2",
            "API_SEARCH_RATE": "100000000/minute",
            "API_PHOTO_SEARCH_RATE": "100000000/minute",
        },
    )
    ordinary = "/api/v1/artworks/?page_size=20"
    try:
        pid = worker_pid(server.pid)
        for _ in range(20):  # warm: imports, connections, caches
            get_ms(port, ordinary)
        send(port, "/api/v1/search/image/", *multipart("image", "x.png", b"not an image"), None)
        idle_kb = memory_kb(pid, "VmRSS")
        baseline = [get_ms(port, ordinary) for _ in range(200)]
        hwm_before = memory_kb(pid, "VmHWM")

        during: list[float] = []
        done = threading.Event()

        def ordinary_load() -> None:
            while not done.is_set():
                during.append(get_ms(port, ordinary))

        names = [name for _, name in zip(range(args.burst), itertools.cycle(bodies))]
        loader = threading.Thread(target=ordinary_load)
        loader.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            answers = list(pool.map(lambda name: (name, send(port, *bodies[name])), names))
        burst_s = time.perf_counter() - started
        done.set()
        loader.join()
        peak_kb = memory_kb(pid, "VmHWM")
    finally:
        stop(server)
    broker_bytes, broker_photos = redis_bytes(args.broker_url)
    cache_bytes, cache_photos = redis_bytes(args.cache_url)

    peak_mb = (max(peak_kb, hwm_before) - idle_kb) / 1024
    print(
        f"\none gunicorn worker x {args.threads} threads, no Celery worker, {args.burst} abusive requests "
        f"{args.concurrency} at a time in {burst_s:.1f} s"
    )
    for name in bodies:
        counts = Counter(status for n, status in answers if n == name)
        print(f"  {name:<28} {dict(counts)}")
    print(
        f"worker RSS idle {idle_kb / 1024:.0f} MB, peak {peak_kb / 1024:.0f} MB: {peak_mb:.0f} MB above idle "
        f"(aim: below {PEAK_LIMIT_MB} MB)"
    )
    print(
        f"ordinary requests p99: {p99(baseline):.1f} ms alone ({len(baseline)}), {p99(during):.1f} ms during the burst "
        f"({len(during)})"
    )
    print(
        f"Redis after the burst with no worker: broker {broker_bytes / 1024:.1f} KiB, cache {cache_bytes / 1024:.1f} KiB, "
        f"photos left {broker_photos + cache_photos}"
    )
    failed = peak_mb >= PEAK_LIMIT_MB or broker_photos + cache_photos > 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
