"""The public map under load: N works in headless Chromium (WebGL on SwiftShader, i.e. the CPU).

Usage:
    python bench/frontend.py [N] [--rebuild] [--keep-serving] [--no-layouts]
    python bench/frontend.py --assignment

Builds (once per N, cached under /tmp/museum-bench-N) a synthetic collection on the real Django app:
SQLite, files on the local disk, N works sharing 256 generated images, a map build whose points
form t-SNE-like clusters, and its thumbnail atlases in maps.atlas's format (written directly,
see :func:`write_atlases`: a few minutes at 100,000 works instead of over 20). Serves it with
gunicorn and opens the map page in Debian's Chromium, then prints:

* time to the first drawn map (all of atlas level 0 on screen) and to the first frame,
* bytes transferred (page, scripts, API, atlases) until then, and after a scripted pan and zoom,
* frame times during the scripted pan and zoom: the interval between animation frames (what a
  visitor feels) and the map's own drawing time per frame (CPU side),
* the grid layout (maps.layouts, stored with the build): time to the first drawn map opened at
  ``?layout=grid``, and a switch from t-SNE to the grid (time until the thumbnails start moving,
  frame intervals while they move); ``--no-layouts`` skips this,
* with ``--assignment``: only the grid assignment's build time at 10,000 and 100,000 works (and
  1,000, solved exactly) and how many t-SNE neighbours it keeps, no browser.

No GPU here: SwiftShader draws on the CPU, so frame times are an upper bound for real devices.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

N_IMAGES = 256
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
]


def _env(var_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
        "DJANGO_INSECURE_DEV_KEY": "true",
        "DJANGO_DEBUG": "false",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ML_ENABLED": "false",
        "CACHE_URL": "",
        "S3_BUCKET": "",
        "CELERY_BROKER_URL": "",
        "API_ANON_RATE": "100000/minute",
        "LOG_LEVEL": "WARNING",
    }


def tsne_like(n: int, rng: Any) -> tuple[Any, Any, Any]:
    """Points as t-SNE lays them out, their cluster and the cluster centres.

    t-SNE spreads works evenly inside its clusters (its repulsion keeps neighbours apart), so
    clusters are filled discs of different sizes with gaps between them, not Gaussians.
    """
    import numpy as np

    n_clusters = max(3, min(40, n // 2500))
    centres = rng.uniform(-0.8, 0.8, (n_clusters, 2))
    weights = rng.uniform(0.5, 2.0, n_clusters)
    labels = rng.choice(n_clusters, n, p=weights / weights.sum())
    radii = 0.05 + 0.12 * np.sqrt(weights / weights.max())
    angle = rng.uniform(0, 2 * np.pi, n)
    r = radii[labels] * np.sqrt(rng.uniform(0, 1, n))
    xy = centres[labels] + np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    return xy / np.abs(xy).max(), labels, centres


def assignment_bench(sizes: tuple[int, ...] = (1_000, 10_000, 100_000)) -> None:
    """The grid assignment's build time and the share of each work's 10 t-SNE neighbours it keeps."""
    import numpy as np
    from scipy.spatial import cKDTree

    from maps.layouts import grid_layout

    def kept(a: Any, b: Any, k: int = 10, sample: int = 5000) -> float:
        rows = np.random.default_rng(1).choice(len(a), min(sample, len(a)), replace=False)
        na = cKDTree(a).query(a[rows], k + 1)[1][:, 1:]
        nb = cKDTree(b).query(b[rows], k + 1)[1][:, 1:]
        return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(na, nb)]))

    print("grid assignment (maps.layouts.grid_layout), t-SNE-like points, one process:")
    for n in sizes:
        xy, _, _ = tsne_like(n, np.random.default_rng(0))
        started = time.perf_counter()
        grid = grid_layout(xy)
        seconds = time.perf_counter() - started
        cells = grid.cells.astype(float)
        shuffled = np.random.default_rng(2).permutation(cells)
        print(
            f"  {n:>7,} works: {seconds:6.2f} s ({grid.method}, {grid.frame.cols}x{grid.frame.rows} cells); "
            f"10-NN kept {kept(xy, cells):.2f} (random cells {kept(xy, shuffled):.3f})",
            flush=True,
        )


def build_collection(n: int, var_dir: Path) -> None:
    """Runs in a child process with the bench environment (Django settings are read once)."""
    import numpy as np

    os.environ.update(_env(var_dir))
    import django

    django.setup()
    from django.core.management import call_command
    from PIL import Image, ImageDraw

    from collection import images
    from collection.models import Artwork
    from maps.layouts import grid_layout
    from maps.models import Cluster, Map, MapBuild, MapPoint

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    rng = np.random.default_rng(0)
    records = []
    for k in range(N_IMAGES):
        w, h = (480, 360) if k % 3 else (320, 420)
        base = tuple(int(v) for v in rng.integers(30, 230, 3))
        img = Image.new("RGB", (w, h), base)
        draw = ImageDraw.Draw(img)
        for _ in range(6):  # a few shapes so the images are not flat (realistic compression)
            x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
            colour = tuple(int(v) for v in rng.integers(0, 255, 3))
            draw.ellipse([x0, y0, x0 + int(rng.integers(30, w // 2)), y0 + int(rng.integers(30, h // 2))], fill=colour)
        out = __import__("io").BytesIO()
        img.save(out, "JPEG", quality=90)
        records.append(images.ingest(out.getvalue(), name=f"bench-{k}.jpg"))
    print(f"  {N_IMAGES} images ingested ({time.perf_counter() - started:.0f} s)", flush=True)
    artists = [f"Painter {i}" for i in range(200)]
    works = []
    for i in range(n):
        decade = 1800 + 10 * int(rng.integers(0, 15))
        works.append(
            Artwork(
                accession_number=f"B.{i:07d}",
                title=f"Work {i}",
                artist_display=artists[i % 200],
                date_display=str(decade + 5),
                year_start=decade + 5,
                year_end=decade + 5,
                decade=decade,
                classification="painting",
                image=records[i % N_IMAGES],
                published=True,
            )
        )
    Artwork.objects.bulk_create(works, batch_size=5000)
    ids = list(Artwork.objects.order_by("pk").values_list("pk", flat=True))
    xy, labels, centres = tsne_like(n, rng)
    n_clusters = len(centres)
    map_obj, _ = Map.objects.get_or_create(slug="all", defaults={"title": "All works"})
    t0 = time.perf_counter()
    grid = grid_layout(xy)  # as a build does (maps.builds.save_layout)
    grid_seconds = time.perf_counter() - t0
    print(f"  grid layout ({grid.method}) in {grid_seconds:.1f} s", flush=True)
    build = MapBuild.objects.create(
        map=map_obj,
        version=map_obj.next_version(),
        feature_version="bench",
        n_points=n,
        params={"grid": {**grid.to_dict(), "seconds": round(grid_seconds, 3)}},
    )
    MapPoint.objects.bulk_create(
        [
            MapPoint(build=build, artwork_id=pk, x=float(x), y=float(y), cluster=int(c), gx=int(gx), gy=int(gy))
            for pk, (x, y), c, (gx, gy) in zip(ids, xy, labels, grid.cells)
        ],
        batch_size=10000,
    )
    Cluster.objects.bulk_create(
        [
            Cluster(
                build=build,
                label=c,
                name=f"Group {c + 1}",
                terms=[],
                size=int((labels == c).sum()),
                x=float(centres[c, 0]),
                y=float(centres[c, 1]),
            )
            for c in range(n_clusters)
        ]
    )
    print(f"  {n} works and points ({time.perf_counter() - started:.0f} s)", flush=True)
    t0 = time.perf_counter()
    meta = write_atlases(build)
    sheets = sum(len(level["sheets"]) for level in meta["levels"])
    size = sum(s["bytes"] for level in meta["levels"] for s in level["sheets"])
    print(
        f"  atlases: levels {[lv['cell'] for lv in meta['levels']]}, {sheets} sheets, {size / 1e6:.1f} MB, "
        f"written in {time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    map_obj.go_live(build)
    (var_dir / "ready").write_text(
        json.dumps({"n": n, "atlases": [lv["cell"] for lv in meta["levels"]], "sheets": sheets})
    )


def _cell_tile(image: Any, aspect: tuple[int, int], cell: int) -> Any:
    """One work's cell (image, repeated edge gutter, background) exactly as maps.atlas packs it, as an array."""
    import numpy as np

    from maps.atlas.packing import SheetPacker

    packed = SheetPacker(cell=cell, sheet_size=cell).add(image, aspect)  # a one-cell sheet: the cell itself
    assert packed is not None
    return np.asarray(packed.image)


