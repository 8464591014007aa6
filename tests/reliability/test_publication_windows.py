"""Unpublished works never show, in any window of time, and nothing the public reads is derived from them.

A map build takes minutes: works are unpublished, processed and placed while it runs, and its
texture atlases, cluster names and counts must all agree with publication at the moment it goes
live. Cluster names, sizes and counts are refreshed when publication changes, as atlases are.
Writing through the API says nothing about works the caller cannot read.
"""

from __future__ import annotations

import pytest

from collection.models import Artwork, PartnerToken
from tests.factories import ArtworkFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/artworks/"


@pytest.fixture
def writer(api_client):
    """A partner app with the write scope: it may create and edit works, and never reads unpublished ones."""
    _, key = PartnerToken.issue("Registrar", scope="write")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api_client


def _answer(response) -> tuple[int, str]:
    return response.status_code, response.content.decode().replace("HIDDEN.1", "#").replace("SHOWN.1", "#").replace(
        "FREE.1", "#"
    )


def test_creating_a_work_with_the_number_of_one_the_token_cannot_read_answers_as_for_a_readable_one(writer):
    ArtworkFactory(accession_number="HIDDEN.1", title="Secret sketch", published=False)
    ArtworkFactory(accession_number="SHOWN.1", title="Haystacks")

    hidden = writer.post(LIST, {"accession_number": "HIDDEN.1", "title": "Probe"}, format="json")
    shown = writer.post(LIST, {"accession_number": "SHOWN.1", "title": "Probe"}, format="json")

    assert hidden.status_code == 400
    assert _answer(hidden) == _answer(shown), "the answer must not tell a hidden holder from a readable one"
    assert "exists" not in hidden.content.decode() and "Secret" not in hidden.content.decode()
    assert Artwork.objects.get(accession_number="HIDDEN.1").title == "Secret sketch"  # nothing overwritten


def test_a_work_created_between_the_check_and_the_save_is_refused_not_overwritten(writer, monkeypatch):
    """The existence check and the write are separate; the write itself must refuse a taken number."""
    from django.db.models.query import QuerySet

    ArtworkFactory(accession_number="RACE.1", title="Secret sketch", published=False)
    real_exists = QuerySet.exists
    calls = []

    def exists_before_the_other_create_landed(self):
        calls.append(1)
        return False if len(calls) == 1 else real_exists(self)  # the view's check ran just before the insert

    monkeypatch.setattr(QuerySet, "exists", exists_before_the_other_create_landed)

    response = writer.post(LIST, {"accession_number": "RACE.1", "title": "Probe"}, format="json")

    assert response.status_code == 400
    assert "cannot be used for a new work" in response.content.decode()
    assert Artwork.objects.get(accession_number="RACE.1").title == "Secret sketch"


@pytest.mark.parametrize(
    "method, suffix, body, fmt",
    [
        pytest.param("patch", "", {"title": "Probe"}, "json", id="patch"),
        pytest.param("put", "", {"accession_number": "{n}", "title": "Probe"}, "json", id="put"),
        pytest.param("post", "image/", {}, "multipart", id="image-upload"),
        pytest.param("delete", "", None, None, id="delete"),
    ],
)
def test_every_write_to_a_work_the_token_cannot_read_answers_as_for_one_that_does_not_exist(
    writer, method, suffix, body, fmt
):
    ArtworkFactory(accession_number="HIDDEN.1", title="Secret sketch", published=False)

    def send(number: str):
        data = {k: (v.format(n=number) if isinstance(v, str) else v) for k, v in (body or {}).items()}
        kwargs = {"format": fmt} if fmt else {}
        return (
            getattr(writer, method)(f"{LIST}{number}/{suffix}", data, **kwargs)
            if body is not None
            else getattr(writer, method)(f"{LIST}{number}/{suffix}")
        )

    hidden, missing = send("HIDDEN.1"), send("FREE.1")

    assert hidden.status_code in (404, 405)
    assert _answer(hidden) == _answer(missing)
    assert Artwork.objects.get(accession_number="HIDDEN.1").title == "Secret sketch"
    assert not Artwork.objects.filter(accession_number="FREE.1").exists()


# --- Maps: a build goes live with nothing unpublished in it and nothing processed meanwhile missing ---

import numpy as np  # noqa: E402

from analysis.models import Embedding, FeatureModel  # noqa: E402
from collection import storage  # noqa: E402
from collection.services import set_published  # noqa: E402
from maps import atlas, builds, placing, summaries  # noqa: E402
from maps.models import Map, MapBuild, MapPoint  # noqa: E402
from tests.conftest import make_jpeg  # noqa: E402
from tests.factories import ArtistFactory, CreditFactory  # noqa: E402
from tests.maps.synthetic import clustered_embeddings  # noqa: E402

