"""The visitor map's first glance and details (issue #16): the view that fills the screen, the unknown map,
the toolbar count that follows the filter and the tooltip that gives way to the work panel.

Same synthetic map as test_browser.py: a dozen solid-coloured works on a 4 × 3 grid plus one placed later.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.frontend.helpers import canvas_pixels, colour_centre, wait_for_map

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def drawn_box(pixels: np.ndarray) -> tuple[float, float]:
    """The share of the canvas's width and height that the drawn works span (anything unlike the background)."""
    background = pixels[2, 2]
    ys, xs = np.nonzero(np.abs(pixels - background).max(axis=2) > 40)
    h, w = pixels.shape[:2]
    return (xs.max() - xs.min() + 1) / w, (ys.max() - ys.min() + 1) / h


def test_the_first_view_fills_the_canvas_with_the_collection(page, live_server, synthetic_map):
    page.goto(f"{live_server.url}/")
    wait_for_map(page)
    width, height = drawn_box(canvas_pixels(page, name="first-glance"))
    # The works span a square; the canvas is wider than high, so the height is the side that fits.
    assert height >= 0.9, f"the works span only {height:.0%} of the canvas's height"
    # Columns 0.5 apart hold thumbnails 0.5 wide at most, so that none hides another (density.js; they were
    # 0.6 and overlapped): the box they span is 2.0 map units square, about 0.66 × 0.96 of this canvas, less
    # the narrower portrait works at its edges.
    assert width * height >= 0.45, f"the works' box covers only {width * height:.0%} of the canvas"


def test_a_shared_view_wins_over_the_fitted_first_view(page, live_server, synthetic_map):
    page.goto(f"{live_server.url}/?map=all&x=0.25000&y=0.30000&z=1.500")
    wait_for_map(page)
    state = page.evaluate(
        "() => { const a = window.collectionMap.app; return {cx: a.camera.cx, cy: a.camera.cy, z: Math.log2(a.camera.scale / a.fitScale())}; }"
    )
    assert state == pytest.approx({"cx": 0.25, "cy": 0.3, "z": 1.5}, abs=1e-4)


def test_an_unknown_map_says_it_does_not_exist_and_offers_the_others(page, live_server, synthetic_map):
    page.goto(f"{live_server.url}/?map=no-such-map")
    error = page.locator("#map-error")
    error.wait_for()
    assert "no-such-map" in error.inner_text() and "does not exist" in error.inner_text()
    page.screenshot(path=str(canvas_artifact("unknown-map.png")))
    # The maps that do exist are one click away, in the message and in the switcher.
    error.get_by_role("link", name="All works").click()
    wait_for_map(page)
    assert "map=all" in page.url
    page.goto(f"{live_server.url}/?map=no-such-map")
    page.locator("#map-error").wait_for()
    assert page.locator("#map-switch").is_enabled()
    assert not [m for m in page.console_messages if m.startswith("pageerror")], page.console_messages


def test_the_toolbar_count_follows_the_filter(page, live_server, synthetic_map):
    page.goto(f"{live_server.url}/")
    wait_for_map(page)
    count = page.locator("#map-count")
    assert count.inner_text() == "13 works"
    page.get_by_role("button", name="Filters").click()
    page.get_by_label("Artist").fill("Morisot")
    page.get_by_role("button", name="Highlight").click()
    page.wait_for_function("document.querySelector('#map-canvas').dataset.matches === '4'")
    assert count.inner_text() == "4 of 13 works"
    page.get_by_role("button", name="Clear").click()
    page.wait_for_function("document.querySelector('#map-count').textContent === '13 works'")


def test_the_toolbar_count_follows_the_filter_in_norwegian(browser, live_server, synthetic_map):
    context = browser.new_context(viewport={"width": 1100, "height": 760}, locale="nb-NO")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/?artist=Morisot")
        wait_for_map(page)
        page.wait_for_function("document.querySelector('#map-count').textContent === '4 av 13 verk'")
    finally:
        context.close()


def test_the_tooltip_goes_when_the_work_panel_opens(page, live_server, synthetic_map):
    page.goto(f"{live_server.url}/")
    wait_for_map(page)
    green = next(w for w in synthetic_map.works if synthetic_map.colours[w.pk] == (60, 180, 75))
    x, y = colour_centre(canvas_pixels(page), (60, 180, 75))
    box = page.locator("#map-canvas").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    tooltip = page.locator("#map-tooltip")
    tooltip.get_by_text(green.title).wait_for()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.locator("#work-panel").get_by_role("heading", name=green.title).wait_for()
    assert tooltip.is_hidden()


def canvas_artifact(name: str):
    from tests.frontend.helpers import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
