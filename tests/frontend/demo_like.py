"""A map like the demo's for the browser tests: its 267 paintings (demo/aic-paintings, shrunk) on synthetic islands.

No torch: the positions are seeded islands of different sizes and spreads with a few stragglers (the
shape a t-SNE map of a few hundred works takes), normalised to the [-1, 1] frame; the regions, their names
and previews are made by the build's own code (maps.summaries.refresh_clusters), the atlases by maps.atlas.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from PIL import Image

from maps.atlas import build_atlases
from maps.models import Map, MapBuild, MapPoint
from maps.summaries import refresh_clusters
from tests.factories import artwork_with_image

DEMO = Path(__file__).resolve().parents[2] / "demo" / "aic-paintings"


def island_coords(n: int, seed: int = 0) -> np.ndarray:
    """Eight islands of 8 % to 20 % of the works, spreads 0.04 to 0.12, and 5 % stragglers; in [-1, 1]."""
    rng = np.random.default_rng(seed)
    stragglers = max(1, n // 20)
    shares = rng.dirichlet(np.full(8, 6.0))
    sizes = np.floor(shares * (n - stragglers)).astype(int)
    sizes[0] += n - stragglers - sizes.sum()
    centres = rng.uniform(-0.8, 0.8, size=(8, 2))
    parts = [c + rng.normal(scale=rng.uniform(0.04, 0.12), size=(k, 2)) for c, k in zip(centres, sizes)]
    xy = np.concatenate([*parts, rng.uniform(-1, 1, size=(stragglers, 2))])
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    return (xy - (lo + hi) / 2) / (np.max(hi - lo) / 2)


def _shrunk(path: Path, side: int = 256) -> bytes:
    image = Image.open(path).convert("RGB")
    image.thumbnail((side, side))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def make_demo_like_map(slug: str = "all") -> MapBuild:
    with (DEMO / "artworks.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    works = [
        artwork_with_image(
            _shrunk(DEMO / row["image"]),
            accession_number=f"AIC.{row['object_id']}",
            title=row["title"],
            artist_display=row["artist"],
            date_display=row["date"],
            classification="painting",
        )
        for row in rows
    ]
    coords = island_coords(len(works))
    map_obj, _ = Map.objects.get_or_create(slug=slug, defaults={"title": "All works"})
    build = MapBuild.objects.create(map=map_obj, version=map_obj.next_version(), feature_version="demo-like")
    MapPoint.objects.bulk_create(
        [MapPoint(build=build, artwork=w, x=float(x), y=float(y)) for w, (x, y) in zip(works, coords)]
    )
    build.n_points = len(works)
    build.save(update_fields=["n_points"])
    refresh_clusters(build, np.array([w.pk for w in works]), coords)
    build_atlases(build)
    map_obj.go_live(build)
    build.refresh_from_db()
    return build