FAST = {"parametric": {"pretrain_steps": [200, 200], "kl_steps": [50, 50]}}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


class Collection:
    def __init__(self, feature_model: FeatureModel, image, works: list[Artwork], X: np.ndarray) -> None:
        self.feature_model, self.image, self.works, self.X = feature_model, image, works, X

    def add_work(self, vector: np.ndarray, **fields) -> Artwork:
        work = ArtworkFactory(image=self.image, **fields)
        Embedding.objects.create(
            artwork=work,
            feature_model=self.feature_model,
            image_sha256=self.image.sha256,
            vector=Embedding.pack(vector),
        )
        return work


@pytest.fixture
def collection(db) -> Collection:
    from collection import images

    feature_model = FeatureModel.objects.create(
        version="test:pretrained:0001", backbone="test", kind="pretrained", dim=16
    )
    feature_model.activate()
    image = images.ingest(make_jpeg(), name="shared.jpg")
    X, _ = clustered_embeddings(n=60, dim=16, n_clusters=3, seed=5)
    X = _unit(np.asarray(X, dtype=np.float32))
    c = Collection(feature_model, image, [], X)
    c.works = [c.add_work(v) for v in X]
    return c


def during_the_build(monkeypatch, action) -> None:
    """Runs ``action(build)`` once while the build runs, after its atlases were packed and its clusters named."""
    original = builds.refresh_decades
    done = []

    def hooked(build: MapBuild) -> int:
        if not done:
            done.append(True)
            action(MapBuild.objects.get(pk=build.pk))
        return original(build)

    monkeypatch.setattr(builds, "refresh_decades", hooked)


