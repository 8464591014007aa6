"""A work's admin page for curating it (history, boxes on the picture, both map links) and the map's curator view.

The curator view is the public map page with ``curator=1``: its API then answers with unpublished works too,
but only to a curator's session. The flag from anyone else (a visitor, a partner token, even one a curator
owns) must change nothing.
"""

from __future__ import annotations

import html

import pytest

from analysis.models import Detection, Face
from collection.models import PartnerToken, ProcessingEvent, ProcessingStatus
from maps.models import Map, MapBuild, MapPoint
from tests.factories import artwork_with_image, image_bytes

pytestmark = pytest.mark.django_db


def change_page(client, work) -> str:
    response = client.get(f"/admin/collection/artwork/{work.pk}/change/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


@pytest.fixture
def two_works():
    """A live map holding one published and one unpublished work."""
    shown = artwork_with_image(image_bytes("JPEG"), title="Shown", accession_number="CV.1")
    hidden = artwork_with_image(image_bytes("PNG"), title="Hidden draft", accession_number="CV.2", published=False)
    map_obj = Map.objects.create(slug="all", title="All works")
    build = MapBuild.objects.create(map=map_obj, version=1, feature_version="hand:made:1", n_points=2)
    MapPoint.objects.bulk_create(
        [MapPoint(build=build, artwork=shown, x=0.1, y=0.2), MapPoint(build=build, artwork=hidden, x=-0.3, y=0.4)]
    )
    map_obj.go_live(build)
    return shown, hidden


def test_the_page_lists_the_work_s_processing_history_newest_first(admin_client_for_curator):
    work = artwork_with_image(image_bytes("JPEG"), title="Processed")
    work.set_processing(ProcessingStatus.RUNNING, stage="derivatives")
    work.set_processing(ProcessingStatus.RUNNING, stage="features")
    work.set_processing(ProcessingStatus.FAILED, stage="features", error="the gpu worker ran out of memory")

    page = change_page(admin_client_for_curator, work)

    assert ProcessingEvent.objects.filter(artwork=work).count() >= 3
    history = page[page.index('class="processing-history"') :]
    assert history.count('class="processing-event"') == ProcessingEvent.objects.filter(artwork=work).count()
    failed, features, derivatives = (
        history.index("the gpu worker ran out of memory"),
        history.index("<td>features</td><td>Running</td>"),
        history.index("<td>derivatives</td><td>Running</td>"),
    )
    assert failed < features < derivatives


def test_the_page_draws_detected_objects_and_faces_on_the_picture(admin_client_for_curator):
    work = artwork_with_image(image_bytes("JPEG"), title="Boating party")
    width, height = work.image.width, work.image.height
    Detection.objects.create(
        artwork=work, detector_version="d:1", label="boat", score=0.93, x0=0.1, y0=0.2, x1=0.5, y1=0.6
    )
    Face.objects.create(
        artwork=work, model_version="f:1", index=0, score=0.81, x0=0.6, y0=0.1, x1=0.7, y1=0.25, descriptor=b""
    )

    page = change_page(admin_client_for_curator, work)

    overlay = page[page.index('class="boxes-on-picture"') :]
    assert f'viewBox="0 0 {width} {height}"' in overlay
    assert f'<img src="{work.image.url("large")}" alt="Boating party"' in overlay
    boat = overlay[overlay.index('<g class="detected-object">') :]
    assert f'x="{0.1 * width:.1f}" y="{0.2 * height:.1f}" width="{0.4 * width:.1f}"' in boat
    assert "boat 0.93</text>" in boat
    assert '<g class="detected-face">' in overlay and "face 1 0.81</text>" in overlay


def test_a_work_with_nothing_detected_has_no_overlay(admin_client_for_curator):
    work = artwork_with_image(image_bytes("JPEG"), title="Empty")

    assert "boxes-on-picture" not in change_page(admin_client_for_curator, work)


def test_a_placed_work_links_to_the_public_map_and_to_the_curator_view(admin_client_for_curator, two_works):
    shown, hidden = two_works

    shown_page = change_page(admin_client_for_curator, shown)
    hidden_page = change_page(admin_client_for_curator, hidden)

    assert f'<a class="public-map-link" href="/?map=all&sel={shown.pk}">' in shown_page
    curator_link = '<a class="curator-map-link" href="/?map=all&sel={}&curator=1">Show on the map (curator view'
    assert curator_link.format(shown.pk) in shown_page
    assert "public-map-link" not in hidden_page and curator_link.format(hidden.pk) in hidden_page


def _points(client, **params) -> list[int]:
    response = client.get("/api/v1/maps/all/points/", params)
    assert response.status_code == 200
    return response.json()["ids"]


def test_the_curator_view_serves_unpublished_works_to_a_curator_only(client, curator, two_works):
    shown, hidden = two_works
    _, key = PartnerToken.issue("Curator's own app", scope="write", user=curator)
    token = {"HTTP_AUTHORIZATION": f"Token {key}"}

    assert _points(client, curator="1") == [shown.pk]  # anonymous, with the flag
    works = client.get("/api/v1/maps/all/works/", {"ids": f"{shown.pk},{hidden.pk}", "curator": "1"}).json()
    assert [w["id"] for w in works["works"]] == [shown.pk]
    assert client.get("/api/v1/maps/all/match/", {"q": "draft", "curator": "1"}).json()["ids"] == []
    assert client.get("/api/v1/maps/all/points/", {"curator": "1"}, **token).json()["ids"] == [shown.pk]

    client.force_login(curator)
    assert _points(client) == [shown.pk]  # a curator without the flag sees the map as visitors do
    assert sorted(_points(client, curator="1")) == sorted([shown.pk, hidden.pk])
    works = client.get("/api/v1/maps/all/works/", {"ids": f"{shown.pk},{hidden.pk}", "curator": "1"}).json()
    assert sorted(w["id"] for w in works["works"]) == sorted([shown.pk, hidden.pk])
    assert client.get("/api/v1/maps/all/match/", {"q": "draft", "curator": "1"}).json()["ids"] == [hidden.pk]
    assert client.get("/api/v1/maps/all/points/", {"curator": "1"}, **token).json()["ids"] == [shown.pk]


def test_the_map_page_shows_the_curator_view_badge_to_curators_only(client, curator, two_works):
    anonymous = client.get("/", {"map": "all", "curator": "1"}).content.decode()
    client.force_login(curator)
    plain = client.get("/", {"map": "all"}).content.decode()
    curating = client.get("/", {"map": "all", "curator": "1"}).content.decode()

    assert 'id="curator-badge"' not in anonymous and '"curator": false' in anonymous
    assert 'id="curator-badge"' not in plain
    assert 'id="curator-badge"' in curating and '"curator": true' in curating


def test_a_finished_run_prunes_a_work_s_history_to_the_newest_events(monkeypatch):
    monkeypatch.setattr(ProcessingEvent, "KEPT", 4)
    work = artwork_with_image(image_bytes("JPEG"), title="Often processed")
    for stage in ("derivatives", "features", "objects", "faces", "map"):
        work.set_processing(ProcessingStatus.RUNNING, stage=stage)
    assert ProcessingEvent.objects.filter(artwork=work).count() > 4  # pruned only when a run ends

    work.set_processing(ProcessingStatus.DONE, stage="done")

    kept = list(ProcessingEvent.objects.filter(artwork=work).values_list("stage", flat=True))
    assert kept == ["done", "map", "faces", "objects"]
