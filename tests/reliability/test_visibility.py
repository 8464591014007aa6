"""Unpublished works are invisible to anonymous visitors everywhere the public can look.

One published and one unpublished work, both fully processed: pictures, embeddings, points on a
live map, decade summaries and texture atlases. The unpublished one was published when the map was
built and unpublished afterwards by a curator, the hardest case: everything derived from it exists.
"""

from __future__ import annotations

import numpy as np
import pytest
import requests
from django.urls import reverse

from analysis.models import Embedding, FeatureModel
from collection import storage
from collection.models import Artwork
from collection.services import set_published
from core.stamp import bump_stamp
from maps import atlas
from maps.models import DecadeWork, Map, MapBuild, MapPoint
from tests.factories import artwork_with_image, image_bytes

pytestmark = pytest.mark.django_db


class World:
    def __init__(
        self, shown: Artwork, hidden: Artwork, others: list[Artwork], build: MapBuild, hidden_urls: dict
    ) -> None:
        self.shown, self.hidden, self.others, self.build, self.hidden_urls = shown, hidden, others, build, hidden_urls


@pytest.fixture
def world(db, django_capture_on_commit_callbacks, settings) -> World:
    settings.DECADE_MIN_WORKS = 2
    feature_model = FeatureModel.objects.create(version="hand:made:1", backbone="none", kind="pretrained", dim=4)
    feature_model.activate()
    works = []
    for i, vector in enumerate([[1, 0, 0, 0], [0.95, 0.05, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]):
        work = artwork_with_image(
            image_bytes("PNG", size=(60, 40), colour=(40 * i, 200 - 40 * i, 90)),
            accession_number=f"VIS.{i}",
            title=f"Study {i}",
            decade=1880,
            year_start=1881,
            year_end=1881,
        )
        Embedding.objects.create(
            artwork=work,
            feature_model=feature_model,
            image_sha256=work.image.sha256,
            vector=Embedding.pack(np.asarray(vector, dtype=np.float32) / np.linalg.norm(vector)),
        )
        works.append(work)
    shown, hidden, *others = works
    map_obj = Map.objects.create(slug="all", title="All works")
    build = MapBuild.objects.create(map=map_obj, version=1, feature_version=feature_model.version, n_points=4)
    MapPoint.objects.bulk_create(
        [MapPoint(build=build, artwork=w, x=0.1 * i, y=-0.1 * i, cluster=0) for i, w in enumerate(works)]
    )
    DecadeWork.objects.bulk_create(
        [
            DecadeWork(build=build, decade=1880, decade_count=4, kind="typical", rank=r, artwork=w, distance=0.1 * r)
            for r, w in enumerate(works)
        ]
    )
    atlas.build_atlases(build)
    map_obj.go_live(build)
    hidden_urls = {name: hidden.image.url(name) for name in ("thumb", "medium", "large")}
    assert requests.get(hidden_urls["thumb"], timeout=10).status_code == 200  # public while published

    with django_capture_on_commit_callbacks(execute=True):  # as the admin's "unpublish" action does
        set_published(Artwork.objects.filter(pk=hidden.pk), False)
    bump_stamp()
    hidden.refresh_from_db()
    assert not hidden.published
    return World(shown, hidden, others, build, hidden_urls)


def ids_in(body) -> set[str]:
    """Every accession number and artwork id anywhere in a JSON answer."""
    found: set[str] = set()

    def walk(value, key=None):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif key in ("accession_number", "id", "ids", "artwork_id"):
            found.add(str(value))

    walk(body)
    return found


def hidden_marks(world: World) -> set[str]:
    return {world.hidden.accession_number, str(world.hidden.pk)}


LIST_ENDPOINTS = [
    pytest.param(lambda w: "/api/v1/artworks/", id="artwork-list"),
    pytest.param(lambda w: "/api/v1/artworks/?q=Study", id="artwork-search"),
    pytest.param(lambda w: "/api/v1/artworks/?decade=1880&page_size=500", id="artwork-filter"),
    pytest.param(lambda w: f"/api/v1/artworks/{w.shown.accession_number}/similar/?k=10", id="similar-works"),
    pytest.param(lambda w: "/api/v1/maps/all/points/", id="map-points"),
    pytest.param(lambda w: f"/api/v1/maps/all/works/?ids={w.shown.pk},{w.hidden.pk}", id="map-works"),
    pytest.param(lambda w: "/api/v1/maps/all/match/?decade=1880", id="map-match"),
    pytest.param(lambda w: "/api/v1/decades/?map=all", id="decades"),
    pytest.param(lambda w: "/api/v1/decades/1880/?map=all", id="decade-detail"),
]


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
def test_an_unpublished_work_is_absent_from_every_public_list(world, api_client, endpoint):
    response = api_client.get(endpoint(world))

    assert response.status_code == 200, response.content
    found = ids_in(response.json())
    published = {mark for w in [world.shown, *world.others] for mark in (w.accession_number, str(w.pk))}
    assert found & published, "the published works are there"
    assert not found & hidden_marks(world)


@pytest.mark.parametrize(
    "endpoint",
    [
        pytest.param(lambda w: f"/api/v1/artworks/{w.hidden.accession_number}/", id="artwork-detail"),
        pytest.param(lambda w: f"/api/v1/artworks/{w.hidden.accession_number}/similar/", id="its-similar-works"),
        pytest.param(lambda w: reverse("frontend:artwork", args=[w.hidden.accession_number]), id="artwork-page"),
    ],
)
def test_an_unpublished_work_is_not_found(world, client, endpoint):
    assert client.get(endpoint(world)).status_code == 404


def test_the_map_export_leaves_out_an_unpublished_work(world, api_client):
    response = api_client.post("/api/v1/maps/all/works/", {"ids": [world.shown.pk, world.hidden.pk]}, format="json")

    assert response.status_code == 200
    text = response.content.decode()
    assert world.shown.accession_number in text
    assert world.hidden.accession_number not in text


def test_search_by_vector_never_answers_with_an_unpublished_work(world):
    """Search by image ranks the visitor's photo against this index; the hidden work's own vector
    finds every published work but not the hidden one itself."""
    from maps import similar

    vector = Embedding.objects.get(artwork=world.hidden).array()
    found = [n.id for n in similar.nearest_to_vector(vector, 10)]

    assert world.hidden.pk not in found
    assert world.shown.pk == found[0]


@pytest.mark.parametrize("page", ["frontend:home", "frontend:list", "frontend:decades"])
def test_the_public_pages_do_not_mention_an_unpublished_work(world, client, page):
    response = client.get(reverse(page))

    assert response.status_code == 200
    assert world.hidden.title.encode() not in response.content
    assert world.hidden.accession_number.encode() not in response.content


def test_an_unpublished_works_pictures_cannot_be_fetched_from_public_storage(world):
    for name, url in world.hidden_urls.items():
        assert requests.get(url, timeout=10).status_code in (403, 404), name
    # Kept privately: a curator still sees them through signed, expiring links.
    assert not world.hidden.image.shown_publicly()
    signed = world.hidden.image.url("thumb", signed=True)
    assert requests.get(signed, timeout=10).status_code == 200
    # The published work's pictures stay public.
    assert requests.get(world.shown.image.url("thumb"), timeout=10).status_code == 200


def test_publishing_again_brings_the_pictures_back(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        work = Artwork.objects.get(pk=world.hidden.pk)
        work.published = True
        work.save()  # a single edit (admin form, API PATCH) rather than the bulk action

    for url in world.hidden_urls.values():
        assert requests.get(url, timeout=10).status_code == 200


def test_a_new_unpublished_work_has_its_pictures_withdrawn_when_it_is_processed(db):
    from pipeline.tasks import process_artwork

    work = artwork_with_image(image_bytes("PNG", colour=(1, 2, 3)), published=False)
    url = work.image.url("thumb")

    assert process_artwork.delay(work.pk).get() == "ok"

    assert requests.get(url, timeout=10).status_code in (403, 404)
    assert storage.exists("private", work.image.derivatives["thumb"])


def test_an_atlas_built_while_a_work_was_published_is_refreshed_without_it(world):
    """Atlas sheets are public images holding every published work's thumbnail at build time."""
    old_keys = atlas.stored_keys(world.build.atlases)
    live = Map.objects.get(slug="all").live_build

    ids, _ = atlas.decode_index(storage.get("public", live.atlases["index"]))

    assert world.hidden.pk not in ids.tolist()
    assert world.shown.pk in ids.tolist()
    assert not any(storage.exists("public", key) for key in set(old_keys) - set(atlas.stored_keys(live.atlases)))


def test_curators_get_picture_urls_that_answer_for_an_unpublished_work(world, curator_client):
    detail = curator_client.get(f"/api/v1/artworks/{world.hidden.accession_number}/").json()
    page = curator_client.get(f"/works/{world.hidden.accession_number}/")

    for name in ("thumb", "medium", "large"):
        url = detail["images"][name]
        assert url != world.hidden_urls[name], "a public URL no longer answers once the work is unpublished"
        assert requests.get(url, timeout=10).status_code == 200
    assert page.status_code == 200 and world.hidden_urls["medium"] not in page.content.decode()


def test_a_replaced_picture_that_no_published_work_shows_leaves_public_reach(db, django_capture_on_commit_callbacks):
    from collection.services import attach_image

    work = artwork_with_image(image_bytes("PNG", size=(60, 40), colour=(10, 200, 30)), accession_number="REPL.1")
    old = work.image
    old_url = old.url("thumb")
    assert requests.get(old_url, timeout=10).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        attach_image(work, image_bytes("PNG", size=(60, 40), colour=(200, 10, 30)), name="new.png")

    work.refresh_from_db()
    assert work.image_id != old.pk
    assert requests.get(old_url, timeout=10).status_code in (403, 404)
    assert storage.exists("private", old.derivatives["thumb"])
