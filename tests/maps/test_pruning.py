"""Old map builds are deleted with their stored files once newer ones are live."""

from __future__ import annotations

import numpy as np
import pytest

from collection import storage
from maps import builds
from maps.atlas import stored_keys
from maps.models import MapBuild, MapPoint
from tests.maps.test_map_builds import clustered, feature_model, image, new_map  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def _files_of(build: MapBuild) -> list[tuple[str, str]]:
    return [("public", key) for key in stored_keys(build.atlases)] + [("private", build.parametric_key)]


def test_a_third_build_deletes_the_first_with_its_atlases_and_network_and_keeps_the_previous(clustered, settings):
    settings.MAP_BUILDS_KEPT = 2
    map_obj = new_map()
    first = builds.build_map(map_obj)
    first_files = _files_of(first)
    assert len(first_files) >= 3 and all(storage.exists(area, key) for area, key in first_files)
    second = builds.build_map(map_obj)
    assert MapBuild.objects.filter(pk=first.pk).exists(), (
        "the previous build is kept for pages loaded before the switch"
    )

    third = builds.build_map(map_obj)

    assert not MapBuild.objects.filter(pk=first.pk).exists()
    assert not MapPoint.objects.filter(build_id=first.pk).exists()
    assert not any(storage.exists(area, key) for area, key in first_files)
    assert set(map_obj.builds.values_list("pk", flat=True)) == {second.pk, third.pk}
    assert all(storage.exists(area, key) for area, key in _files_of(second) + _files_of(third))


def test_pruning_keeps_the_live_build_and_the_newest_failure(clustered, settings, monkeypatch):
    settings.MAP_BUILDS_KEPT = 1
    map_obj = new_map()
    live = builds.build_map(map_obj)

    def broken(*args, **kwargs):
        raise RuntimeError("the network diverged")

    monkeypatch.setattr("maps.parametric.ParametricTSNE.fit", broken)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            builds.build_map(map_obj)
    failures = list(map_obj.builds.filter(status=MapBuild.Status.FAILED).order_by("version"))
    assert len(failures) == 2

    deleted = builds.prune_builds(map_obj)

    assert deleted == 1
    remaining = set(map_obj.builds.values_list("pk", flat=True))
    assert remaining == {live.pk, failures[-1].pk}
    assert "the network diverged" in MapBuild.objects.get(pk=failures[-1].pk).error
    coords = np.array(live.points.values_list("x", "y"))
    assert len(coords) == live.n_points
