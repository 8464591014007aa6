"""Grid cells stored by a build and taken by placements, and the layouts over the points API."""

from __future__ import annotations

import numpy as np
import pytest

from collection.models import Artwork
from maps import builds, placing
from maps.layouts import Frame, nearest_free_cell
from maps.models import MapBuild, MapPoint
from tests.maps.test_map_builds import _unit, _works_with_vectors, clustered, feature_model, image, new_map  # noqa: F401

pytestmark = pytest.mark.django_db


def _cells(build: MapBuild) -> dict[int, tuple[int, int]]:
    return {a: (gx, gy) for a, gx, gy in build.points.values_list("artwork_id", "gx", "gy")}


def test_a_build_gives_every_work_its_own_grid_cell_and_records_the_frame(clustered):
    works, _, _ = clustered
    build = builds.build_map(new_map())
    cells = _cells(build)
    assert len(cells) == len(works) and None not in {c[0] for c in cells.values()}
    assert len(set(cells.values())) == len(works)
    record = build.params["grid"]
    assert record["method"] == "exact" and record["cols"] * record["rows"] >= len(works)
    assert record["version"] == 1 and record["seconds"] >= 0


def test_a_placed_work_takes_the_nearest_free_cell_and_no_other_work_moves(
    clustered, feature_model, image, django_capture_on_commit_callbacks
):
    works, X, _ = clustered
    build = builds.build_map(new_map())
    before = _cells(build)
    twin = works[7]
    vector = _unit(X[7] + 0.01 * np.random.default_rng(0).normal(size=X.shape[1]).astype(np.float32))
    [new_work] = _works_with_vectors(feature_model, image, [vector])
    with django_capture_on_commit_callbacks(execute=True):
        [point] = placing.place_artwork(new_work)
        placing.place_artwork(new_work)  # placed again: keeps to one cell, still its own
    after = _cells(build)
    assert {a: c for a, c in after.items() if a != new_work.pk} == before
    point.refresh_from_db()
    assert (point.gx, point.gy) not in set(before.values())
    frame = Frame.from_dict(build.params["grid"])
    target = frame.to_lattice(np.array([point.x, point.y]))
    assert (point.gx, point.gy) == nearest_free_cell(target, set(before.values()))
    # Near its near-twin, as far as a full lattice allows.
    assert np.abs(np.array([point.gx, point.gy]) - np.array(before[twin.pk])).max() <= 5


def test_the_points_api_lists_the_layouts_and_serves_each_parallel_to_the_ids(clustered, api_client):
    works, _, labels = clustered
    for i, work in enumerate(works):  # three decades, one in ten undated; classifications in two kinds
        Artwork.objects.filter(pk=work.pk).update(
            decade=None if i % 10 == 0 else 1850 + 10 * (i % 3), classification="print" if i % 2 else "painting"
        )
    builds.build_map(new_map())
    base = api_client.get("/api/v1/maps/all/points/").json()
    assert api_client.get("/api/v1/maps/all/").json()["layouts"] == ["tsne", "grid", "timeline", "group"]
    for layout in ("grid", "timeline", "group"):
        data = api_client.get(f"/api/v1/maps/all/points/?layout={layout}").json()
        assert data["layout"] == layout and data["tag"] == base["tag"]
        assert len(data["x"]) == len(data["y"]) == len(base["ids"])
        xy = np.array([data["x"], data["y"]], dtype=float).T
        assert np.all(np.abs(xy) <= data["scale"])
        # One pitch apart on some axis: thumbnails of one cell never overlap.
        for i in range(len(xy)):
            d = np.abs(xy[i + 1 :] - xy[i])
            assert not np.any((d[:, 0] < data["cell"] - 1) & (d[:, 1] < data["cell"] - 1)), layout
    timeline = api_client.get("/api/v1/maps/all/points/?layout=timeline").json()
    assert [r["label"] for r in timeline["regions"]] == ["1850s", "1860s", "1870s", "undated"]
    group = api_client.get("/api/v1/maps/all/points/?layout=group", HTTP_ACCEPT_LANGUAGE="nb").json()
    assert group["group_by"] == "classification"
    assert {r["label"] for r in group["regions"]} == {"painting", "print"}
    assert api_client.get("/api/v1/maps/all/points/?layout=spiral").status_code == 400