def write_atlases(build: Any) -> dict:
    """What ``maps.atlas.build_atlases`` stores for this build, without packing 100,000 thumbnails one by one.

    Packing resizes and pastes every work's thumbnail into every level (over 20 minutes at 100,000
    works on two cores), but the bench's works share 256 images: each image's cell is drawn once per
    level by maps.atlas's own packer and the sheets are those cells tiled with numpy. The works,
    their Hilbert order, the levels, the sheet sizes, the index, the keys and the recorded
    description all come from maps.atlas itself, so the sheets are byte for byte the ones
    ``build_atlases`` writes (checked at 600 and 3,000 works: the same keys, which hold the
    content hashes) and the page cannot tell.
    """
    import numpy as np
    from django.conf import settings
    from django.utils import timezone
    from PIL import Image

    from collection import storage
    from maps.atlas import packing
    from maps.atlas import storage as atlas_storage

    works = atlas_storage._atlas_works(build)
    ordered = [works[i] for i in packing.hilbert_order([w[1] for w in works], [w[2] for w in works])]
    keys = sorted({w[3] for w in ordered})
    reader = atlas_storage._ThumbReader()
    thumbs = [t for t in (reader._read(key) for key in keys) if t is not None]
    assert len(thumbs) == len(keys), "every bench thumbnail is readable"
    slot = {key: j for j, key in enumerate(keys)}
    which = np.array([slot[w[3]] for w in ordered], dtype=np.int64)
    image_aspects = [packing.aspect_of(t) for t in thumbs]
    n = len(ordered)
    cells = packing.choose_levels(n, thumb_size=settings.IMAGE_SIZES["thumb"])
    fmt = "webp" if settings.IMAGE_DERIVATIVE_FORMAT == "webp" else "jpeg"
    prefix = atlas_storage._key_prefix(build)
    sheets = atlas_storage._Sheets(prefix, fmt, cells)
    sheets.positions = [(w[1], w[2]) for w in ordered]
    for level, cell in enumerate(cells):
        tiles = np.stack([_cell_tile(t, a, cell) for t, a in zip(thumbs, image_aspects)])
        cols, per = packing.columns(cell), packing.per_sheet(cell)
        for number, first in enumerate(range(0, n, per)):
            count = min(per, n - first)
            rows = -(-count // cols)
            block = np.empty((rows * cols, cell, cell, 3), dtype=np.uint8)
            block[:] = packing.BACKGROUND
            block[:count] = tiles[which[first : first + count]]
            sheet = np.empty((packing.sheet_height(count, cell), packing.SHEET_SIZE, 3), dtype=np.uint8)
            sheet[:] = packing.BACKGROUND
            sheet[: rows * cell] = block.reshape(rows, cols, cell, cell, 3).swapaxes(1, 2).reshape(rows * cell, -1, 3)
            sheets.store(packing.PackedSheet(level, cell, number, first, count, Image.fromarray(sheet)))
    index = packing.encode_index([w[0] for w in ordered], [image_aspects[j] for j in which])
    index_key = atlas_storage._content_key(prefix, "index", index, "bin")
    storage.put("public", index_key, index)
    meta = {
        "format": atlas_storage.FORMAT_VERSION,
        "count": n,
        "skipped": 0,
        "sheet_size": packing.SHEET_SIZE,
        "pad": packing.PAD,
        "aspect_box": packing.ASPECT_BOX,
        "image_format": fmt,
        "index": index_key,
        "index_bytes": len(index),
        "levels": [lvl for lvl in sheets.levels if lvl["sheets"]],
        "built": timezone.now().isoformat(),
    }
    atlas_storage._save(build, meta)
    return meta


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(var_dir: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=_env(var_dir),
        start_new_session=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


FRAME_RECORDER = """() => {
  window.__frames = [];
  let last = performance.now();
  const tick = (now) => { window.__frames.push(now - last); last = now; if (window.__recording) requestAnimationFrame(tick); };
  window.__recording = true;
  requestAnimationFrame(tick);
  window.collectionMap.timings.frames.length = 0;
}"""


DENSEST = """() => {
  const app = window.collectionMap.app, idx = app.index;
  const r = app.iconSize * 3;
  let best = 0, bestCount = -1;
  for (let i = 0; i < app.n; i += Math.max(1, Math.floor(app.n / 500))) {
    let count = 0;
    idx.forEachInRect(app.xs[i] - r, app.ys[i] - r, app.xs[i] + r, app.ys[i] + r, () => { count++; });
    if (count > bestCount) { bestCount = count; best = i; }
  }
  return app.camera.toScreen(app.xs[best], app.ys[best]);
}"""


def drive(url: str, chromium: str, width: int, height: int) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        transferred = {"bytes": 0, "requests": 0}

        def finished(event: dict) -> None:
            transferred["bytes"] += int(event.get("encodedDataLength", 0))
            transferred["requests"] += 1

        cdp.on("Network.loadingFinished", finished)
        page.goto(url, wait_until="commit")
        page.wait_for_function("document.querySelector('#map-canvas')?.dataset.ready === 'true'", timeout=300_000)
        timing = page.evaluate(
            """() => { const t = window.collectionMap.timings; const nav = performance.getEntriesByType('navigation')[0];
              return {first_full: t.firstFullAt, first_frame: t.firstFrameAt, dom_content_loaded: nav.domContentLoadedEventEnd,
                      points: Number(document.querySelector('#map-canvas').dataset.points)}; }"""
        )
        page.wait_for_timeout(500)
        at_ready = dict(transferred)
        print(
            f"  first drawn map after {timing['first_full']:.0f} ms, {at_ready['bytes'] / 1e6:.2f} MB; panning and zooming …",
            flush=True,
        )
        page.screenshot(path=str(REPO / "test-artifacts" / "bench-overview.png"))
        page.evaluate(FRAME_RECORDER)
        box = page.locator("#map-canvas").bounding_box()
        assert box is not None
        # Zoom into the densest part of the map, where a visitor would look.
        sx, sy = page.evaluate(DENSEST)
        cx, cy = box["x"] + sx, box["y"] + sy
        page.mouse.move(cx, cy)
        script_start = time.perf_counter()
        for _ in range(14):  # zoom in towards the centre: detailed atlas sheets, then single images
            page.mouse.wheel(0, -300)
            page.wait_for_timeout(80)
        for dx, dy in ((-300, 0), (0, -200), (300, 0), (0, 200), (-200, -150)):
            page.mouse.down()
            page.mouse.move(cx + dx, cy + dy, steps=20)
            page.mouse.up()
            page.mouse.move(cx, cy)
            page.wait_for_timeout(150)
        page.wait_for_timeout(800)
        page.screenshot(path=str(REPO / "test-artifacts" / "bench-zoomed.png"))
        deepest = page.evaluate("() => ({...document.querySelector('#map-canvas').dataset})")
        for _ in range(14):
            page.mouse.wheel(0, 300)
            page.wait_for_timeout(80)
        page.wait_for_timeout(500)
        script_seconds = time.perf_counter() - script_start
        frames = page.evaluate("() => { window.__recording = false; return window.__frames; }")
        draw_ms = page.evaluate("() => window.collectionMap.timings.frames.slice()")
        browser.close()
    return {
        "timing": timing,
        "at_ready": at_ready,
        "total": dict(transferred),
        "frames": frames,
        "draw_ms": draw_ms,
        "state": deepest,
        "script_seconds": script_seconds,
    }


MORPH_DONE = "() => document.querySelector('#map-canvas').dataset.morph === '1.000'"


def drive_layouts(url: str, chromium: str, width: int, height: int) -> dict:
    """The map opened in the grid layout, then a switch from t-SNE to the grid, timed frame by frame."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1).new_page()
        page.goto(url + "?layout=grid", wait_until="commit")
        page.wait_for_function("document.querySelector('#map-canvas')?.dataset.ready === 'true'", timeout=300_000)
        grid = page.evaluate(
            "() => ({first_full: window.collectionMap.timings.firstFullAt, layout: window.collectionMap.app.store.state.layout})"
        )
        page.goto(url, wait_until="commit")
        page.wait_for_function("document.querySelector('#map-canvas')?.dataset.ready === 'true'", timeout=300_000)
        page.wait_for_timeout(500)
        page.evaluate(FRAME_RECORDER)
        started = time.perf_counter()
        page.locator("#layout-switch").select_option("grid")
        page.wait_for_function("() => Number(document.querySelector('#map-canvas').dataset.morph) < 1", timeout=300_000)
        to_start = time.perf_counter() - started
        page.wait_for_function(MORPH_DONE, timeout=300_000)
        total = time.perf_counter() - started
        frames = page.evaluate("() => { window.__recording = false; return window.__frames; }")
        page.screenshot(path=str(REPO / "test-artifacts" / "bench-grid.png"))
        browser.close()
    return {"grid": grid, "to_start": to_start, "total": total, "frames": frames}


def report_layouts(result: dict) -> None:
    frames = sorted(result["frames"][1:]) or [0.0]
    print(f"  grid layout opened from the URL: first drawn map {result['grid']['first_full']:.0f} ms after navigation")
    print(
        f"  switch t-SNE -> grid: thumbnails start moving {result['to_start'] * 1000:.0f} ms after the choice "
        f"(layout fetched and uploaded), the switch ends after {result['total'] * 1000:.0f} ms"
    )
    print(
        f"    frame interval over the switch ({len(frames)} frames): median {statistics.median(frames):.1f} ms, "
        f"p95 {frames[min(len(frames) - 1, int(0.95 * len(frames)))]:.1f} ms, max {frames[-1]:.0f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, nargs="?", default=100_000)
    ap.add_argument("--rebuild", action="store_true", help="make the synthetic collection again")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=800)
    ap.add_argument("--keep-serving", action="store_true", help="leave the server running (Ctrl-C ends it)")
    ap.add_argument("--no-layouts", action="store_true", help="skip the grid layout and the layout switch")
    ap.add_argument("--assignment", action="store_true", help="only time the grid assignment (no browser)")
    args = ap.parse_args(argv)
    if args.assignment:
        assignment_bench()
        return 0

    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        print("Chromium is not installed: apt-get install -y chromium", file=sys.stderr)
        return 2
    if not (REPO / "frontend" / "static" / "frontend" / "build" / "map.js").exists():
        subprocess.run(["npm", "run", "--silent", "build"], cwd=REPO, check=True)
    var_dir = Path(f"/tmp/museum-bench-{args.n}")
    if args.rebuild and var_dir.exists():
        shutil.rmtree(var_dir)
    if not (var_dir / "ready").exists():
        shutil.rmtree(var_dir, ignore_errors=True)
        var_dir.mkdir(parents=True)
        print(f"building a synthetic collection of {args.n} works in {var_dir} …", flush=True)
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--internal-build", str(args.n)], cwd=REPO, env=_env(var_dir), check=True
        )
        setup_seconds: float | None = time.perf_counter() - t0
        print(f"  done in {setup_seconds:.0f} s", flush=True)
    else:
        setup_seconds = None
        # Static files may have changed since the cached collection was made.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=REPO, env=_env(var_dir), check=True
        )
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the server below is stopped too
    port = free_port()
    server = serve(var_dir, port)
    try:
        url = f"http://127.0.0.1:{port}/"
        # A running site is warm: load each worker's Django before measuring.
        import urllib.request

        for _ in range(6):
            for path in ("", "api/v1/maps/all/", "api/v1/maps/all/points/"):
                urllib.request.urlopen(url + path, timeout=120).read()
        request = urllib.request.Request(url + "api/v1/maps/all/points/", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=120) as response:
            points_bytes, points_encoding = len(response.read()), response.headers.get("Content-Encoding")
        print(
            f"  points response: {points_bytes / 1e6:.2f} MB ({points_encoding or 'not compressed'}; aim < 2 MB at 100,000)"
        )
        result = drive(url, chromium, args.width, args.height)
        layouts = None if args.no_layouts else drive_layouts(url, chromium, args.width, args.height)
        if args.keep_serving:
            print(f"serving on {url} (Ctrl-C to stop)")
            server.wait()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)

    frames = sorted(result["frames"][2:]) or [0.0]
    draws = sorted(result["draw_ms"]) or [0.0]
    pct = lambda xs, q: xs[min(len(xs) - 1, int(q * len(xs)))]  # noqa: E731
    t = result["timing"]
    print(f"\nmap of {t['points']:,} works, viewport {args.width}×{args.height}, Chromium headless (SwiftShader, CPU)")
    print(f"  time to first frame (points, placeholders): {t['first_frame']:.0f} ms after navigation")
    print(f"  time to first drawn map (atlas level 0):    {t['first_full']:.0f} ms after navigation")
    print(
        f"  bytes transferred until then:               {result['at_ready']['bytes'] / 1e6:.2f} MB in {result['at_ready']['requests']} requests"
    )
    print(
        f"  bytes after the scripted pan and zoom:      {result['total']['bytes'] / 1e6:.2f} MB in {result['total']['requests']} requests"
    )
    print(f"  frames during pan/zoom ({result['script_seconds']:.1f} s, {len(frames)} frames):")
    print(
        f"    frame interval: median {statistics.median(frames):.1f} ms, p95 {pct(frames, 0.95):.1f} ms, max {frames[-1]:.0f} ms"
    )
    print(
        f"    map drawing (CPU side): median {statistics.median(draws):.2f} ms, p95 {pct(draws, 0.95):.2f} ms over {len(draws)} draws"
    )
    print(
        f"  deepest view: atlas level {result['state'].get('level')}, icon {result['state'].get('iconPx')} px, "
        f"{result['state'].get('sharp')} single images drawn"
    )
    if layouts:
        report_layouts(layouts)
    if setup_seconds is not None:
        print(f"  set-up (collection, grid, atlases written directly): {setup_seconds:.0f} s")
    print(
        "  screenshots: test-artifacts/bench-overview.png, test-artifacts/bench-zoomed.png, test-artifacts/bench-grid.png"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--internal-build":
        n = int(sys.argv[2])
        build_collection(n, Path(os.environ["VAR_DIR"]))
        sys.exit(0)
    sys.exit(main())
