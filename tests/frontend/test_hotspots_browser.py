"""First glance on a demo-like map (issue #16): thumbnails as large as the density allows, none hiding another,
the view filled; the hotspots panel flies to a region; a near-duplicate work shows beside its twin.

The demo-like map is the demo's 267 paintings on synthetic islands (tests/frontend/demo_like.py).
Screenshots of the first view and the hotspots panel at 1440 × 900 and 390 × 844 go to test-artifacts/.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.frontend.helpers import ARTIFACTS, canvas_pixels, colour_area, wait_for_map

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": (1440, 900), "phone": (390, 844)}

# Every pair of drawn thumbnails (centre ± half its drawn width and height, in map units) overlaps by less
# than a rounding error: returns the overlapping pairs.
OVERLAPS = """() => {
  const a = window.collectionMap.app, s = a.scene, {xs, ys, iconSize, n} = a.points, out = [];
  const h = [...Array(n).keys()].map((p) => s.halfOf(p).map((v) => v * iconSize));
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
    const ox = h[i][0] + h[j][0] - Math.abs(xs[i] - xs[j]), oy = h[i][1] + h[j][1] - Math.abs(ys[i] - ys[j]);
    if (ox > 1e-5 && oy > 1e-5) out.push([i, j, ox, oy]);
  }
  return out;
}"""


@pytest.fixture
def demo_like_map(transactional_db, public_cors):
    from tests.frontend.demo_like import make_demo_like_map

    return make_demo_like_map()


def _open(browser, live_server, size: tuple[int, int], query: str = ""):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="en-GB", device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/{query}")
    wait_for_map(page, timeout=60_000)
    # the works' details (image sizes) arrive after the first frames and shape the drawn thumbnails
    page.wait_for_timeout(300)
    return context, page, errors


def _covered(pixels: np.ndarray) -> float:
    """The share of the canvas drawn in something other than the map's background."""
    background = np.array([27, 27, 29])
    return float((np.abs(pixels - background).max(axis=2) > 6).mean())


def test_the_first_view_is_filled_with_thumbnails_none_hiding_another(browser, live_server, demo_like_map):
    seen = {}
    for name, size in SIZES.items():
        context, page, errors = _open(browser, live_server, size)
        try:
            share = _covered(canvas_pixels(page, name=f"first-glance-{name}"))
            overlaps = page.evaluate(OVERLAPS)
            state = page.evaluate(
                "() => { const a = window.collectionMap.app; return {n: a.n, z: a.camera.scale / a.fitScale(),"
                " smallest: Math.min(...a.points.sizes), largest: Math.max(...a.points.sizes)}; }"
            )
        finally:
            context.close()
        seen[name] = (share, overlaps, state, errors)
        print(f"{name}: thumbnails cover {share:.1%} of the canvas")
    for name, (share, overlaps, state, errors) in seen.items():
        assert not errors, errors
        assert state["n"] == 267 and state["z"] == pytest.approx(1.0)
        assert overlaps == [], f"{len(overlaps)} thumbnails overlap at {name}: {overlaps[:5]}"
        # The drawn thumbnails differ in size with the room around them.
        assert state["largest"] == pytest.approx(1.0) and state["smallest"] < 0.9
        # Issue #16 asks for 25 %: each picture widens into the room its own shape leaves (density.fitShapes),
        # 26.3 % here (22.5 % with square allotments). On a portrait phone the whole map fits the width and
        # leaves half the height empty: 17.4 % (14.9 % before), guarded here (docs/decisions/first-glance.md).
        least = 0.25 if name == "desktop" else 0.17
        assert share >= least, f"the thumbnails cover only {share:.1%} of the canvas at {name}"


def test_a_hotspot_flies_the_view_to_its_region(browser, live_server, demo_like_map):
    clusters = list(demo_like_map.clusters.order_by("-size"))
    assert len(clusters) >= 6 and all(1 <= len(c.points) <= 5 for c in clusters)
    for name, size in SIZES.items():
        context, page, errors = _open(browser, live_server, size)
        try:
            page.get_by_role("button", name="Hotspots").click()
            panel = page.locator("#hotspots-panel")
            panel.locator(".hotspot-thumb img").first.wait_for()
            page.wait_for_function(
                "[...document.querySelectorAll('.hotspot-thumb img')].every((i) => i.complete && i.naturalWidth > 0)"
            )
            assert panel.locator(".hotspot").count() == len(clusters)
            assert panel.locator(".hotspot").first.locator(".hotspot-thumb img").count() == len(clusters[0].points)
            shot = page.screenshot(path=str(ARTIFACTS / f"hotspots-panel-{name}.png"))
            # Nothing left unpainted around the panel (the map above it showed as a white box on a phone).
            unpainted = int((np.asarray(Image.open(io.BytesIO(shot)).convert("RGBA"))[..., 3] == 0).sum())
            target = clusters[1]  # not the largest: it may sit near the centre already
            page.locator(f".hotspot[data-label='{target.label}']").click()
            page.wait_for_function("!window.collectionMap.app.camera.animating", timeout=10_000)
            view = page.evaluate(
                """(label) => {
                  const a = window.collectionMap.app, {xs, ys, cluster, n} = a.points;
                  let sx = 0, sy = 0, k = 0;
                  for (let p = 0; p < n; p++) if (cluster[p] === label) { sx += xs[p]; sy += ys[p]; k++; }
                  const [px, py] = a.camera.toScreen(sx / k, sy / k);
                  return {px, py, w: a.camera.width, h: a.camera.height, z: a.camera.scale / a.fitScale()};
                }""",
                target.label,
            )
            canvas_pixels(page, name=f"hotspot-flown-{name}")
        finally:
            context.close()
        assert not errors, errors
        assert unpainted == 0, f"{unpainted} pixels left unpainted at {name}"
        # The region's centre (of its works as drawn) ends near the canvas's centre, zoomed in.
        assert abs(view["px"] - view["w"] / 2) < 0.1 * view["w"], view
        assert abs(view["py"] - view["h"] / 2) < 0.1 * view["h"], view
        assert view["z"] >= 1.5 - 1e-9, view  # at least 1.5 times the whole map's fit


def test_a_near_duplicate_shows_beside_its_twin(page, live_server, synthetic_map):
    """A second photograph of a work, placed on top of it: both thumbnails are seen."""
    from maps.models import MapPoint
    from tests.factories import artwork_with_image, image_bytes

    twin = synthetic_map.works[5]
    x, y = synthetic_map.positions[twin.pk]
    violet = (120, 60, 255)
    copy = artwork_with_image(image_bytes("PNG", size=(480, 360), colour=violet), accession_number="SYN.COPY")
    MapPoint.objects.create(build=synthetic_map.build, artwork=copy, x=x + 1e-5, y=y, placed=True)
    page.goto(f"{live_server.url}/")
    wait_for_map(page)
    page.wait_for_timeout(300)
    pixels = canvas_pixels(page, name="near-duplicate")
    twin_area = colour_area(pixels, synthetic_map.colours[twin.pk])
    copy_area = colour_area(pixels, violet)
    others = [colour_area(pixels, synthetic_map.colours[w.pk]) for w in synthetic_map.works if w.pk != twin.pk]
    assert copy_area > 0.5 * np.median(others) and twin_area > 0.5 * np.median(others), (twin_area, copy_area, others)
    assert page.evaluate(OVERLAPS) == []
