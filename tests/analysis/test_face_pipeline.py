"""Faces inside the platform, with the real dlib weights on demo paintings: the pipeline stage, the
faces API, search by a visitor's face and the faces map.

The sitters' face regions and the figure-free landscapes are the ones read off the pictures by eye
for tests/analysis/test_faces.py.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageOps

from analysis import facestage
from analysis.faces import SAME_PERSON_DISTANCE
from analysis.models import AnalysisRun, Face
from collection import storage
from collection.models import Artwork
from maps.models import Map, MapPoint
from tests.analysis.test_faces import LANDSCAPES, SITTER_FACE
from tests.conftest import DEMO_DIR
from tests.factories import artwork_with_image

pytestmark = pytest.mark.django_db(transaction=True)

# Portraits with exactly one face each (HOG, upsample 1), enough for a small faces map.
ONE_FACE_PORTRAITS = [
    "10281",
    "14594",
    "15698",
    "16151",
    "16281",
    "16413",
    "218072",
    "28876",
    "30365",
    "59874",
    "80463",
    "80553",
    "866",
]
FAST_MAP = {"perplexity": 4, "parametric": {"pretrain_steps": [300, 300], "kl_steps": [100, 100]}}


def demo_bytes(object_id: str) -> bytes:
    return (DEMO_DIR / "images" / f"{object_id}.jpg").read_bytes()


def demo_work(object_id: str, **fields) -> Artwork:
    fields.setdefault("accession_number", f"AIC.{object_id}")
    return artwork_with_image(demo_bytes(object_id), **fields)


def analysed(object_id: str, **fields) -> Artwork:
    work = demo_work(object_id, **fields)
    facestage.analyse_faces(work)
    return work


def bucket_keys() -> set[str]:
    bucket = storage.get_storage("public").bucket
    return {obj.key for obj in bucket.objects.all()}


def mirrored_photo(object_id: str, fmt: str = "JPEG", scale: float = 1.0, **save) -> bytes:
    """A visitor's photo of the painting: mirrored and re-encoded (and enlarged when asked)."""
    with Image.open(io.BytesIO(demo_bytes(object_id))) as im:
        photo = ImageOps.mirror(im.convert("RGB"))
    if scale != 1.0:
        photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    photo.save(out, fmt, **save)
    return out.getvalue()


def search(api_client, data: bytes, **fields):
    upload = SimpleUploadedFile("visitor.jpg", data, content_type="image/jpeg")
    return api_client.post("/api/v1/search/face/", {"image": upload, **fields}, format="multipart")


# --- The pipeline stage -------------------------------------------------------------------------


@pytest.mark.parametrize("object_id", sorted(SITTER_FACE))
def test_a_portrait_gets_a_face_where_the_sitter_is_painted_with_a_stored_crop(object_id):
    work = analysed(object_id)
    faces = list(Face.objects.filter(artwork=work))
    region = SITTER_FACE[object_id]
    on_sitter = [
        f for f in faces if region[0] <= (f.x0 + f.x1) / 2 <= region[2] and region[1] <= (f.y0 + f.y1) / 2 <= region[3]
    ]
    assert on_sitter, f"stored boxes {[f.box for f in faces]} miss the sitter's face {region}"
    face = on_sitter[0]
    assert face.array().shape == (128,) and np.isfinite(face.array()).all()
    assert face.model_version == facestage.current_version()
    with Image.open(io.BytesIO(storage.get("public", face.crop_key))) as crop:
        assert crop.size == (facestage.CROP_SIZE, facestage.CROP_SIZE)
        assert crop.format == "WEBP"
    run = AnalysisRun.objects.get(artwork=work, kind=AnalysisRun.Kind.FACES)
    assert (run.version, run.image_sha256, run.found) == (face.model_version, work.image.sha256, len(faces))


@pytest.mark.parametrize("object_id", sorted(LANDSCAPES))
def test_a_landscape_has_no_faces_and_is_remembered_as_seen(object_id):
    work = analysed(object_id)
    assert not Face.objects.filter(artwork=work).exists()
    assert AnalysisRun.objects.get(artwork=work, kind=AnalysisRun.Kind.FACES).found == 0
    assert facestage.analyse_faces(work).skipped


