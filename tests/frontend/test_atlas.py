"""maps.atlas: the pure packing (layout, Hilbert order, sheets, index) and storing a build's atlases."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from maps import atlas
from maps.atlas import packing
from maps.atlas import storage as atlas_storage

# --- Pure functions -------------------------------------------------------------------------------


def test_fit_keeps_aspect_and_rounds_half_up():
    assert packing.fit(400, 300, 126) == (126, 95)  # 94.5 rounds up, as Math.floor(v + 0.5) in the browser
    assert packing.fit(300, 400, 126) == (95, 126)
    assert packing.fit(1, 1000, 6) == (1, 6)  # never zero wide
    assert packing.fit(0, 0, 10) == (10, 10)


@pytest.mark.parametrize(
    ("n", "levels"),
    [(12, [128]), (1_000, [128]), (5_000, [32, 128]), (20_000, [16, 64]), (100_000, [8, 32]), (1_000_000, [8])],
)
def test_levels_fit_the_budgets(n, levels):
    assert packing.choose_levels(n) == levels
    first = levels[0]
    assert packing.sheets_needed(n, first) * packing.SHEET_SIZE**2 <= packing.FIRST_LEVEL_BUDGET_PX or first == 8


def test_levels_never_exceed_the_thumbnail():
    assert packing.choose_levels(10, thumb_size=64) == [64]


def test_hilbert_order_keeps_neighbours_together():
    rng = np.random.default_rng(1)
    x, y = rng.random(20_000), rng.random(20_000)
    order = packing.hilbert_order(x, y)
    assert sorted(order.tolist()) == list(range(20_000))
    steps = np.hypot(np.diff(x[order]), np.diff(y[order]))
    random_steps = np.hypot(np.diff(x), np.diff(y))
    assert np.median(steps) < np.median(random_steps) / 20
    # A sheet of 4096 consecutive works covers a compact part of the map, not all of it.
    chunk = order[:4096]
    area = np.ptp(x[chunk]) * np.ptp(y[chunk])
    assert area < 0.5


def test_hilbert_order_of_nothing_and_of_one_point():
    assert packing.hilbert_order([], []).tolist() == []
    assert packing.hilbert_order([0.3], [0.3]).tolist() == [0]


def test_sheet_layout_row_by_row():
    assert packing.columns(32) == 64 and packing.per_sheet(32) == 4096
    assert packing.cell_origin(0, 32) == (0, 0, 0)
    assert packing.cell_origin(65, 32) == (0, 32, 32)
    assert packing.cell_origin(4096, 32) == (1, 0, 0)
    assert packing.sheet_height(1, 32) == 32
    assert packing.sheet_height(65, 32) == 64
    assert packing.sheet_height(64 * 3, 32) == 128  # 96 rounded up to a power of two
    assert packing.sheet_height(4096, 32) == 2048


def test_pack_places_each_image_in_its_cell_with_an_extruded_gutter():
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]
    images = [Image.new("RGB", (40, 30) if i % 2 else (30, 40), c) for i, c in enumerate(colours)]
    sheets = list(packing.pack(images, [16], sheet_size=32))
    assert [(s.count, s.first, s.image.size) for s in sheets] == [(4, 0, (32, 32)), (1, 4, (32, 16))]
    for i, colour in enumerate(colours):
        aspect = packing.aspect_of(images[i])
        sheet_no, x, y, w, h = packing.image_rect(i, *aspect, cell=16, sheet_size=32)
        sheet = sheets[sheet_no].image
        assert sheet.getpixel((x + w // 2, y + h // 2)) == colour
        assert sheet.getpixel((x, y)) == colour and sheet.getpixel((x + w - 1, y + h - 1)) == colour
        # The gutter repeats the edge, so filtering never reaches a neighbour's colour.
        assert sheet.getpixel((x - 1, y + h // 2)) == colour
        assert sheet.getpixel((x + w, y + h // 2)) == colour


def test_pack_levels_share_one_order():
    images = [Image.new("RGB", (20, 20), (i, i, i)) for i in range(0, 250, 10)]
    sheets = list(packing.pack(images, [8, 32], sheet_size=64))
    by_cell: dict[int, int] = {}
    for s in sheets:
        by_cell[s.cell] = by_cell.get(s.cell, 0) + s.count
    assert by_cell == {8: 25, 32: 25}


def test_packer_rejects_a_cell_without_room():
    with pytest.raises(ValueError):
        packing.SheetPacker(cell=2)


def test_index_round_trip():
    ids = [5, 1, 99_999_999]
    aspects = [(255, 191), (191, 255), (255, 255)]
    data = packing.encode_index(ids, aspects)
    assert data[:4] == b"ATL1" and len(data) == 8 + 6 * 3
    got_ids, got_aspects = packing.decode_index(data)
    assert got_ids.tolist() == ids
    assert got_aspects.tolist() == [list(a) for a in aspects]
    with pytest.raises(ValueError):
        packing.decode_index(b"nope")


# --- Stored for a build -----------------------------------------------------------------------------


@pytest.fixture
def small_build(db):
    from maps.models import Map, MapBuild, MapPoint
    from tests.factories import artwork_with_image, image_bytes

    map_obj = Map.objects.create(slug="all", title="All works")
    build = MapBuild.objects.create(map=map_obj, version=3, feature_version="f")
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 20)]
    works = []
    for i, colour in enumerate(colours):
        work = artwork_with_image(image_bytes("PNG", size=(120 + 40 * i, 90), colour=colour), accession_number=f"A.{i}")
        MapPoint.objects.create(build=build, artwork=work, x=-0.5 + 0.3 * i, y=0.1 * i)
        works.append(work)
    return build, works, colours


def test_build_atlases_stores_sheets_and_records_them(small_build):
    from collection import storage

    build, works, colours = small_build
    meta = atlas.build_atlases(build)
    build.refresh_from_db()
    assert build.atlases == meta
    assert meta["count"] == 4 and meta["skipped"] == 0
    assert [lvl["cell"] for lvl in meta["levels"]] == [128]
    sheet = meta["levels"][0]["sheets"][0]
    assert sheet["key"].startswith(f"atlases/all/v3-b{build.pk}/128/0000-") and sheet["key"].endswith(".webp")
    assert sheet["count"] == 4 and sheet["first"] == 0 and sheet["height"] == 128
    ids, aspects = atlas.decode_index(storage.get("public", meta["index"]))
    assert sorted(ids.tolist()) == sorted(w.pk for w in works)
    image = Image.open(io.BytesIO(storage.get("public", sheet["key"]))).convert("RGB")
    # Each work's colour sits where the index says it is.
    for i, work_id in enumerate(ids.tolist()):
        _, x, y, w, h = packing.image_rect(i, *aspects[i], cell=128)
        colour = colours[[w_.pk for w_ in works].index(work_id)]
        got = image.getpixel((x + w // 2, y + h // 2))
        assert max(abs(a - b) for a, b in zip(got, colour)) < 12
    # Keys are content-addressed: the same build's sheets are cacheable forever.
    assert atlas.build_atlases(build)["levels"][0]["sheets"][0]["key"] == sheet["key"]


def test_unpublished_works_and_missing_thumbnails_stay_out(small_build):
    from collection import storage

    build, works, _ = small_build
    works[0].published = False
    works[0].save()
    storage.delete("public", works[1].image.derivatives["thumb"])
    meta = atlas.build_atlases(build)
    ids, _ = atlas.decode_index(storage.get("public", meta["index"]))
    assert sorted(ids.tolist()) == sorted([works[2].pk, works[3].pk])
    assert meta["skipped"] == 1


def test_public_description_has_urls_not_keys(small_build):
    build, _, _ = small_build
    meta = atlas.build_atlases(build)
    public = atlas.public_description(meta)
    sheet = public["levels"][0]["sheets"][0]
    assert sheet["url"].startswith("http") and "key" not in sheet
    assert public["index"].startswith("http")
    assert atlas.public_description({}) is None
    assert atlas.public_description({"levels": [], "error": "x"}) is None


def test_store_atlases_records_a_failure_instead_of_raising(small_build, monkeypatch):
    build, _, _ = small_build

    def broken(*args, **kwargs):
        raise RuntimeError("storage is on fire")

    monkeypatch.setattr(atlas_storage, "build_atlases", broken)
    meta = atlas.store_atlases(build)
    build.refresh_from_db()
    assert "storage is on fire" in build.atlases["error"] and meta["levels"] == []


def test_empty_build_gets_empty_atlases(db):
    from maps.models import Map, MapBuild

    build = MapBuild.objects.create(map=Map.objects.create(slug="e", title="E"), version=1, feature_version="f")
    assert atlas.build_atlases(build)["levels"] == []
