"""The faces map in a real browser: points are faces, drawn from face-crop atlases, and the panel
leads to the face's work.

No dlib here: faces are rows made by hand with solid-coloured crops (the worker's part is tested in
tests/analysis/test_face_pipeline.py), so a face can be found in a screenshot by its colour.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from tests.frontend.helpers import canvas_pixels, colour_area, colour_centre, wait_for_map

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COLOURS = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180)]
HIDDEN = (70, 240, 240)


def _crop(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (160, 160), colour).save(out, "WEBP", quality=90)
    return out.getvalue()


@pytest.fixture
def faces_map(transactional_db, public_cors):
    """Three works with two faces each, and an unpublished work with one face, on a live faces map."""
    from analysis.models import Face
    from collection import storage
    from maps.atlas import build_atlases
    from maps.models import Map, MapBuild, MapPoint
    from tests.factories import artwork_with_image, image_bytes

    map_obj = Map.objects.create(slug="faces", title="Faces", subject=Map.Subject.FACES)
    build = MapBuild.objects.create(map=map_obj, version=1, feature_version="dlib-test")
    colours: dict[int, tuple[int, int, int]] = {}
    faces: list[Face] = []
    for w in range(4):
        hidden = w == 3
        work = artwork_with_image(
            image_bytes("PNG", size=(300, 400), colour=(90, 90, 90 + w)),
            accession_number=f"FACE.{w}",
            title=f"Portrait {w}",
            published=not hidden,
        )
        for i in range(1 if hidden else 2):
            colour = HIDDEN if hidden else COLOURS[2 * w + i]
            key = f"faces/test/{w}-{i}.webp"
            storage.put("public", key, _crop(colour))
            face = Face.objects.create(
                artwork=work,
                model_version="dlib-test",
                index=i,
                score=1.0,
                x0=0.3,
                y0=0.2,
                x1=0.6,
                y1=0.5,
                descriptor=np.zeros(128, dtype="<f4").tobytes(),
                crop_key=key,
            )
            faces.append(face)
            colours[face.pk] = colour
    for n, face in enumerate(faces):
        MapPoint.objects.create(
            build=build, artwork=face.artwork, face=face, x=-0.7 + 0.45 * (n % 4), y=-0.4 + 0.8 * (n // 4)
        )
    build.n_points = len(faces)
    build.save(update_fields=["n_points"])
    build_atlases(build)
    map_obj.go_live(build)
    return {"faces": faces, "colours": colours, "build": build}


def test_the_faces_map_draws_every_visible_face_and_opens_its_work(page, live_server, faces_map):
    page.goto(f"{live_server.url}/?map=faces")
    wait_for_map(page)
    canvas = page.locator("#map-canvas")
    assert canvas.get_attribute("data-subject") == "faces"
    assert canvas.get_attribute("data-points") == "6"  # the unpublished work's face is not sent
    pixels = canvas_pixels(page, name="faces-map-overview")
    for face in faces_map["faces"]:
        area = colour_area(pixels, faces_map["colours"][face.pk])
        if face.artwork.published:
            assert area > 400, f"face {face.pk} is not drawn"
        else:
            assert area == 0, "a face of an unpublished work is drawn"

    face = next(f for f in faces_map["faces"] if faces_map["colours"][f.pk] == (60, 180, 75))
    x, y = colour_centre(pixels, (60, 180, 75))
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    panel = page.locator("#work-panel")
    panel.get_by_role("heading", name=face.artwork.title).wait_for()
    assert "/faces/test/0-1.webp" in panel.get_by_role("img").get_attribute("src")  # the panel shows the face
    page.wait_for_function(f"location.search.includes('sel={face.pk}')")
    panel.get_by_role("link", name="Open the artwork page").click()
    page.wait_for_url(re.compile(rf"/works/{re.escape(face.artwork.accession_number)}/$"))
