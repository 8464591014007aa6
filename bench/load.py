"""HTTP load on the public API: gunicorn on loopback with the demo collection, driven by wrk.

Usage:
    python bench/load.py [--duration 20] [--connections 16] [--threads 2] [--workers 2]
                         [--var-dir var/bench-load] [--rebuild]

What it does:

1. Makes sure ``--var-dir`` holds the demo collection, processed and mapped, in the embedded default
   (SQLite, local files, eager tasks): the same three commands as ``./run demo`` (import_collection,
   process_collection, build_map all). A var dir that already has a live map is reused as it is.
2. Starts ``gunicorn config.wsgi`` on 127.0.0.1 with production settings (DEBUG off, a random
   secret key), anonymous rate limits raised through the environment (API_ANON_RATE, API_MAP_RATE)
   so that the limiter does not turn the bench into a 429 counter.
3. Runs wrk (``apt-get install wrk``) for ``--duration`` seconds against each endpoint in turn:
   the artwork list (a few pages and filters), artwork detail and similar works (rotating over
   the collection's works, through a small Lua script), and the map points.
4. Prints requests/s, p50/p99 latency and the error count (non-2xx answers and socket errors) per
   endpoint, and exits non-zero if any request failed.

wrk is used because it is a single C binary from Debian that keeps a loopback server busy with
two threads without itself needing the CPU a Python load generator would take from gunicorn.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Variables that would point the bench at real services; the bench uses its own embedded default.
SERVICE_VARS = ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CACHE_URL", "REDIS_URL", "S3_BUCKET")


def base_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS and not k.startswith("CELERY_")}
    env.update(VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="config.settings", PYTHONUNBUFFERED="1")
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def mapped_works(env: dict[str, str], probe: str) -> list[str]:
    out = manage(env, "shell", "-v", "0", "-c", probe)
    return [line.removeprefix("work:") for line in out.splitlines() if line.startswith("work:")]


def prepare(var_dir: Path, rebuild: bool) -> list[str]:
    """Builds the demo collection into var_dir unless it is there; returns accession numbers of mapped works."""
    env = {**base_env(var_dir), "DJANGO_DEBUG": "true"}
    probe = (
        "from maps.models import Map, MapPoint\n"
        "m = Map.objects.filter(slug='all').exclude(live_build=None).first()\n"
        "for a in (MapPoint.objects.filter(build=m.live_build, artwork__published=True)"
        ".values_list('artwork__accession_number', flat=True)[:200] if m else []): print('work:' + a)"
    )
    if rebuild and var_dir.exists():
        shutil.rmtree(var_dir)
    (var_dir / "static").mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request otherwise
    manage(env, "migrate", "--no-input", "-v0")
    accessions = mapped_works(env, probe)
    if not accessions:
        started = time.perf_counter()
        print(f"building the demo collection in {var_dir} (import, process, map) ...", flush=True)
        manage(env, "import_collection")
        manage(env, "process_collection")
        manage(env, "build_map", "all", "--if-missing")
        accessions = mapped_works(env, probe)
        print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    if not accessions:
        sys.exit("the demo collection has no live map after building it; see the output of build_map")
    return accessions


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(
    var_dir: Path, port: int, workers: int, *, threads: int = 1, extra_env: dict[str, str] | None = None
) -> subprocess.Popen:
    env = base_env(var_dir)
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        API_ANON_RATE="100000000/minute",
        API_MAP_RATE="100000000/minute",
        LOG_LEVEL="WARNING",
    )
    env.update(extra_env or {})
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    proc = subprocess.Popen(
        [
            gunicorn,
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/maps/", timeout=5) as response:
                if response.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    stop(proc)
    sys.exit("gunicorn did not answer within 60 s")


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


ROTATE_LUA = """
paths = {%s}
i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def to_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(port: int, paths: list[str], duration: int, connections: int, threads: int, workdir: Path) -> dict:
    script = workdir / f"rotate-{abs(hash(tuple(paths)))}.lua"
    script.write_text(ROTATE_LUA % ", ".join(f'"{p}"' for p in paths))
    out = subprocess.run(
        [
            "wrk",
            "--latency",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": requests,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": to_ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
        "p99": to_ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
        "errors": non_2xx + (sum(int(x) for x in sockets.groups()) if sockets else 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--var-dir", type=Path, default=REPO / "var" / "bench-load")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the demo collection from scratch")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")

    var_dir = args.var_dir.resolve()
    accessions = prepare(var_dir, args.rebuild)
    works = accessions[:100]
    endpoints = {
        "artwork list": [
            "/api/v1/artworks/",
            "/api/v1/artworks/?page=2",
            "/api/v1/artworks/?decade=1880",
            "/api/v1/artworks/?q=landscape",
            "/api/v1/artworks/?ordering=-year_start&page_size=20",
        ],
        "artwork detail": [f"/api/v1/artworks/{a}/" for a in works],
        "similar works": [f"/api/v1/artworks/{a}/similar/?k=12" for a in works],
        "map points": ["/api/v1/maps/all/points/"],
    }
    port = free_port()
    server = start_gunicorn(var_dir, port, args.workers)
    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, paths in endpoints.items():
                # Warm each worker's caches (similar-works index, points payload) before measuring.
                run_wrk(port, paths, 2, args.workers, 1, Path(tmp))
                results[name] = run_wrk(port, paths, args.duration, args.connections, args.threads, Path(tmp))
    finally:
        stop(server)

    cpus = os.cpu_count()
    print(
        f"\ngunicorn {args.workers} workers, wrk {args.threads} threads x {args.connections} connections, "
        f"{args.duration} s per endpoint, {len(accessions)} mapped works, {cpus} CPUs (shared with wrk)"
    )
    print(f"{'endpoint':<16} {'requests':>9} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7}")
    for name, r in results.items():
        print(f"{name:<16} {r['requests']:>9} {r['rps']:>9.1f} {r['p50']:>9.2f} {r['p99']:>9.2f} {r['errors']:>7}")
    total_errors = sum(r["errors"] for r in results.values())
    print(f"errors in total: {total_errors}")
    sys.exit(1 if total_errors else 0)


if __name__ == "__main__":
    main()