def test_layouts_leave_out_unpublished_works_and_a_build_without_cells_gets_a_grid_when_served(clustered, api_client):
    works, _, _ = clustered
    build = builds.build_map(new_map())
    hidden = works[:30]
    Artwork.objects.filter(pk__in=[w.pk for w in hidden]).update(published=False)
    Artwork.labels.through.objects.all().delete()  # one decade, one classification, no styles: no groups
    Artwork.objects.update(classification="painting")
    MapPoint.objects.filter(build=build).update(gx=None, gy=None)  # as a build from before the grid
    MapBuild.objects.filter(pk=build.pk).update(params={k: v for k, v in build.params.items() if k != "grid"})
    base = api_client.get("/api/v1/maps/all/points/").json()
    grid = api_client.get("/api/v1/maps/all/points/?layout=grid").json()
    assert len(base["ids"]) == len(grid["x"]) == len(works) - 30
    assert len(set(zip(grid["x"], grid["y"]))) == len(grid["x"])
    assert api_client.get("/api/v1/maps/all/").json()["layouts"] == ["tsne", "grid", "timeline"]


def test_a_work_placed_on_a_build_without_a_grid_frame_gets_no_cell(clustered, feature_model, image):
    works, X, _ = clustered
    build = builds.build_map(new_map())
    MapBuild.objects.filter(pk=build.pk).update(params={k: v for k, v in build.params.items() if k != "grid"})
    [new_work] = _works_with_vectors(feature_model, image, [X[3]])
    [point] = placing.place_artwork(new_work)
    assert point.gx is None and point.gy is None


def test_while_one_request_lays_a_layout_out_the_others_asking_for_it_get_a_503_and_compute_nothing(
    clustered, api_client, monkeypatch
):
    """At 100,000 works a layout takes seconds; a crowd asking after a change must not lay it out once each."""
    from django.core.cache import cache

    from maps import api

    builds.build_map(new_map())
    real, calls, meanwhile = api.layout_payload, [], []

    def laying_out(*args, **kwargs):
        calls.append(args[3])
        if len(calls) == 1:  # while this request lays the grid out, others ask for it, and for the timeline
            meanwhile.append(api_client.get("/api/v1/maps/all/points/?layout=grid"))
            meanwhile.append(api_client.get("/api/v1/maps/all/points/?layout=timeline"))
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "layout_payload", laying_out)
    cache.clear()

    first = api_client.get("/api/v1/maps/all/points/?layout=grid")

    assert first.status_code == 200 and len(first.json()["x"]) == len(first.json()["y"]) > 0
    busy, timeline = meanwhile
    assert busy.status_code == 503 and int(busy["Retry-After"]) > 0 and "being laid out" in busy.json()["detail"]
    assert timeline.status_code == 200 and timeline.json()["layout"] == "timeline"  # another key: not held up
    assert calls == ["grid", "timeline"]
    assert api_client.get("/api/v1/maps/all/points/?layout=grid").status_code == 200  # from the cache now
    assert calls == ["grid", "timeline"]


def test_the_map_detail_works_out_its_layouts_once_per_index_stamp_not_on_every_request(
    clustered, api_client, monkeypatch
):
    from core.stamp import bump_stamp
    from maps import api

    builds.build_map(new_map())
    calls = []
    counted = api.available_layouts
    monkeypatch.setattr(api, "available_layouts", lambda points: calls.append(1) or counted(points))
    first = api_client.get("/api/v1/maps/all/").json()["layouts"]
    assert api_client.get("/api/v1/maps/all/").json()["layouts"] == first
    assert len(calls) == 1
    bump_stamp()  # a work, vector or point changed: the answer is worked out again
    assert api_client.get("/api/v1/maps/all/").json()["layouts"] == first
    assert len(calls) == 2
