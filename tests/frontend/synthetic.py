"""A small synthetic collection with a live map build and its atlases, for the website's tests.

No torch: positions are laid out by hand and the atlases are made by maps.atlas, exactly
as the worker would after a build. Each work's image is one solid, distinct colour, so a test can
find a work's thumbnail in a screenshot by its colour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from collection.models import Artwork
from maps.atlas import build_atlases
from maps.models import Cluster, DecadeWork, Map, MapBuild, MapPoint
from tests.factories import artwork_with_image, image_bytes

# Saturated colours far apart from each other and from the map's dark background.
COLOURS = [
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
    (0, 128, 128),
    (170, 110, 40),
]
ARTISTS = ["Berthe Morisot", "Claude Monet", "Harriet Backer"]


@dataclass
class SyntheticMap:
    map: Map
    build: MapBuild
    works: list[Artwork]
    colours: dict[int, tuple[int, int, int]]  # artwork id -> colour
    positions: dict[int, tuple[float, float]] = field(default_factory=dict)
    extra: Artwork | None = None  # placed after the build: not in the atlases


def make_synthetic_map(n: int = 12, *, slug: str = "all", with_extra: bool = True) -> SyntheticMap:
    works: list[Artwork] = []
    colours: dict[int, tuple[int, int, int]] = {}
    positions: dict[int, tuple[float, float]] = {}
    for i in range(n):
        colour = COLOURS[i % len(COLOURS)]
        size = (480, 360) if i % 3 else (300, 420)  # landscapes and portraits
        decade = 1850 + 10 * (i % 4)
        work = artwork_with_image(
            image_bytes("PNG", size=size, colour=colour),
            accession_number=f"SYN.{i:03d}",
            title=f"Synthetic study {i}",
            artist_display=ARTISTS[i % len(ARTISTS)],
            date_display=str(decade + 3),
            year_start=decade + 3,
            year_end=decade + 3,
            decade=decade,
            classification="painting" if i % 4 else "drawing",
        )
        works.append(work)
        colours[work.pk] = colour
        # A 4 × 3 grid across the map, so every work has room.
        col, row = i % 4, i // 4
        positions[work.pk] = (-0.75 + col * 0.5, -0.6 + row * 0.6)
    map_obj, _ = Map.objects.get_or_create(slug=slug, defaults={"title": "All works"})
    build = MapBuild.objects.create(map=map_obj, version=map_obj.next_version(), feature_version="synthetic")
    MapPoint.objects.bulk_create(
        [
            MapPoint(
                build=build,
                artwork=w,
                x=positions[w.pk][0],
                y=positions[w.pk][1],
                cluster=0 if positions[w.pk][0] < 0 else 1,
            )
            for w in works
        ]
    )
    build.n_points = len(works)
    build.save(update_fields=["n_points"])
    Cluster.objects.bulk_create(
        [
            Cluster(
                build=build, label=0, name="Morisot, 1850s", terms=["Morisot", "1850s"], size=n // 2, x=-0.5, y=0.0
            ),
            Cluster(build=build, label=1, name="Monet, 1870s", terms=["Monet", "1870s"], size=n - n // 2, x=0.5, y=0.0),
        ]
    )
    rows = []
    for decade in sorted({w.decade for w in works}):
        members = [w for w in works if w.decade == decade]
        for rank, w in enumerate(members[:2]):
            rows.append(
                DecadeWork(
                    build=build,
                    decade=decade,
                    decade_count=len(members),
                    kind="typical",
                    rank=rank,
                    artwork=w,
                    distance=0.1 * rank,
                )
            )
        rows.append(
            DecadeWork(
                build=build,
                decade=decade,
                decade_count=len(members),
                kind="outlier",
                rank=0,
                artwork=members[-1],
                distance=0.9,
            )
        )
    DecadeWork.objects.bulk_create(rows)
    build_atlases(build)
    map_obj.go_live(build)
    result = SyntheticMap(map=map_obj, build=build, works=works, colours=colours, positions=positions)
    if with_extra:
        # A work placed by the network after the build: in the points, not in the atlases.
        extra = artwork_with_image(
            image_bytes("PNG", size=(400, 400), colour=(255, 255, 255)),
            accession_number="SYN.NEW",
            title="Newly placed work",
            artist_display="Claude Monet",
            date_display="1901",
            year_start=1901,
            year_end=1901,
            decade=1900,
        )
        MapPoint.objects.create(build=build, artwork=extra, x=0.0, y=0.9, placed=True)
        result.extra = extra
        result.positions[extra.pk] = (0.0, 0.9)
        result.colours[extra.pk] = (255, 255, 255)
    build.refresh_from_db()
    return result