def test_analysing_a_work_again_changes_nothing():
    work = analysed("79586")  # two faces
    before = list(Face.objects.filter(artwork=work).values_list("pk", "crop_key", "created").order_by("pk"))
    assert len(before) == 2
    outcome = facestage.analyse_faces(work)
    assert outcome.skipped and outcome.found == 2
    assert list(Face.objects.filter(artwork=work).values_list("pk", "crop_key", "created").order_by("pk")) == before
    assert AnalysisRun.objects.filter(artwork=work).count() == 1


def test_a_new_image_replaces_the_faces_and_deletes_the_old_crops():
    from collection.services import attach_image

    work = analysed("866")
    old_keys = set(Face.objects.filter(artwork=work).values_list("crop_key", flat=True))
    assert old_keys and all(storage.exists("public", key) for key in old_keys)
    attach_image(work, demo_bytes("80463"), name="new.jpg")  # ML off in tests: the stage is run by hand
    work.refresh_from_db()
    facestage.analyse_faces(work)
    faces = list(Face.objects.filter(artwork=work))
    assert len(faces) == 1 and faces[0].crop_key not in old_keys
    assert not any(storage.exists("public", key) for key in old_keys)
    run = AnalysisRun.objects.get(artwork=work, kind=AnalysisRun.Kind.FACES)
    assert run.image_sha256 == work.image.sha256


def test_a_crop_shared_with_another_work_of_the_same_image_is_kept():
    first = analysed("866", accession_number="A")
    second = artwork_with_image(demo_bytes("866"), accession_number="B")
    facestage.analyse_faces(second)
    shared = Face.objects.get(artwork=second).crop_key
    assert shared == Face.objects.get(artwork=first).crop_key
    from collection.services import attach_image

    attach_image(first, demo_bytes("874"), name="landscape.jpg")
    first.refresh_from_db()
    facestage.analyse_faces(first)
    assert not Face.objects.filter(artwork=first).exists()
    assert storage.exists("public", shared)


def test_processing_a_new_work_finds_its_faces_after_its_features(settings):
    from collection.services import attach_image
    from tests.factories import ArtworkFactory

    settings.ML_ENABLED = True
    work = ArtworkFactory()
    attach_image(work, demo_bytes("80553"), name="portrait.jpg")
    work.refresh_from_db()
    assert work.processing_status == "done", work.processing_error
    assert work.embeddings.exists()
    assert Face.objects.filter(artwork=work).count() == 1


def test_with_faces_switched_off_processing_stores_no_faces(settings):
    from collection.services import attach_image
    from tests.factories import ArtworkFactory

    settings.ML_ENABLED = True
    settings.FACES_ENABLED = False
    work = ArtworkFactory()
    attach_image(work, demo_bytes("80553"), name="portrait.jpg")
    work.refresh_from_db()
    assert work.processing_status == "done", work.processing_error
    assert not Face.objects.filter(artwork=work).exists()
    assert not AnalysisRun.objects.filter(artwork=work).exists()


def test_the_command_analyses_only_works_it_has_not_seen(capsys):
    from django.core.management import call_command

    seen = analysed("866")
    fresh = [demo_work(i) for i in ("874", "80463")]
    call_command("detect_faces")
    out = capsys.readouterr().out
    assert "2 works to analyse" in out and "1 faces in 2 works; 0 failed" in out
    assert all(AnalysisRun.objects.filter(artwork=w).exists() for w in [seen, *fresh])
    call_command("detect_faces")
    assert "0 works to analyse" in capsys.readouterr().out


