"""Map builds, placement, decades and the maps API, on vectors made for the test."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.management import call_command

from analysis.models import Embedding, FeatureModel
from collection.models import Artwork
from maps import builds, placing, tasks
from maps.models import DecadeWork, Map, MapBuild, MapPoint
from tests.conftest import make_jpeg
from tests.factories import ArtworkFactory, LabelFactory
from tests.maps.synthetic import clustered_embeddings

pytestmark = pytest.mark.django_db


# A small training budget: these tests check the plumbing; tests/maps/test_parametric.py checks quality.
FAST = {"parametric": {"pretrain_steps": [300, 300], "kl_steps": [100, 100]}}


def new_map(slug: str = "all") -> Map:
    return Map.objects.create(slug=slug, title="All works", params=FAST)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@pytest.fixture
def feature_model() -> FeatureModel:
    fm = FeatureModel.objects.create(version="test:pretrained:0001", backbone="test", kind="pretrained", dim=16)
    fm.activate()
    return fm


@pytest.fixture
def image():
    from collection import images

    return images.ingest(make_jpeg(), name="shared.jpg")


def _works_with_vectors(feature_model, image, vectors, *, decades=None, labels=None, published=None):
    works = []
    for i, vector in enumerate(vectors):
        work = ArtworkFactory(
            image=image,
            decade=(decades[i] if decades is not None else 1880),
            published=(published[i] if published is not None else True),
        )
        if labels is not None:
            work.labels.add(LabelFactory(kind="style", name=f"style-{labels[i]}"))
        Embedding.objects.create(
            artwork=work, feature_model=feature_model, image_sha256=image.sha256, vector=Embedding.pack(vector)
        )
        works.append(work)
    return works


@pytest.fixture
def clustered(feature_model, image):
    X, y = clustered_embeddings(n=120, dim=16, n_clusters=4, seed=3)
    X = _unit(np.asarray(X, dtype=np.float32))
    works = _works_with_vectors(feature_model, image, X, labels=list(y))
    return works, X, np.asarray(y)


def test_building_a_map_gives_every_member_work_coordinates(clustered):
    works, X, _ = clustered
    map_obj = new_map()
    build = builds.build_map(map_obj)
    map_obj.refresh_from_db()
    assert map_obj.live_build_id == build.pk
    assert build.status == MapBuild.Status.READY
    coords = np.array(build.points.values_list("x", "y"))
    assert build.points.count() == len(works) == build.n_points
    assert np.all(np.abs(coords) <= 1.0)
    assert build.metrics["parametric"]["trustworthiness"] > 0.85
    assert build.metrics["parametric"]["knn_accuracy"] > 0.8
    assert build.parametric_key and build.feature_version == "test:pretrained:0001"


def test_placing_a_new_work_moves_no_other_work_and_lands_near_its_neighbours(
    clustered, feature_model, image, django_capture_on_commit_callbacks
):
    works, X, _ = clustered
    map_obj = new_map()
    build = builds.build_map(map_obj)
    before = dict((a, (x, y)) for a, x, y in build.points.values_list("artwork_id", "x", "y"))

    twin = works[7]
    new_vector = _unit(X[7] + 0.01 * np.random.default_rng(0).normal(size=X.shape[1]).astype(np.float32))
    [new_work] = _works_with_vectors(feature_model, image, [new_vector])
    with django_capture_on_commit_callbacks(execute=True):  # the statistics refresh runs after commit
        [point] = placing.place_artwork(new_work)

    after = dict((a, (x, y)) for a, x, y in build.points.exclude(artwork=new_work).values_list("artwork_id", "x", "y"))
    assert after == before
    assert point.placed
    all_xy = np.array([before[w.pk] for w in works])
    distances = np.linalg.norm(all_xy - np.array([point.x, point.y]), axis=1)
    nearest_on_map = {works[i].pk for i in np.argsort(distances)[:10]}
    assert twin.pk in nearest_on_map
    build.refresh_from_db()
    assert build.placed_metrics["n_points"] == 1.0
    assert build.placed_metrics["trustworthiness"] > 0.8


def test_a_near_duplicate_work_is_placed_beside_its_twin_not_on_top_of_it(clustered, feature_model, image, monkeypatch):
    """A second photograph of one painting, which the placement puts right on its twin: a visitor would see one work."""
    works, X, _ = clustered
    build = builds.build_map(new_map())
    twin = works[7]
    [copy] = _works_with_vectors(feature_model, image, [X[7] + 1e-6])
    twin_xy = build.points.values_list("x", "y").get(artwork=twin)
    on_twin = np.add(twin_xy, 1e-5)
    monkeypatch.setattr(placing.Placer, "place", lambda self, X: np.repeat(on_twin[None, :], len(X), axis=0))
    gap = placing.free_gap(build)
    assert gap > 0

    [point] = placing.place_artwork(copy)
    others = np.array(build.points.exclude(artwork=copy).values_list("x", "y"))
    distances = np.linalg.norm(others - (point.x, point.y), axis=1)
    assert distances.min() >= gap - 1e-9  # it covers no work
    assert np.linalg.norm(np.subtract(twin_xy, (point.x, point.y))) <= 4 * gap  # and stays beside its twin
    [again] = placing.place_artwork(copy)  # placed again (re-processed): the same spot, its own old point ignored
    assert (again.x, again.y) == (point.x, point.y)


@pytest.fixture
def refreshes_enqueued(monkeypatch) -> list[tuple[tuple, dict]]:
    """Records the statistics refreshes sent to the queue instead of sending them."""
    calls: list[tuple[tuple, dict]] = []
    monkeypatch.setattr(tasks.refresh_build_statistics, "apply_async", lambda args, **kw: calls.append((args, kw)))
    return calls


def test_a_burst_of_placements_enqueues_one_statistics_refresh_that_brings_them_all_in(
    clustered, feature_model, image, settings, refreshes_enqueued, django_capture_on_commit_callbacks
):
    settings.DECADE_MIN_WORKS = 3
    works, X, _ = clustered
    map_obj = new_map()
    build = builds.build_map(map_obj)
    rng = np.random.default_rng(4)
    vectors = _unit(X[:12] + 0.01 * rng.normal(size=(12, X.shape[1])).astype(np.float32))
    burst = _works_with_vectors(feature_model, image, vectors, decades=[1950] * 12)

    with django_capture_on_commit_callbacks(execute=True):
        for work in burst:
            assert len(placing.place_artwork(work)) == 1
    assert refreshes_enqueued == [((build.pk,), {"countdown": tasks.STATISTICS_REFRESH_COUNTDOWN_S})]
    build.refresh_from_db()
    assert build.placed_metrics == {} and not build.decade_works.filter(decade=1950).exists()

    # the worker runs the one refresh: every placed work is in the statistics
    tasks.refresh_build_statistics(build.pk)
    build.refresh_from_db()
    assert build.placed_metrics["n_points"] == 12.0
    assert set(build.decade_works.filter(decade=1950).values_list("decade_count", flat=True)) == {12}


def test_a_placement_after_a_refresh_has_started_schedules_the_next_one(
    clustered, feature_model, image, refreshes_enqueued, django_capture_on_commit_callbacks
):
    works, X, _ = clustered
    build = builds.build_map(new_map())
    first, second = _works_with_vectors(feature_model, image, _unit(X[:2] + 0.01))
    with django_capture_on_commit_callbacks(execute=True):
        placing.place_artwork(first)
    tasks.refresh_build_statistics(build.pk)
    with django_capture_on_commit_callbacks(execute=True):
        placing.place_artwork(second)
    assert [args for args, _ in refreshes_enqueued] == [(build.pk,), (build.pk,)]
    tasks.refresh_build_statistics(build.pk)
    build.refresh_from_db()
    assert build.placed_metrics["n_points"] == 2.0


def test_a_failed_rebuild_leaves_the_old_build_live(clustered, monkeypatch):
    map_obj = new_map()
    first = builds.build_map(map_obj)

    def broken(*args, **kwargs):
        raise RuntimeError("simulated crash in the middle of a build")

    monkeypatch.setattr(builds, "refresh_clusters", broken)
    with pytest.raises(RuntimeError):
        builds.build_map(map_obj)
    map_obj.refresh_from_db()
    assert map_obj.live_build_id == first.pk
    failed = map_obj.builds.exclude(pk=first.pk).get()
    assert failed.status == MapBuild.Status.FAILED
    assert "simulated crash" in failed.error


def test_a_map_without_features_says_what_to_do(db):
    map_obj = new_map()
    with pytest.raises(builds.MapBuildError, match="process the collection"):
        builds.build_map(map_obj)


def test_decades_list_the_works_closest_to_and_farthest_from_the_mean(feature_model, image, settings):
    settings.DECADE_MIN_WORKS = 3
    settings.DECADE_TOP_N = 2
    rng = np.random.default_rng(5)
    base = _unit(rng.normal(size=16).astype(np.float32))
    # Five works near a common direction, and one that points elsewhere: the outlier.
    vectors = [_unit(base + 0.05 * rng.normal(size=16).astype(np.float32)) for _ in range(5)]
    vectors.append(_unit(-base + 0.1 * rng.normal(size=16).astype(np.float32)))
    filler = _unit(rng.normal(size=(8, 16)).astype(np.float32))
    works = _works_with_vectors(feature_model, image, list(vectors) + list(filler), decades=[1880] * 6 + [1920] * 8)
    map_obj = new_map()
    build = builds.build_map(map_obj)
    rows = DecadeWork.objects.filter(build=build, decade=1880)
    outliers = list(rows.filter(kind="outlier").order_by("rank"))
    typical = list(rows.filter(kind="typical").order_by("rank"))
    assert outliers[0].artwork_id == works[5].pk
    assert works[5].pk not in {t.artwork_id for t in typical}
    assert typical[0].distance < outliers[0].distance
    assert rows.first().decade_count == 6


def test_unpublished_works_never_appear_in_points_or_decades(feature_model, image, api_client, settings):
    settings.DECADE_MIN_WORKS = 2
    X = _unit(np.random.default_rng(1).normal(size=(20, 16)).astype(np.float32))
    published = [i % 4 != 0 for i in range(20)]
    works = _works_with_vectors(feature_model, image, X, published=published)
    map_obj = new_map()
    builds.build_map(map_obj)
    hidden = {w.pk for w, p in zip(works, published) if not p}

    points = api_client.get("/api/v1/maps/all/points/").json()
    assert len(points["ids"]) == 15 and not hidden & set(points["ids"])
    assert len(points["x"]) == len(points["y"]) == 15
    assert all(-points["scale"] <= v <= points["scale"] for v in points["x"])

    decades = api_client.get("/api/v1/decades/?map=all").json()["decades"]
    shown = {item["artwork"]["id"] for d in decades for item in d["typical"] + d["outliers"]}
    assert shown and not hidden & shown


def test_the_maps_api_describes_the_live_build(clustered, api_client):
    map_obj = new_map()
    builds.build_map(map_obj)
    listing = api_client.get("/api/v1/maps/").json()
    assert [m["slug"] for m in listing] == ["all"]
    detail = api_client.get("/api/v1/maps/all/").json()
    assert detail["build"]["version"] == 1
    assert detail["build"]["feature_version"] == "test:pretrained:0001"
    assert {"trustworthiness", "knn_recall"} <= set(detail["build"]["metrics"]["parametric"])
    assert detail["clusters"], "four clear groups should give named clusters"
    assert api_client.get("/api/v1/maps/nope/points/").status_code == 404
    assert api_client.get("/api/v1/decades/").status_code == 400


def test_the_points_response_is_compact_and_compressed(clustered, client):
    map_obj = new_map()
    builds.build_map(map_obj)
    response = client.get("/api/v1/maps/all/points/", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "public" in response["Cache-Control"]


def test_build_map_command_creates_the_map_and_reports_quality(clustered, capsys):
    new_map()
    call_command("build_map", "all")
    out = capsys.readouterr().out
    assert "Map all v1 is live: 120 works" in out
    assert Map.objects.get(slug="all").live_build.points.count() == 120
    assert MapPoint.objects.filter(placed=True).count() == 0
    assert Artwork.objects.count() == 120


def test_a_map_on_the_opentsne_layout_places_new_works_with_the_network_in_the_same_frame(
    clustered, feature_model, image
):
    works, X, _ = clustered
    map_obj = Map.objects.create(
        slug="all",
        title="All works",
        params={"layout": "opentsne", "parametric": {"pretrain_steps": [1500, 1500], "kl_steps": [100, 100]}},
    )
    build = builds.build_map(map_obj)
    assert build.metrics["layout"] == "opentsne"
    assert build.layout_metrics == build.metrics["opentsne"]
    assert build.layout_metrics["trustworthiness"] > 0.85

    twin = works[11]
    [new_work] = _works_with_vectors(feature_model, image, [X[11]])
    [point] = placing.place_artwork(new_work)
    xy = dict((a, (x, y)) for a, x, y in build.points.exclude(artwork=new_work).values_list("artwork_id", "x", "y"))
    all_xy = np.array([xy[w.pk] for w in works])
    distances = np.linalg.norm(all_xy - np.array([point.x, point.y]), axis=1)
    assert twin.pk in {works[i].pk for i in np.argsort(distances)[:10]}


def test_bad_map_params_are_refused_before_any_work_and_the_old_build_stays_live(clustered):
    map_obj = new_map()
    old = builds.build_map(map_obj)
    for params, message in (
        ({"layout": "umap"}, "unknown layout 'umap'"),
        ({"placement": {"steps": 10}}, "unknown placement parameter.*steps"),
        ({"placement": 5}, "params.placement must be an object"),
        ({"placement": {"n_iter": -3}}, "n_iter >= 0"),
    ):
        map_obj.params = {**FAST, **params}
        map_obj.save()
        with pytest.raises(builds.MapBuildError, match=message):
            builds.build_map(map_obj)
    map_obj.refresh_from_db()
    assert map_obj.live_build_id == old.pk
    assert not MapBuild.objects.filter(map=map_obj).exclude(pk=old.pk).exists()


def test_a_new_work_is_refined_among_the_fitted_works_from_the_networks_start(clustered, feature_model, image):
    works, X, _ = clustered
    build = builds.build_map(new_map())
    assert build.params["placement"]["perplexity"] == 30.0  # the map's own
    placer = placing.placer(build)
    assert len(placer.reference) == len(works)
    # the reference is the fitted layout as shown, back in t-SNE units
    shown = dict((a, (x, y)) for a, x, y in build.points.values_list("artwork_id", "x", "y"))
    ids = sorted(shown)
    np.testing.assert_allclose(
        placer.net.normalisation.apply(placer.reference.coords), np.array([shown[i] for i in ids]), atol=1e-9
    )

    vector = _unit(X[30] + 0.02 * np.random.default_rng(1).normal(size=X.shape[1]).astype(np.float32))
    [new_work] = _works_with_vectors(feature_model, image, [vector])
    [point] = placing.place_artwork(new_work)
    network_only = placer.net.transform(vector[None, :])[0]
    refined = placer.net.normalisation.apply(
        placer.reference.place(vector[None, :], placer.net.transform_raw(vector[None, :]), placer.params)
    )[0]
    np.testing.assert_allclose([point.x, point.y], refined, atol=1e-9)
    assert not np.allclose(refined, network_only)
    # placed works never join the reference: a later placement does not depend on earlier ones
    assert len(placing.placer(build).reference) == len(works)


def test_a_map_can_keep_the_networks_forward_pass_alone(clustered, feature_model, image):
    works, X, _ = clustered
    map_obj = Map.objects.create(slug="all", title="All works", params={**FAST, "placement": {"n_iter": 0}})
    build = builds.build_map(map_obj)
    placer = placing.placer(build)
    assert placer.reference is None  # nothing to load
    vector = _unit(X[5] + 0.02)
    [new_work] = _works_with_vectors(feature_model, image, [vector])
    [point] = placing.place_artwork(new_work)
    np.testing.assert_allclose([point.x, point.y], placer.net.transform(vector[None, :])[0], atol=1e-6)


def test_placing_on_two_maps_in_turn_loads_each_maps_fitted_works_once(clustered, feature_model, image, monkeypatch):
    works, X, _ = clustered
    first = builds.build_map(new_map("all"))
    second = builds.build_map(Map.objects.create(slug="again", title="Again", params=FAST))
    loads: list[int] = []
    real = placing.fitted_reference
    monkeypatch.setattr(placing, "fitted_reference", lambda build, norm: loads.append(build.pk) or real(build, norm))
    for i in range(3):
        [new_work] = _works_with_vectors(feature_model, image, [_unit(X[i] + 0.01)])
        assert len(placing.place_artwork(new_work)) == 2
    assert sorted(loads) == sorted([first.pk, second.pk])
    third = builds.build_map(Map.objects.get(slug="again"))  # "again" gets a new live build
    [new_work] = _works_with_vectors(feature_model, image, [_unit(X[5] + 0.01)])
    placing.place_artwork(new_work)
    assert set(placing._placers) == {first.pk, third.pk}  # the replaced build's placer is gone

    # a fitted work deleted since: the placer is loaded again without it
    works[0].delete()
    placing.placer(first)
    assert len(placing.placer(first).reference) == len(works) - 1
    assert loads.count(first.pk) == 2
