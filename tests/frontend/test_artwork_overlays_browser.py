"""The artwork page draws the work's detected objects and faces over its zoomable image."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.frontend.helpers import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HORSE = (0.10, 0.20, 0.50, 0.60)
FACE = (0.30, 0.25, 0.40, 0.35)


def _rect(page, selector: str) -> dict:
    return page.locator(selector).bounding_box()


def test_the_artwork_page_draws_objects_and_faces_where_they_are_and_never_untrusted_ones(
    page, live_server, synthetic_map
):
    from analysis.models import Detection, Face

    work = synthetic_map.works[0]
    Detection.objects.create(
        artwork=work,
        detector_version="tv-1",
        label="horse",
        score=0.91,
        x0=HORSE[0],
        y0=HORSE[1],
        x1=HORSE[2],
        y1=HORSE[3],
        trusted=True,
    )
    Detection.objects.create(
        artwork=work, detector_version="random", label="giraffe", score=0.99, x0=0, y0=0, x1=1, y1=1, trusted=False
    )
    Face.objects.create(
        artwork=work,
        model_version="dlib-test",
        index=0,
        score=1.2,
        x0=FACE[0],
        y0=FACE[1],
        x1=FACE[2],
        y1=FACE[3],
        descriptor=np.zeros(128, dtype="<f4").tobytes(),
    )

    page.goto(f"{live_server.url}/works/{work.accession_number}/")
    page.wait_for_function("document.querySelector('.viewer-canvas')?.dataset.loaded")
    page.locator(".detections-layer .detection-object").wait_for()
    page.locator(".detections-layer .detection-face").wait_for()

    assert page.locator(".detections-layer .detection").count() == 2  # the untrusted giraffe is not there
    assert "giraffe" not in page.content()
    listed = page.locator("#detections-list").inner_text()
    assert re.search(r"horse \(91 %\)", listed) and "Face" in listed

    horse, face = _rect(page, ".detections-layer .detection-object"), _rect(page, ".detections-layer .detection-face")
    # Boxes keep the image's proportions: the face sits inside the horse box where its fractions say.
    assert horse["width"] / face["width"] == pytest.approx((HORSE[2] - HORSE[0]) / (FACE[2] - FACE[0]), rel=0.05)
    assert (face["x"] - horse["x"]) / horse["width"] == pytest.approx(
        (FACE[0] - HORSE[0]) / (HORSE[2] - HORSE[0]), abs=0.03
    )
    assert (face["y"] - horse["y"]) / horse["height"] == pytest.approx(
        (FACE[1] - HORSE[1]) / (HORSE[3] - HORSE[1]), abs=0.03
    )
    canvas = _rect(page, ".viewer-canvas")
    assert canvas["x"] <= horse["x"] and horse["x"] + horse["width"] <= canvas["x"] + canvas["width"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "artwork-overlays.png"))

    # Zooming moves the boxes with the image.
    before = _rect(page, ".detections-layer .detection-object")
    page.locator("#viewer-zoom-in").click()
    page.wait_for_function(
        f"document.querySelector('.detections-layer .detection-object').getBoundingClientRect().width > {before['width'] * 1.5}"
    )

    page.get_by_label("Show detected objects and faces").uncheck()
    assert page.locator(".detections-layer").is_hidden()
