"""The one loader of stored vectors, which map builds, placement, summaries, similar works and face search share."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.faces import DESCRIPTOR_DIM
from analysis.models import Embedding, Face, FeatureModel
from analysis.vectors import face_vectors, work_vectors
from collection.models import Artwork
from tests.factories import ArtworkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def feature_model() -> FeatureModel:
    return FeatureModel.objects.create(version="test:pretrained:0001", backbone="test", kind="pretrained", dim=4)


def _with_vector(feature_model: FeatureModel, vector: list[float], **fields) -> Artwork:
    work = ArtworkFactory(**fields)
    vector_bytes = Embedding.pack(np.asarray(vector))
    Embedding.objects.create(artwork=work, feature_model=feature_model, image_sha256="0" * 64, vector=vector_bytes)
    return work


def _face(work: Artwork, index: int, value: float, version: str = "faces:1") -> Face:
    descriptor = np.full(DESCRIPTOR_DIM, value, dtype=np.float32)
    return Face.objects.create(
        artwork=work,
        model_version=version,
        index=index,
        score=1.0,
        x0=0,
        y0=0,
        x1=1,
        y1=1,
        descriptor=descriptor.astype("<f4").tobytes(),
    )


def test_work_vectors_are_the_published_works_vectors_in_work_order(feature_model):
    works = [_with_vector(feature_model, [i, i, i, i], published=(i != 1)) for i in range(3)]

    ids, X = work_vectors(feature_model)

    assert ids.tolist() == [works[0].pk, works[2].pk]
    assert X.dtype == np.float32 and X.tolist() == [[0, 0, 0, 0], [2, 2, 2, 2]]
    X[0, 0] = 9.0  # writable in place, as torch needs it


def test_work_vectors_of_chosen_works_include_unpublished_ones(feature_model):
    works = [_with_vector(feature_model, [i, 0, 0, 0], published=False) for i in range(2)]

    ids, X = work_vectors(feature_model, Artwork.objects.filter(pk=works[1].pk))

    assert ids.tolist() == [works[1].pk] and X.tolist() == [[1, 0, 0, 0]]


def test_works_without_vectors_give_an_empty_matrix_as_wide_as_the_model(feature_model):
    ids, X = work_vectors(feature_model, Artwork.objects.none())

    assert ids.shape == (0,) and X.shape == (0, 4)


def test_face_vectors_are_one_face_models_descriptors_with_their_works(feature_model):
    first, second = ArtworkFactory(), ArtworkFactory()
    faces = [_face(second, 0, 1.0), _face(first, 0, 2.0), _face(first, 1, 3.0)]
    _face(first, 2, 4.0, version="faces:2")  # another model's descriptor means something else

    loaded = face_vectors("faces:1")

    assert loaded.face_ids.tolist() == [f.pk for f in faces]
    assert loaded.artwork_ids.tolist() == [second.pk, first.pk, first.pk]
    assert loaded.X.shape == (3, DESCRIPTOR_DIM) and loaded.X[:, 0].tolist() == [1.0, 2.0, 3.0]


def test_face_vectors_of_chosen_faces_and_of_none(feature_model):
    hidden, shown = ArtworkFactory(published=False), ArtworkFactory(published=True)
    _face(hidden, 0, 1.0)
    visible = _face(shown, 0, 2.0)

    assert face_vectors("faces:1", Face.objects.visible()).face_ids.tolist() == [visible.pk]
    empty = face_vectors("faces:3")
    assert len(empty) == 0 and empty.X.shape == (0, DESCRIPTOR_DIM)