def test_a_curator_sees_the_works_faces_with_their_crops_on_its_change_page(admin_client):
    from django.urls import reverse

    work = analysed("79586")
    response = admin_client.get(reverse("admin:collection_artwork_change", args=[work.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for face in Face.objects.filter(artwork=work):
        assert storage.public_url(face.crop_key) in html


# --- The faces API and search by face -----------------------------------------------------------


@pytest.fixture
def gallery():
    """Six portraits, one of them unpublished (its sitter is 16281), and a landscape."""
    works = {
        object_id: analysed(object_id, decade=1600 if object_id in ("866", "80553") else 1800)
        for object_id in sorted(SITTER_FACE)
    }
    for object_id in ("79586", "59874"):
        works[object_id] = analysed(object_id, decade=1800)
    works["874"] = analysed("874", decade=1800)
    Artwork.objects.filter(pk=works["16281"].pk).update(published=False)
    from core.stamp import bump_stamp

    bump_stamp()
    return works


def face_of(work: Artwork) -> Face:
    return Face.objects.filter(artwork=work).order_by("index").first()


def test_the_faces_list_filters_by_work_and_decade_and_hides_unpublished_works(gallery, api_client, curator_client):
    body = api_client.get("/api/v1/faces/").json()
    listed = {item["id"] for item in body["results"]}
    hidden = face_of(gallery["16281"]).pk
    assert body["count"] == Face.objects.count() - 1 and hidden not in listed

    one = api_client.get("/api/v1/faces/", {"artwork": "AIC.866"}).json()["results"]
    assert [item["id"] for item in one] == [face_of(gallery["866"]).pk]
    assert one[0]["artwork"]["accession_number"] == "AIC.866"
    assert one[0]["crop"].endswith(".webp") and len(one[0]["box"]) == 4
    old = api_client.get("/api/v1/faces/", {"decade": 1600}).json()["results"]
    assert {item["artwork"]["accession_number"] for item in old} == {"AIC.866", "AIC.80553"}
    assert api_client.get("/api/v1/faces/", {"artist": "x"}).status_code == 400
    assert api_client.get("/api/v1/faces/", {"artwork": "AIC.16281"}).json()["results"] == []
    assert api_client.get(f"/api/v1/faces/{hidden}/").status_code == 404
    assert curator_client.get(f"/api/v1/faces/{hidden}/").status_code == 200


def test_the_artwork_detail_lists_its_faces(gallery, api_client):
    body = api_client.get("/api/v1/artworks/AIC.79586/").json()
    faces = Face.objects.filter(artwork=gallery["79586"]).order_by("index")
    assert [f["id"] for f in body["faces"]] == [f.pk for f in faces]
    assert body["faces"][0]["box"] == [round(v, 5) for v in faces[0].box]
    assert body["faces"][0]["crop"].endswith(".webp")
    assert api_client.get("/api/v1/artworks/AIC.874/").json()["faces"] == []


def test_similar_faces_are_nearest_first_and_never_unpublished(gallery, api_client):
    face = face_of(gallery["866"])
    response = api_client.get(f"/api/v1/faces/{face.pk}/similar/", {"k": 50})
    assert response.status_code == 200
    results = response.json()
    ids = [r["face"]["id"] for r in results]
    assert face.pk not in ids and face_of(gallery["16281"]).pk not in ids
    assert len(ids) == Face.objects.visible().count() - 1
    distances = [r["distance"] for r in results]
    assert distances == sorted(distances)
    expected = np.linalg.norm(face_of(gallery["80553"]).array() - face.array())
    assert dict(zip(ids, distances))[face_of(gallery["80553"]).pk] == pytest.approx(expected, abs=1e-5)
    assert api_client.get(f"/api/v1/faces/{face.pk}/similar/", {"k": 0}).status_code == 400
    assert api_client.get(f"/api/v1/faces/{face.pk}/similar/", {"n": 3}).status_code == 400
    assert api_client.get(f"/api/v1/faces/{face_of(gallery['16281']).pk}/similar/").status_code == 404


@pytest.mark.parametrize("object_id", ["80463", "866"])
def test_a_mirrored_photo_of_a_sitter_finds_the_sitters_face_first(gallery, api_client, object_id):
    response = search(api_client, mirrored_photo(object_id, quality=80), k=3)
    assert response.status_code == 200, response.content
    results = response.json()
    assert results[0]["face"]["id"] == face_of(gallery[object_id]).pk
    assert results[0]["distance"] < SAME_PERSON_DISTANCE
    assert results[0]["face"]["artwork"]["accession_number"] == f"AIC.{object_id}"


def test_searching_with_an_unpublished_sitter_never_returns_its_face(gallery, api_client):
    results = search(api_client, mirrored_photo("16281", quality=80), k=50).json()
    assert face_of(gallery["16281"]).pk not in [r["face"]["id"] for r in results]
    assert len(results) == Face.objects.visible().count()


def test_a_photo_without_a_face_gets_a_clear_422(gallery, api_client):
    response = search(api_client, mirrored_photo("874", quality=80))
    assert response.status_code == 422
    assert "No face was found in the photo" in response.json()["detail"]


def test_what_is_not_an_image_is_refused_before_the_worker_sees_it(gallery, api_client):
    response = search(api_client, b"<html>not a photo</html>")
    assert response.status_code == 400
    assert "not a recognisable image" in str(response.json())


def test_the_uploaded_photo_leaves_no_file_behind(gallery, api_client, settings, tmp_path, monkeypatch):
    """Even a photo larger than FILE_UPLOAD_MAX_MEMORY_SIZE (which Django would spool to disk) stays in memory."""
    from django.core.files import uploadedfile

    spool = tmp_path / "uploads"
    spool.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    spooled: list[str] = []
    original = uploadedfile.TemporaryUploadedFile.__init__

    def spy(self, *args, **kwargs):
        spooled.append(args[0] if args else kwargs.get("name"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(uploadedfile.TemporaryUploadedFile, "__init__", spy)
    big = mirrored_photo("80463", fmt="PNG", scale=3.0, compress_level=0)
    assert len(big) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    before_tmp = set(Path(tempfile.gettempdir()).iterdir())
    before_bucket = bucket_keys()
    faces_before = Face.objects.count()

    response = search(api_client, big, k=1)

    assert response.status_code == 200, response.content
    assert response.json()[0]["face"]["id"] == face_of(gallery["80463"]).pk
    assert spooled == [] and list(spool.iterdir()) == []
    assert set(Path(tempfile.gettempdir()).iterdir()) <= before_tmp
    assert bucket_keys() == before_bucket
    assert Face.objects.count() == faces_before


# --- The faces map ------------------------------------------------------------------------------


@pytest.fixture
def faces_map():
    from maps.builds import build_map

    works = [
        analysed(i, artist_display="Frans Hals" if i in ("866", "80553") else "Painter") for i in ONE_FACE_PORTRAITS
    ]
    hidden = works[0]
    Artwork.objects.filter(pk=hidden.pk).update(published=False)
    map_obj = Map.objects.create(slug="faces", title="Faces", subject=Map.Subject.FACES, params=FAST_MAP)
    build = build_map(map_obj)
    return map_obj, build, works, hidden


def test_a_faces_map_lays_out_faces_and_places_a_new_one_without_moving_the_others(faces_map):
    map_obj, build, works, _ = faces_map
    points = list(build.points.select_related("face"))
    assert len(points) == build.n_points == Face.objects.count() == len(ONE_FACE_PORTRAITS)
    assert all(p.face is not None and p.artwork_id == p.face.artwork_id for p in points)
    assert build.feature_version == facestage.current_version()
    assert not build.decade_works.exists()  # decade summaries describe works: faces maps have none
    labels = set(build.clusters.values_list("label", flat=True))
    assert {p.cluster for p in points if p.cluster is not None} <= labels  # face points carry their group
    coords = np.array([(p.x, p.y) for p in points])
    assert np.all(np.abs(coords) <= 1.0) and len(np.unique(coords.round(4), axis=0)) == len(points)

    before = dict(build.points.values_list("face_id", "x"))
    newcomer = analysed("88372")
    face = Face.objects.get(artwork=newcomer)
    point = MapPoint.objects.get(build=build, face=face)
    assert point.placed and point.artwork_id == newcomer.pk and -1 <= point.x <= 1 and -1 <= point.y <= 1
    assert dict(build.points.exclude(face=face).values_list("face_id", "x")) == before
    from maps.placing import placer

    # refined among the fitted faces, by their descriptors
    assert len(placer(build).reference) == build.points.filter(placed=False).count() == len(ONE_FACE_PORTRAITS)


def test_the_faces_map_api_speaks_in_faces_and_hides_unpublished_ones(faces_map, api_client, curator_client):
    from maps.atlas import decode_index

    map_obj, build, works, hidden = faces_map
    hidden_face = Face.objects.get(artwork=hidden)
    assert api_client.get("/api/v1/maps/faces/").json()["subject"] == "faces"

    points = api_client.get("/api/v1/maps/faces/points/").json()
    assert points["subject"] == "faces"
    by_face = dict(Face.objects.values_list("pk", "artwork_id"))
    assert points["ids"] == sorted(set(by_face) - {hidden_face.pk})
    assert points["artworks"] == [by_face[i] for i in points["ids"]]
    assert hidden_face.pk in curator_client.get("/api/v1/maps/faces/points/?curator=1").json()["ids"]

    index_ids, _ = decode_index(storage.get("public", build.atlases["index"]))
    assert sorted(index_ids.tolist()) == points["ids"]

    face = Face.objects.get(artwork=works[1])
    wanted = f"{face.pk},{hidden_face.pk}"
    listed = api_client.get("/api/v1/maps/faces/works/", {"ids": wanted}).json()["works"]
    assert [w["id"] for w in listed] == [face.pk]
    assert listed[0]["artwork_id"] == works[1].pk and listed[0]["page"].endswith(f"/works/{works[1].accession_number}/")
    assert listed[0]["face"]["box"] == face.box
    assert listed[0]["images"]["thumb"] == listed[0]["face"]["crop"] == storage.public_url(face.crop_key)

    matched = api_client.get("/api/v1/maps/faces/match/", {"artist": "Hals"}).json()
    hals = Face.objects.filter(artwork__artist_display="Frans Hals").values_list("pk", flat=True)
    assert matched["ids"] == sorted(hals)

    csv_text = api_client.post(
        "/api/v1/maps/faces/works/", {"ids": points["ids"][:2], "format": "csv"}, format="json"
    ).content.decode()
    assert csv_text.splitlines()[0].endswith(",artwork_id") and len(csv_text.splitlines()) == 3


def test_the_default_faces_map_is_created_and_waits_for_enough_faces(capsys):
    from django.core.management import call_command

    call_command("build_map", "faces", "--if-missing", "--if-enough")  # no faces at all yet
    assert "has 0 faces" in capsys.readouterr().out
    analysed("866")
    call_command("build_map", "faces", "--if-missing", "--if-enough")
    map_obj = Map.objects.get(slug="faces")
    assert (map_obj.title, map_obj.subject, map_obj.live_build) == ("Faces", Map.Subject.FACES, None)
    assert "has 1 faces found by dlib-" in capsys.readouterr().out


# --- Crops follow publication -------------------------------------------------------------------


def test_an_unpublished_works_crops_are_written_privately_and_shown_to_curators_by_signed_url(admin_client):
    from django.urls import reverse

    from analysis.facecrops import crop_url

    work = analysed("79586", published=False)
    faces = list(Face.objects.filter(artwork=work))
    assert faces
    for face in faces:
        assert storage.exists("private", face.crop_key) and not storage.exists("public", face.crop_key)
        assert crop_url(face) != storage.public_url(face.crop_key)
    html = admin_client.get(reverse("admin:collection_artwork_change", args=[work.pk])).content.decode()
    assert storage.public_url(faces[0].crop_key) not in html


def test_unpublishing_a_work_withdraws_its_crops_and_publishing_brings_them_back(django_capture_on_commit_callbacks):
    import requests

    from collection.services import set_published

    work = analysed("79586")
    face = face_of(work)
    url = storage.public_url(face.crop_key)
    assert requests.get(url, timeout=10).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        set_published(Artwork.objects.filter(pk=work.pk), False)
    assert requests.get(url, timeout=10).status_code in (403, 404)
    assert storage.exists("private", face.crop_key)

    with django_capture_on_commit_callbacks(execute=True):
        work.refresh_from_db()
        work.published = True
        work.save()  # one work saved in the admin form, not the bulk action
    assert requests.get(url, timeout=10).status_code == 200
    assert not storage.exists("private", face.crop_key)