def unpublish(works, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # as the admin's "unpublish" action does
        set_published(Artwork.objects.filter(pk__in=[w.pk for w in works]), False)


def test_a_work_unpublished_while_a_build_runs_is_not_in_the_atlas_it_goes_live_with(
    collection, monkeypatch, django_capture_on_commit_callbacks
):
    victim = collection.works[7]
    first_packing: list[str] = []

    def unpublish_victim(build: MapBuild) -> None:
        ids, _ = atlas.decode_index(storage.get("public", build.atlases["index"]))
        assert victim.pk in ids.tolist(), "packed while it was published"
        first_packing.extend(atlas.stored_keys(build.atlases))
        unpublish([victim], django_capture_on_commit_callbacks)

    during_the_build(monkeypatch, unpublish_victim)
    build = builds.build_map(Map.objects.create(slug="all", title="All", params=FAST))

    live = Map.objects.get(slug="all").live_build
    assert live.pk == build.pk
    ids, _ = atlas.decode_index(storage.get("public", live.atlases["index"]))
    assert victim.pk not in ids.tolist()
    assert collection.works[0].pk in ids.tolist()
    leaked = set(first_packing) - set(atlas.stored_keys(live.atlases))
    assert leaked and not any(storage.exists("public", key) for key in leaked), "the sheets holding its cell are gone"


def test_a_work_processed_while_a_build_runs_is_on_that_build_when_it_goes_live(collection, monkeypatch, api_client):
    late: list[Artwork] = []

    def process_a_new_work(build: MapBuild) -> None:
        work = collection.add_work(_unit(collection.X[3] + 0.01))
        placing.place_artwork(work)  # what the pipeline's last stage does: on the build live now
        late.append(work)

    map_obj = Map.objects.create(slug="all", title="All", params=FAST)
    during_the_build(monkeypatch, process_a_new_work)
    build = builds.build_map(map_obj)

    point = MapPoint.objects.get(build=build, artwork=late[0])
    assert point.placed
    assert late[0].pk in api_client.get("/api/v1/maps/all/points/").json()["ids"]
    neighbours = np.array(build.points.filter(placed=False).values_list("x", "y"))
    assert np.min(np.linalg.norm(neighbours - [point.x, point.y], axis=1)) < 0.2, "placed among the fitted works"


def test_placed_work_metrics_and_counts_forget_a_placed_work_once_it_is_unpublished(
    collection, monkeypatch, api_client, django_capture_on_commit_callbacks
):
    from maps import tasks

    late: list[Artwork] = []
    during_the_build(monkeypatch, lambda build: late.append(collection.add_work(_unit(collection.X[3] + 0.01))))
    build = builds.build_map(Map.objects.create(slug="all", title="All", params=FAST))
    tasks.refresh_build_statistics(build.pk)
    build.refresh_from_db()
    assert build.placed_metrics["n_points"] == 1.0 and build.n_published == len(collection.works) + 1

    unpublish(late, django_capture_on_commit_callbacks)

    body = api_client.get("/api/v1/maps/all/").json()["build"]
    assert body["placed_metrics"] == {}
    assert body["n_points"] == len(collection.works)


def test_an_unpublish_landing_while_a_build_goes_live_forces_its_public_view_to_be_derived_again(
    collection, monkeypatch, django_capture_on_commit_callbacks
):
    """The publication change bumps the map's epoch under its row lock: the switch refuses a stale epoch."""
    victim = collection.works[11]
    map_obj = Map.objects.create(slug="all", title="All", params=FAST)
    original = Map.go_live
    attempts: list[bool] = []

    def go_live_after_a_change(self, build, **kwargs):
        if not attempts:  # the curator's click lands between the last derivation and the switch
            unpublish([victim], django_capture_on_commit_callbacks)
        attempts.append(True)
        return original(self, build, **kwargs)

    monkeypatch.setattr(Map, "go_live", go_live_after_a_change)
    build = builds.build_map(map_obj)

    build.refresh_from_db()
    assert build.status == MapBuild.Status.READY and len(attempts) == 2
    ids, _ = atlas.decode_index(storage.get("public", build.atlases["index"]))
    assert victim.pk not in ids.tolist()
    assert build.n_published == len(collection.works) - 1


def test_a_build_whose_publication_keeps_changing_goes_live_with_its_atlases_withheld(
    collection, monkeypatch, django_capture_on_commit_callbacks
):
    map_obj = Map.objects.create(slug="all", title="All", params=FAST)
    original = Map.go_live
    victims = iter(collection.works[20:30])

    def go_live_while_curators_click(self, build, **kwargs):
        if kwargs.get("epoch") is not None:
            unpublish([next(victims)], django_capture_on_commit_callbacks)
        return original(self, build, **kwargs)

    monkeypatch.setattr(Map, "go_live", go_live_while_curators_click)
    with django_capture_on_commit_callbacks(execute=True):
        build = builds.build_map(map_obj)

    build.refresh_from_db()
    assert Map.objects.get(pk=map_obj.pk).live_build_id == build.pk
    unpublished = set(Artwork.objects.filter(published=False).values_list("pk", flat=True))
    assert len(unpublished) == builds.GO_LIVE_ATTEMPTS
    # the re-pack scheduled after commit ran (tasks are eager here): no unpublished cell in it
    ids, _ = atlas.decode_index(storage.get("public", build.atlases["index"]))
    assert not unpublished & set(ids.tolist())
    assert build.n_published == len(collection.works) - len(unpublished)


# --- Cluster names, sizes and counts come from published works only ---


@pytest.fixture
def two_painters(db):
    """A live map of three painters' works in three tight groups; each group is named after its painter."""
    painters = [ArtistFactory(name=f"{name} Painter") for name in ("Hidden", "Shown", "Other")]
    rng = np.random.default_rng(0)
    works, coords = [], []
    for painter, centre in zip(painters, ((-0.5, -0.5), (0.5, 0.5), (0.5, -0.5))):
        for _ in range(20):
            work = ArtworkFactory(medium="Oil on canvas")
            CreditFactory(artwork=work, artist=painter)
            works.append(work)
            coords.append(np.asarray(centre) + rng.normal(scale=0.02, size=2))
    coords = np.asarray(coords)
    map_obj = Map.objects.create(slug="all", title="All")
    build = MapBuild.objects.create(map=map_obj, version=1, feature_version="x", n_points=len(works))
    MapPoint.objects.bulk_create([MapPoint(build=build, artwork=w, x=x, y=y) for w, (x, y) in zip(works, coords)])
    summaries.refresh_clusters(build, np.array([w.pk for w in works]), coords)
    map_obj.go_live(build)
    assert "Hidden Painter" in {c.name for c in build.clusters.all()}
    return works[:20], works[20:], build


def test_a_cluster_is_never_named_after_an_artist_whose_works_are_all_unpublished(
    two_painters, api_client, curator_client, django_capture_on_commit_callbacks
):
    hidden, shown, build = two_painters

    unpublish(hidden, django_capture_on_commit_callbacks)

    body = api_client.get("/api/v1/maps/all/").json()
    text = str(body)
    assert "Hidden Painter" not in text
    assert sorted(c["name"] for c in body["clusters"]) == ["Other Painter", "Shown Painter"]
    assert sum(c["size"] for c in body["clusters"]) == len(shown)
    assert body["build"]["n_points"] == len(shown)
    assert api_client.get("/api/v1/maps/").json()[0]["build"]["n_points"] == len(shown)
    # curators, who see every work, still get the whole build's count
    assert curator_client.get("/api/v1/maps/all/").json()["build"]["n_points"] == len(hidden) + len(shown)


def test_publishing_the_works_again_brings_their_clusters_name_back(
    two_painters, api_client, django_capture_on_commit_callbacks
):
    hidden, shown, build = two_painters
    unpublish(hidden, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        set_published(Artwork.objects.filter(pk__in=[w.pk for w in hidden]), True)

    body = api_client.get("/api/v1/maps/all/").json()
    assert sorted(c["name"] for c in body["clusters"]) == ["Hidden Painter", "Other Painter", "Shown Painter"]
    assert body["build"]["n_points"] == len(hidden) + len(shown)


def test_the_fit_metrics_visitors_get_carry_no_count_of_unpublished_works(
    two_painters, api_client, django_capture_on_commit_callbacks
):
    hidden, shown, build = two_painters
    MapBuild.objects.filter(pk=build.pk).update(
        metrics={"layout": "parametric", "parametric": {"trustworthiness": 0.9, "n_points": 60.0, "n_evaluated": 60.0}}
    )
    unpublish(hidden, django_capture_on_commit_callbacks)

    metrics = api_client.get("/api/v1/maps/all/").json()["build"]["metrics"]

    assert metrics == {"layout": "parametric", "parametric": {"trustworthiness": 0.9}}


def test_an_unpublish_sent_while_a_build_is_switching_waits_for_the_switch_then_clears_the_live_atlas(transactional_db):
    """Two real transactions: the curator's unpublish blocks on the map's row lock that go-live holds,
    and once the build is live the change finds it ready and re-packs its atlas without the work."""
    import threading
    import time

    from django.db import connection

    from tests.factories import artwork_with_image, image_bytes

    works = [
        artwork_with_image(
            image_bytes("PNG", size=(40, 30), colour=(60 * i, 90, 200 - 60 * i)), accession_number=f"LOCK.{i}"
        )
        for i in range(3)
    ]
    victim = works[1]
    map_obj = Map.objects.create(slug="all", title="All")
    build = MapBuild.objects.create(map=map_obj, version=1, feature_version="x", n_points=3)
    MapPoint.objects.bulk_create([MapPoint(build=build, artwork=w, x=0.1 * i, y=0.2 * i) for i, w in enumerate(works)])
    atlas.build_atlases(build)
    switching, release, unpublished = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold_the_switch(locked: MapBuild) -> None:
        switching.set()
        release.wait(timeout=30)

    def go_live() -> None:
        try:
            map_obj.go_live(build, epoch=builds.publication_epoch(map_obj), under_lock=hold_the_switch)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            switching.set()
        finally:
            connection.close()

    def curator_unpublishes() -> None:
        try:
            set_published(Artwork.objects.filter(pk=victim.pk), False)  # autocommit, as the admin action
            unpublished.set()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    switcher = threading.Thread(target=go_live)
    switcher.start()
    assert switching.wait(timeout=30)
    curator = threading.Thread(target=curator_unpublishes)
    curator.start()
    time.sleep(1.0)
    assert not unpublished.is_set(), "the publication change waits for the switch holding the lock"
    release.set()
    switcher.join(timeout=60)
    curator.join(timeout=120)

    assert not errors, errors
    live = Map.objects.get(pk=map_obj.pk).live_build
    assert live.pk == build.pk
    ids, _ = atlas.decode_index(storage.get("public", live.atlases["index"]))
    assert victim.pk not in ids.tolist() and works[0].pk in ids.tolist()
    assert live.n_published == 2


def test_saving_a_map_loaded_before_a_publication_change_keeps_the_change_and_the_live_build(
    two_painters, django_capture_on_commit_callbacks
):
    hidden, shown, build = two_painters
    stale = Map.objects.get(slug="all")  # a curator opens the map's admin page
    unpublish(hidden[:1], django_capture_on_commit_callbacks)
    Map.objects.filter(pk=stale.pk).update(live_build=None)  # and another switch lands meanwhile

    stale.title = "Every work"
    stale.save()

    fresh = Map.objects.get(pk=stale.pk)
    assert fresh.title == "Every work"
    assert fresh.publication_epoch == stale.publication_epoch + 1, "the epoch a build going live compares is kept"
    assert fresh.live_build_id is None
