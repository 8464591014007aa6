"""The admin index is a dashboard: processing counts, the live maps with their quality and picture, the
feature model and what is waiting, next to the notice about optional parts that are off."""

from __future__ import annotations

import html
import io
import re

import numpy as np
import pytest
from PIL import Image

from analysis.models import FeatureModel
from collection import storage
from collection.models import ProcessingStatus
from core.models import Job
from maps.dashboard import preview_key
from maps.models import Cluster, Map, MapBuild, MapPoint
from maps.preview import NOISE_COLOUR, cluster_colour, render_preview
from tests.factories import ArtworkFactory, artwork_with_image, image_bytes

pytestmark = pytest.mark.django_db


def index(client) -> str:
    response = client.get("/admin/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def state_link(page: str, state: str) -> tuple[str, int]:
    match = re.search(rf'<a class="{state}" href="([^"]+)" data-state="{state}"><span class="count">(\d+)</span>', page)
    assert match, f"no {state} link on the dashboard"
    return match.group(1), int(match.group(2))


def live_build(slug: str = "all", *, layout: str = "opentsne") -> MapBuild:
    """A live build of three works in two clusters, with the figures a build records."""
    image = artwork_with_image(image_bytes("JPEG")).image
    works = [ArtworkFactory(image=image, title=f"Work {i}") for i in range(3)]
    map_obj = Map.objects.create(slug=slug, title="All works")
    build = MapBuild.objects.create(
        map=map_obj,
        version=7,
        feature_version="f:1",
        n_points=3,
        metrics={
            "parametric": {"trustworthiness": 0.9112, "knn_recall": 0.2113},
            "opentsne": {"trustworthiness": 0.9634, "knn_recall": 0.4425},
            "layout": layout,
        },
    )
    MapPoint.objects.bulk_create(
        [
            MapPoint(build=build, artwork=works[0], x=-1.0, y=-1.0, cluster=0),
            MapPoint(build=build, artwork=works[1], x=-0.9, y=-1.0, cluster=0),
            MapPoint(build=build, artwork=works[2], x=1.0, y=1.0, cluster=1),
        ]
    )
    Cluster.objects.create(build=build, label=0, name="harbours", terms=["harbour"], size=2, x=-1, y=-1)
    map_obj.go_live(build)
    return build


def test_the_dashboard_counts_works_by_processing_state_and_links_each_to_its_list(admin_client_for_curator):
    image = artwork_with_image(image_bytes("JPEG")).image
    for state, n in ((ProcessingStatus.QUEUED, 2), (ProcessingStatus.RUNNING, 1), (ProcessingStatus.FAILED, 3)):
        for _ in range(n):
            ArtworkFactory(image=image).set_processing(state)
    done_before = ArtworkFactory._meta.model.objects.filter(processing_status=ProcessingStatus.DONE).count()

    page = index(admin_client_for_curator)

    assert state_link(page, "queued")[1] == 2
    assert state_link(page, "running")[1] == 1
    assert state_link(page, "failed")[1] == 3
    assert state_link(page, "done")[1] == done_before
    url, _count = state_link(page, "failed")
    listed = html.unescape(admin_client_for_curator.get(url).content.decode())
    assert "3 artworks" in listed or "3 results" in listed


def test_the_dashboard_shows_each_live_map_s_build_quality_and_shown_layout(admin_client_for_curator):
    build = live_build(layout="opentsne")

    page = index(admin_client_for_curator)

    row = page[page.index('data-slug="all"') :]
    assert f'href="/admin/embeddings/mapbuild/{build.pk}/change/">v7</a>' in row
    # The layout visitors see is openTSNE's here, so its figures are the ones shown.
    assert '<span class="trustworthiness">0.963</span>' in row
    assert '<span class="knn-recall">0.443</span>' in row
    assert '<span class="layout">opentsne</span>' in row
    assert "0.911" not in row


def test_the_live_map_s_preview_is_drawn_once_stored_privately_and_shows_its_clusters(admin_client_for_curator):
    build = live_build()
    key = preview_key(build)
    assert not storage.exists("private", key)

    page = index(admin_client_for_curator)

    assert storage.exists("private", key) and 'class="map-preview"' in page
    picture = np.asarray(Image.open(io.BytesIO(storage.get("private", key))).convert("RGB"))
    colours = {tuple(int(c) for c in px) for px in picture.reshape(-1, 3)}
    assert cluster_colour(0) in colours and cluster_colour(1) in colours
    assert f"r{1}.png" in key and f"v{build.version}-b{build.pk}" in key  # versioned per build and drawing


def test_the_preview_draws_points_outside_clusters_in_grey_beneath_the_clusters():
    coords = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    png = render_preview(coords, np.array([-1, 2, 3]), size=64)

    picture = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    colours = {tuple(int(c) for c in px) for px in picture.reshape(-1, 3)}
    assert picture.shape == (64, 64, 3)
    assert cluster_colour(2) in colours and cluster_colour(3) in colours
    assert NOISE_COLOUR not in colours, "the cluster point at the same place is drawn over the grey one"


def test_the_dashboard_shows_the_feature_model_with_its_accuracy_per_head(admin_client_for_curator):
    model = FeatureModel.objects.create(
        version="tf_efficientnet_lite0:ft:abc",
        backbone="tf_efficientnet_lite0",
        kind="finetuned",
        dim=256,
        metrics={
            "style": {"metric": "top1_accuracy", "value": 0.6041, "loss": 1.2, "n": 840},
            "motifs": {"metric": "micro_f1", "value": None, "map": 0.3, "loss": 0.4, "n": 0},
        },
    )
    model.activate()

    page = index(admin_client_for_curator)

    panel = page[page.index('id="dashboard-feature-model"') :]
    assert "tf_efficientnet_lite0:ft:abc" in panel
    assert re.search(r"<td>style</td><td>top1_accuracy</td><td class=\"value\">0.604</td><td>840</td>", panel)
    assert re.search(r"<td>motifs</td><td>micro_f1</td><td class=\"value\">—</td>", panel)


def test_the_dashboard_lists_the_jobs_waiting_oldest_first(admin_client_for_curator):
    Job.objects.create(kind="build_map", target="all")
    Job.objects.create(kind="train_features", target="", status=Job.Status.RUNNING, done=3, total=10)
    Job.objects.create(kind="build_map", target="old", status=Job.Status.DONE)

    page = index(admin_client_for_curator)

    panel = page[page.index('id="dashboard-waiting"') :]
    assert panel.index("build_map all") < panel.index("train_features")
    assert "30%" in panel and "2 jobs not finished" in panel and "build_map old" not in panel


def test_the_detection_notice_stays_on_the_dashboard(admin_client_for_curator, settings):
    settings.DETECTION_BACKEND = "off"

    page = index(admin_client_for_curator)

    assert 'id="optional-parts"' in page and "DETECTION_BACKEND" in page
    assert page.index('id="optional-parts"') < page.index('id="dashboard"')


def test_a_curator_without_map_permissions_sees_counts_but_no_map_panel(curator_client):
    live_build()

    page = index(curator_client)

    assert 'id="dashboard-processing"' in page
    assert 'id="dashboard-live-maps"' not in page and 'id="dashboard-feature-model"' not in page
