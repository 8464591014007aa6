"""The feature stage inside the platform: processing, idempotence, resuming, similar works, search by image."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import services
from analysis.models import Embedding, FeatureModel
from collection import images
from collection.models import Artwork
from core.stamp import bump_stamp
from tests.conftest import make_jpeg
from tests.factories import ArtworkFactory, artwork_with_image

pytestmark = pytest.mark.django_db(transaction=True)


def _demo_bytes(demo_dir, n: int) -> list[bytes]:
    return [p.read_bytes() for p in sorted((demo_dir / "images").glob("*.jpg"))[:n]]


def _embed_all(extractor, items, **kwargs):
    keys, chunks, errors = [], [], {}
    for batch in extractor.embed_stream(items, **kwargs):
        keys += batch.keys
        chunks.append(batch.vectors)
        errors.update(batch.errors)
    return keys, np.concatenate(chunks), errors


def _bucket_keys(s3_storage) -> set[str]:
    from collection.storage import get_storage

    client = get_storage("public").connection.meta.client
    listing = client.list_objects_v2(Bucket=s3_storage)
    return {item["Key"] for item in listing.get("Contents", [])}


def test_processing_a_new_work_embeds_it_with_the_pretrained_backbone(settings, demo_dir):
    settings.ML_ENABLED = True
    [data] = _demo_bytes(demo_dir, 1)
    work = ArtworkFactory()
    from collection.services import attach_image

    attach_image(work, data, name="demo.jpg")
    work.refresh_from_db()
    assert work.processing_status == "done", work.processing_error
    embedding = Embedding.objects.get(artwork=work)
    assert embedding.feature_model.is_active
    assert embedding.feature_model.version.startswith("tf_efficientnet_lite0:pretrained:")
    vector = embedding.array()
    assert vector.shape == (1280,) and abs(np.linalg.norm(vector) - 1.0) < 1e-4


def test_embedding_a_work_twice_computes_it_once(demo_dir):
    [data] = _demo_bytes(demo_dir, 1)
    work = artwork_with_image(data)
    assert services.embed_artwork(work) == 1
    first = Embedding.objects.get(artwork=work)
    assert services.embed_artwork(work) == 0
    assert Embedding.objects.get(artwork=work).created == first.created


def test_embedding_the_collection_resumes_where_it_stopped(demo_dir):
    works = [artwork_with_image(b) for b in _demo_bytes(demo_dir, 5)]
    feature_model = services.active_feature_model()
    for work in works[:2]:
        services.embed_artwork(work)
    result = services.embed_collection(feature_model)
    assert result == {"embedded": 3, "failed": 0, "total": 3}
    assert Embedding.objects.filter(feature_model=feature_model).count() == 5
    assert services.embed_collection(feature_model)["total"] == 0


def _reads(monkeypatch) -> list[str]:
    """Records every private key the feature stage reads."""
    from collection import storage

    read, real = [], storage.get
    monkeypatch.setattr(storage, "get", lambda area, key: read.append(key) or real(area, key))
    return read


def test_re_embedding_reads_the_stored_model_inputs_and_gives_the_same_vectors(demo_dir, monkeypatch):
    works = [artwork_with_image(b) for b in _demo_bytes(demo_dir, 5)]
    feature_model = services.active_feature_model()
    services.embed_collection(feature_model)
    first = {e.artwork_id: e.array() for e in Embedding.objects.filter(feature_model=feature_model)}
    spec = services.extractor_for(feature_model).input_spec
    keys = [services.prepared_input_key(spec, w.image.sha256) for w in works]
    from collection import storage

    assert all(storage.exists("private", key) for key in keys)

    Embedding.objects.all().delete()  # as a new feature model version would find them: not embedded yet
    read = _reads(monkeypatch)
    assert services.embed_collection(feature_model)["embedded"] == 5
    assert sorted(read) == sorted(keys)  # no original was decoded again
    for e in Embedding.objects.filter(feature_model=feature_model):
        np.testing.assert_array_equal(e.array(), first[e.artwork_id])


def test_processing_a_work_keeps_its_model_input_for_the_next_embedding(demo_dir):
    [data] = _demo_bytes(demo_dir, 1)
    work = artwork_with_image(data)
    assert services.embed_artwork(work) == 1
    feature_model = services.active_feature_model()
    extractor = services.extractor_for(feature_model)
    from analysis.extract import PreparedInput
    from collection import storage

    stored = storage.get("private", services.prepared_input_key(extractor.input_spec, work.image.sha256))
    from_stored = extractor.embed_item(PreparedInput(stored, b"never read"))
    np.testing.assert_array_equal(from_stored, Embedding.objects.get(artwork=work).array())


def test_an_unusable_stored_model_input_is_made_again_from_the_original(demo_dir, monkeypatch):
    [work] = [artwork_with_image(b) for b in _demo_bytes(demo_dir, 1)]
    feature_model = services.active_feature_model()
    services.embed_collection(feature_model)
    expected = Embedding.objects.get(artwork=work).array()
    from collection import storage

    key = services.prepared_input_key(services.extractor_for(feature_model).input_spec, work.image.sha256)
    storage.put("private", key, b"\x93NUMPY truncated")
    Embedding.objects.all().delete()
    read = _reads(monkeypatch)
    assert services.embed_collection(feature_model) == {"embedded": 1, "failed": 0, "total": 1}
    assert read == [key, work.image.original]
    np.testing.assert_array_equal(Embedding.objects.get(artwork=work).array(), expected)
    from analysis.extract import decode_input

    assert decode_input(storage.get("private", key), (224, 224, 3)).any()  # stored again, whole


def test_a_failure_to_store_a_model_input_does_not_fail_the_embedding(demo_dir, monkeypatch, caplog):
    works = [artwork_with_image(b) for b in _demo_bytes(demo_dir, 2)]
    from collection import storage

    def refuse(area, key, data):
        raise OSError("disk full")

    monkeypatch.setattr(storage, "put", refuse)
    assert services.embed_collection(services.active_feature_model()) == {"embedded": 2, "failed": 0, "total": 2}
    assert "could not store a prepared model input" in caplog.text
    assert Embedding.objects.filter(artwork__in=works).count() == 2


def test_batched_and_single_extraction_agree(demo_dir):
    from analysis.extract import Extractor

    blobs = _demo_bytes(demo_dir, 6)
    extractor = Extractor.from_backbone()
    keys, batched, errors = _embed_all(extractor, list(enumerate(blobs)), batch_size=4, num_workers=0)
    single = np.stack([extractor.embed_bytes([b])[0] for b in blobs])
    assert keys == list(range(6)) and not errors
    assert np.allclose(batched, single, atol=1e-4)


def test_a_corrupt_image_is_reported_without_losing_the_batch():
    from analysis.extract import Extractor

    good = make_jpeg(80, 60)
    keys, vectors, errors = _embed_all(
        Extractor.from_backbone(), [("a", good), ("b", b"not an image"), ("c", good)], batch_size=3, num_workers=0
    )
    assert keys == ["a", "c"] and vectors.shape[0] == 2
    assert "b" in errors and "UnidentifiedImageError" in errors["b"]


@pytest.fixture
def constructed():
    """Six works with hand-made vectors: the similar-works answer is known exactly."""
    feature_model = FeatureModel.objects.create(version="hand:made:1", backbone="none", kind="pretrained", dim=4)
    feature_model.activate()
    record = images.ingest(make_jpeg(), name="x.jpg")
    vectors = {
        "A": [1, 0, 0, 0],
        "B": [0.9, 0.1, 0, 0],
        "C": [0.8, 0.3, 0, 0],
        "D": [0, 1, 0, 0],
        "E": [0, 0, 1, 0],
        "HIDDEN": [0.95, 0.05, 0, 0],
    }
    works = {}
    for name, vector in vectors.items():
        work = ArtworkFactory(accession_number=name, image=record, published=name != "HIDDEN")
        Embedding.objects.create(
            artwork=work,
            feature_model=feature_model,
            image_sha256=record.sha256,
            vector=Embedding.pack(np.asarray(vector, dtype=np.float32) / np.linalg.norm(vector)),
        )
        works[name] = work
    bump_stamp()
    return works


def test_similar_works_are_the_nearest_published_ones_by_cosine(constructed, api_client):
    response = api_client.get("/api/v1/artworks/A/similar/?k=3")
    assert response.status_code == 200
    body = response.json()
    assert [item["artwork"]["accession_number"] for item in body] == ["B", "C", "D"]
    assert body[0]["score"] > body[1]["score"] > body[2]["score"]
    assert all(item["artwork"]["accession_number"] != "HIDDEN" for item in body)


def test_similar_works_validate_k_and_hide_unpublished_works(constructed, api_client):
    assert api_client.get("/api/v1/artworks/A/similar/?k=0").status_code == 400
    assert api_client.get("/api/v1/artworks/A/similar/?k=abc").status_code == 400
    assert api_client.get("/api/v1/artworks/A/similar/?kk=3").status_code == 400
    assert api_client.get("/api/v1/artworks/HIDDEN/similar/").status_code == 404


def test_unpublishing_a_work_removes_it_from_similar_results(constructed, api_client):
    from collection.services import set_published

    set_published(Artwork.objects.filter(accession_number="B"), False)
    names = [i["artwork"]["accession_number"] for i in api_client.get("/api/v1/artworks/A/similar/?k=2").json()]
    assert names == ["C", "D"]


def test_search_by_image_finds_the_work_and_keeps_nothing(demo_dir, api_client, s3_storage):
    blobs = _demo_bytes(demo_dir, 8)
    works = [artwork_with_image(b) for b in blobs]
    hidden = works[3]
    Artwork.objects.filter(pk=hidden.pk).update(published=False)
    for work in works:
        services.embed_artwork(work)
    bump_stamp()
    before = _bucket_keys(s3_storage)
    target = works[5]

    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image, ImageOps

    # A visitor's photo: the same painting, mirrored and re-encoded.
    photo = BytesIO()
    ImageOps.mirror(Image.open(BytesIO(blobs[5]))).save(photo, "JPEG", quality=70)
    upload = SimpleUploadedFile("visitor.jpg", photo.getvalue(), content_type="image/jpeg")
    response = api_client.post("/api/v1/search/image/", {"image": upload, "k": 5}, format="multipart")
    assert response.status_code == 200, response.content
    found = [item["artwork"]["id"] for item in response.json()]
    assert found[0] == target.pk
    assert hidden.pk not in found
    assert _bucket_keys(s3_storage) == before


def test_search_by_image_rejects_what_is_not_an_image(api_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("photo.jpg", b"<html>not a photo</html>", content_type="image/jpeg")
    response = api_client.post("/api/v1/search/image/", {"image": upload}, format="multipart")
    assert response.status_code == 400
    assert "not a recognisable image" in str(response.json())


def test_training_with_too_few_labels_says_so_and_keeps_the_pretrained_features(demo_dir):
    from core.models import Job
    from tests.factories import LabelFactory

    works = [artwork_with_image(b) for b in _demo_bytes(demo_dir, 3)]
    works[0].labels.add(LabelFactory(kind="style", name="Baroque"))
    active = services.active_feature_model()
    job = Job.objects.create(kind="train_features")

    outcome = services.train_features(job)

    job.refresh_from_db()
    assert outcome["trained"] is False
    assert job.status == "done" and "not enough labels" in job.message
    assert FeatureModel.objects.active() == active
    assert FeatureModel.objects.count() == 1
