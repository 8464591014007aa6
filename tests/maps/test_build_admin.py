"""A map build's admin page reads as tables, and its actions (rebuild, make live, compare) are guarded."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from collection import storage
from core.models import Job
from maps import builds
from maps.compare import neighbour_change
from maps.models import Cluster, DecadeWork, Map, MapBuild, MapPoint
from tests.factories import ArtworkFactory, artwork_with_image, image_bytes
from tests.maps.test_map_builds import clustered, feature_model, image, new_map  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def page_of(client, build: MapBuild) -> str:
    response = client.get(f"/admin/embeddings/mapbuild/{build.pk}/change/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def hand_made_build(version: int = 2, **fields) -> MapBuild:
    map_obj = Map.objects.filter(slug="all").first() or Map.objects.create(slug="all", title="All works")
    defaults = {
        "feature_version": "f:1",
        "status": MapBuild.Status.READY,
        "metrics": {
            "parametric": {"trustworthiness": 0.9523, "knn_recall": 0.3871, "kl_last": 1.25},
            "opentsne": {"trustworthiness": 0.9701, "knn_recall": 0.4102},
            "layout": "parametric",
        },
        "placed_metrics": {"trustworthiness": 0.931, "knn_recall": 0.4444, "n_points": 12.0},
        "params": {"tsne": {"perplexity": 30.0, "seed": 0}, "parametric": {"kl_steps": [100, 100]}},
    }
    return MapBuild.objects.create(map=map_obj, version=version, **{**defaults, **fields})


def test_the_build_page_shows_its_measures_against_their_anchors_and_its_parameters(admin_client_for_curator):
    build = hand_made_build()
    Cluster.objects.create(build=build, label=0, name="harbour, boats", terms=["harbour"], size=41, x=0, y=0)

    page = page_of(admin_client_for_curator, build)

    row = re.search(r'<tr class="metric-trustworthiness">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r"0\.952</td>\s*<td class=\"num\">0\.970", row)
    assert "0.975: openTSNE, 4,200 real paintings, fine-tuned features" in row
    recall = re.search(r'<tr class="metric-knn_recall">(.*?)</tr>', page, re.S).group(1)
    assert "0.387" in recall and "0.410" in recall and "0.607: openTSNE, 5,000 synthetic" in recall
    assert "parametric (shown)" in page
    assert "0.444" in page[page.index('id="build-placed"') :]
    assert "<code>tsne.perplexity</code></td><td><code>30.0</code>" in page
    assert "<code>parametric.kl_steps</code></td><td><code>[100, 100]</code>" in page
    assert 'harbour, boats</td><td class="num">41' in page
    assert '"trustworthiness":' not in page, "no raw JSON left"


def test_the_build_page_shows_each_decade_s_typical_and_outlier_works_as_thumbnails(admin_client_for_curator):
    build = hand_made_build()
    image = artwork_with_image(image_bytes("JPEG")).image
    typical = ArtworkFactory(image=image, title="Most typical", decade=1880)
    outlier = artwork_with_image(image_bytes("PNG"), title="Odd one", decade=1880, published=False)
    DecadeWork.objects.create(
        build=build, decade=1880, decade_count=14, kind="typical", rank=0, artwork=typical, distance=0.1
    )
    DecadeWork.objects.create(
        build=build, decade=1880, decade_count=14, kind="outlier", rank=0, artwork=outlier, distance=2.0
    )

    page = page_of(admin_client_for_curator, build)

    decades = page[page.index('id="build-decades"') :]
    assert '1880s</td><td class="num">14' in decades
    assert f'<img class="decade-thumb typical" src="{typical.image.url("thumb")}" alt="Most typical"' in decades
    outlier_img = re.search(r'<img class="decade-thumb outlier" src="([^"]+)" alt="Odd one"', decades)
    assert outlier_img and "Signature=" in outlier_img.group(1), "an unpublished work's thumbnail is signed"
    assert f'href="/admin/collection/artwork/{typical.pk}/change/"' in decades


def test_make_live_switches_the_live_build_back_to_a_kept_older_one(
    clustered, admin_client_for_curator, settings, django_capture_on_commit_callbacks
):
    settings.MAP_BUILDS_KEPT = 2
    map_obj = new_map()
    first = builds.build_map(map_obj)
    second = builds.build_map(map_obj)
    map_obj.refresh_from_db()
    assert map_obj.live_build_id == second.pk
    built_at = MapBuild.objects.get(pk=first.pk).finished

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_for_curator.post(f"/admin/embeddings/mapbuild/{first.pk}/make-live/", follow=True)

    map_obj.refresh_from_db()
    assert map_obj.live_build_id == first.pk
    assert any("goes live in the background" in m for m in messages_of(response))
    assert Job.objects.get(kind="make_build_live").status == Job.Status.DONE
    assert MapBuild.objects.get(pk=first.pk).finished == built_at, "the build keeps the date it was built"
    assert MapBuild.objects.filter(pk=second.pk).exists(), "the newer build is kept, to switch back to"


def test_make_live_of_a_failed_build_is_refused_with_a_message(admin_client_for_curator):
    live = hand_made_build(version=1)
    live.map.go_live(live)
    failed = hand_made_build(version=2, status=MapBuild.Status.FAILED, error="boom")

    response = admin_client_for_curator.post(f"/admin/embeddings/mapbuild/{failed.pk}/make-live/", follow=True)

    assert response.status_code == 200
    assert any("not a finished build" in m for m in messages_of(response))
    assert Map.objects.get(pk=live.map_id).live_build_id == live.pk
    assert not Job.objects.filter(kind="make_build_live").exists()


def test_make_live_of_a_build_whose_network_is_gone_is_refused(admin_client_for_curator, feature_model):
    live = hand_made_build(version=1, feature_version=feature_model.version)
    live.map.go_live(live)
    old = hand_made_build(version=2, feature_version=feature_model.version, n_points=1, parametric_key="maps/gone.pt")
    MapPoint.objects.create(build=old, artwork=artwork_with_image(image_bytes("JPEG")), x=0, y=0)
    assert not storage.exists("private", "maps/gone.pt")

    response = admin_client_for_curator.post(f"/admin/embeddings/mapbuild/{old.pk}/make-live/", follow=True)

    assert any("lost 1 stored file(s) (maps/gone.pt)" in m for m in messages_of(response))
    assert Map.objects.get(pk=live.map_id).live_build_id == live.pk


def test_make_live_of_a_build_from_other_features_is_refused(admin_client_for_curator, feature_model):
    old = hand_made_build(version=1, feature_version="an:older:model", n_points=1)
    MapPoint.objects.create(build=old, artwork=artwork_with_image(image_bytes("JPEG")), x=0, y=0)

    response = admin_client_for_curator.post(f"/admin/embeddings/mapbuild/{old.pk}/make-live/", follow=True)

    assert any("Rebuild the map instead" in m for m in messages_of(response))
    assert Map.objects.get(pk=old.map_id).live_build_id is None


def test_rebuild_queues_a_build_job_for_the_build_s_map(admin_client_for_curator, monkeypatch):
    build = hand_made_build()
    sent = []
    monkeypatch.setattr("maps.tasks.build_map.delay", lambda *args: sent.append(args))

    response = admin_client_for_curator.post(f"/admin/embeddings/mapbuild/{build.pk}/rebuild/", follow=True)

    job = Job.objects.get(kind="build_map")
    assert job.target == "all" and any("is queued" in m for m in messages_of(response))


def test_compare_shows_both_builds_measures_clusters_and_changed_neighbours(admin_client_for_curator):
    a = hand_made_build(version=1)
    b = hand_made_build(
        version=2, metrics={"parametric": {"trustworthiness": 0.8811, "knn_recall": 0.2222}, "layout": "parametric"}
    )
    image = artwork_with_image(image_bytes("JPEG")).image
    works = [ArtworkFactory(image=image) for _ in range(30)]
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(30, 2))
    moved = rng.normal(size=(30, 2))  # a layout unrelated to the first: most neighbourhoods change
    MapPoint.objects.bulk_create([MapPoint(build=a, artwork=w, x=x, y=y) for w, (x, y) in zip(works, xy)])
    MapPoint.objects.bulk_create([MapPoint(build=b, artwork=w, x=x, y=y) for w, (x, y) in zip(works, moved)])
    Cluster.objects.create(build=a, label=0, name="x", terms=[], size=30, x=0, y=0)

    response = admin_client_for_curator.get(f"/admin/embeddings/mapbuild/compare/?a={a.pk}&b={b.pk}")

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "v1</a>" in page and "v2</a>" in page
    assert "0.952" in page and "0.881" in page
    assert re.search(
        r'compare-clusters"><td>Clusters</td><td class="num" colspan="2">1</td><td class="num" colspan="2">0', page
    )
    expected = neighbour_change(xy, moved)["share_changed"]
    assert expected > 0.5
    assert f'<strong class="share-changed">{expected:.3f}</strong>' in page


def test_neighbour_change_is_nil_for_the_same_layout_and_ignores_scale_and_shift():
    xy = np.random.default_rng(1).normal(size=(200, 2))

    same = neighbour_change(xy, xy * 3.0 + 5.0)
    shuffled = neighbour_change(xy, np.random.default_rng(2).permutation(xy))

    assert same["neighbours_kept"] == 1.0 and same["share_changed"] == 0.0
    assert shuffled["share_changed"] > 0.9


@pytest.fixture
def viewer(db):
    """A curator who may look at maps and builds but not change them."""
    from django.conf import settings
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user("viewer", password="pw-viewer-123", is_staff=True)
    group = Group.objects.create(name=settings.CURATORS_GROUP)
    group.permissions.set(Permission.objects.filter(codename__in=["view_map", "view_mapbuild"]))
    user.groups.add(group)
    client = Client()
    client.force_login(user)
    return client


def test_a_curator_without_permission_to_change_maps_gets_403_and_nothing_changes(viewer):
    live = hand_made_build(version=1)
    live.map.go_live(live)
    older = hand_made_build(version=2)

    assert viewer.post(f"/admin/embeddings/mapbuild/{older.pk}/make-live/").status_code == 403
    assert viewer.post(f"/admin/embeddings/mapbuild/{older.pk}/rebuild/").status_code == 403
    assert Map.objects.get(pk=live.map_id).live_build_id == live.pk and not Job.objects.exists()
    page = page_of(viewer, older)
    assert "make-live" not in page and "may look at builds but not rebuild" in page


def test_actions_need_post_and_the_csrf_token(admin_client_for_curator, curator):
    build = hand_made_build()
    assert admin_client_for_curator.get(f"/admin/embeddings/mapbuild/{build.pk}/make-live/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(curator)

    assert strict.post(f"/admin/embeddings/mapbuild/{build.pk}/rebuild/").status_code == 403
    assert not Job.objects.exists()


def test_pruning_a_build_deletes_its_stored_preview(admin_client_for_curator):
    from maps.dashboard import preview_key

    old = hand_made_build(version=1)
    MapPoint.objects.create(build=old, artwork=artwork_with_image(image_bytes("JPEG")), x=0, y=0, cluster=0)
    old.map.go_live(old)
    admin_client_for_curator.get("/admin/")  # the dashboard draws the live build's preview
    assert storage.exists("private", preview_key(old))
    new = hand_made_build(version=2)
    new.map.go_live(new)

    assert builds.prune_builds(new.map, keep=1) == 1

    assert not storage.exists("private", preview_key(old))


def test_a_curator_without_any_map_permission_gets_403_on_build_pages_and_comparisons(curator_client):
    a, b = hand_made_build(version=1), hand_made_build(version=2)

    assert curator_client.get(f"/admin/embeddings/mapbuild/{a.pk}/change/").status_code == 403
    assert curator_client.get(f"/admin/embeddings/mapbuild/compare/?a={a.pk}&b={b.pk}").status_code == 403
