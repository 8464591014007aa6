"""Map layouts in a real browser: the grid never overlaps, a switch animates, the URL keeps the layout.

The synthetic build has no stored grid cells (as a build from before the grid), so the points API
lays its grid out when serving; its timeline has four decades and its blocks two classifications.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.frontend.helpers import ARTIFACTS, canvas_pixels, colour_area, colour_centre, wait_for_map

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAYOUTS = ("tsne", "grid", "timeline", "group")
SIZES = ((1440, 900), (390, 844))

DRAWN = """() => {
  const app = window.collectionMap.app;
  const min = 1.5;  // MIN_ICON_PX in points.js: thumbnails never drawn smaller
  const size = Math.max(app.iconSize, min / app.camera.scale);
  return { xs: Array.from(app.xs), ys: Array.from(app.ys), size, layout: app.store.state.layout };
}"""


def _overlaps(xs: np.ndarray, ys: np.ndarray, size: float) -> list[tuple[int, int]]:
    """Pairs of thumbnails whose drawn squares (the longest side is `size`, centred on the point) intersect."""
    out = []
    for i in range(len(xs)):
        dx, dy = np.abs(xs[i + 1 :] - xs[i]), np.abs(ys[i + 1 :] - ys[i])
        out += [(i, i + 1 + j) for j in np.nonzero((dx < size * (1 - 1e-4)) & (dy < size * (1 - 1e-4)))[0]]
    return out


def test_in_the_grid_no_two_drawn_thumbnails_intersect_and_every_work_is_drawn(page, live_server, synthetic_map):
    page.goto(f"{live_server.url}/?layout=grid")
    wait_for_map(page)
    drawn = page.evaluate(DRAWN)
    assert drawn["layout"] == "grid"
    xs, ys = np.array(drawn["xs"]), np.array(drawn["ys"])
    assert len(xs) == 13
    assert not _overlaps(xs, ys, drawn["size"])
    pixels = canvas_pixels(page, name="layout-grid-check")
    for wid, colour in synthetic_map.colours.items():
        assert colour_area(pixels, colour) > 400, f"work {wid} not drawn in the grid"
    # Picking follows the layout shown: a click on a work's grid cell opens that work.
    work = synthetic_map.works[2]
    x, y = colour_centre(pixels, synthetic_map.colours[work.pk])
    box = page.locator("#map-canvas").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.locator("#work-panel").get_by_role("heading", name=work.title).wait_for()


def test_switching_layout_animates_and_the_url_restores_it(page, live_server, synthetic_map):
    page.goto(f"{live_server.url}/")
    wait_for_map(page)
    start = canvas_pixels(page)
    assert page.locator("#layout-switch").is_visible()
    assert page.locator("#layout-switch option").all_inner_texts() == ["By similarity", "Grid", "Timeline", "By group"]
    # A slow switch, so that software WebGL draws frames on the way.
    page.evaluate("() => { window.collectionMap.app.layouts.switchTo('grid', { duration: 6000 }); }")
    page.wait_for_function(
        "() => { const m = Number(document.querySelector('#map-canvas').dataset.morph); return m > 0.25 && m < 0.75; }"
    )
    middle = canvas_pixels(page, name="layout-switch-middle")
    page.wait_for_function("() => document.querySelector('#map-canvas').dataset.morph === '1.000'", timeout=20_000)
    page.evaluate("() => new Promise(r => setTimeout(r, 700))")  # the camera's flight ends too
    end = canvas_pixels(page, name="layout-switch-end")

    def differs(a: np.ndarray, b: np.ndarray) -> float:
        return float((np.abs(a - b).max(axis=2) > 40).mean())

    assert differs(middle, start) > 0.01 and differs(middle, end) > 0.01, (differs(middle, start), differs(middle, end))
    page.wait_for_function("() => location.search.includes('layout=grid')")
    # Through the toolbar, then a reload restores the layout from the URL.
    page.locator("#layout-switch").select_option("timeline")
    page.wait_for_function("() => location.search.includes('layout=timeline')")
    page.wait_for_function("() => document.querySelector('#map-canvas').dataset.morph === '1.000'")
    page.reload()
    wait_for_map(page)
    assert page.evaluate(DRAWN)["layout"] == "timeline"
    assert page.locator("#layout-switch").input_value() == "timeline"
    assert page.locator("#map-canvas").get_attribute("data-layout") == "timeline"
    assert page.locator(".layout-region").all_inner_texts()[:4] == ["1850s", "1860s", "1870s", "1880s"]
    assert not page.locator("#map-labels").is_visible()  # cluster names belong to the t-SNE layout


def test_screenshots_of_each_layout(browser, live_server, synthetic_map):
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in SIZES:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB")
        page = context.new_page()
        try:
            for layout in LAYOUTS:
                page.goto(f"{live_server.url}/?layout={layout}")
                wait_for_map(page)
                drawn = page.evaluate(DRAWN)
                assert drawn["layout"] == layout
                if layout != "tsne":
                    assert not _overlaps(np.array(drawn["xs"]), np.array(drawn["ys"]), drawn["size"]), layout
                page.screenshot(path=str(ARTIFACTS / f"layout-{layout}-{width}x{height}.png"))
        finally:
            context.close()


LABEL_BOXES = """() => [...document.querySelectorAll('.layout-region')].map((n) => {
  const r = n.getBoundingClientRect();
  return { text: n.textContent, shown: !n.hidden && r.width > 0, x0: r.left, x1: r.right, y0: r.top, y1: r.bottom };
})"""


def _overlapping_labels(boxes: list[dict]) -> list[tuple[str, str]]:
    shown = [b for b in boxes if b["shown"]]
    return [
        (a["text"], b["text"])
        for i, a in enumerate(shown)
        for b in shown[i + 1 :]
        if a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]
    ]


@pytest.mark.parametrize("width,height", SIZES)
def test_timeline_band_labels_never_overlap_and_zooming_in_shows_more(
    browser, live_server, synthetic_map, width, height
):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/?layout=timeline")
        wait_for_map(page)
        counts = []
        # Zoomed out as far as the camera goes (the labels crowd), then the first view, then closer.
        for factor in (0.25, 1.0, 2.0):
            page.evaluate(
                """(f) => { const app = window.collectionMap.app; const b = app.bbox;
                app.camera.set((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, app.fitScale() * f); }""",
                factor,
            )
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            boxes = page.evaluate(LABEL_BOXES)
            assert [b["text"] for b in boxes][:4] == ["1850s", "1860s", "1870s", "1880s"]
            assert not _overlapping_labels(boxes), (factor, boxes)
            counts.append(sum(b["shown"] for b in boxes))
            if factor == 1.0:
                assert counts[-1] == len(boxes), boxes  # the first view names every band
                page.screenshot(path=str(ARTIFACTS / f"timeline-{width}x{height}.png"))
        assert counts[0] >= 2 and counts[0] <= counts[1], counts
    finally:
        context.close()


def test_on_a_phone_the_map_and_layout_switchers_are_wide_enough_to_read(browser, live_server, synthetic_map):
    """They used to shrink to bare arrows in the one-row phone toolbar; now they have a row of their own."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/?layout=timeline")
        wait_for_map(page)
        for select in ("#map-switch", "#layout-switch"):
            box = page.locator(select).bounding_box()
            assert box and box["width"] >= 140, (select, box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (select, box)
        # The chosen layout's name is not cut: the select is wider than its text.
        text_width = page.evaluate(
            """() => { const s = document.querySelector('#layout-switch'); const c = document.createElement('canvas')
              .getContext('2d'); c.font = getComputedStyle(s).font; return c.measureText(s.selectedOptions[0].text).width; }"""
        )
        assert page.locator("#layout-switch").bounding_box()["width"] > text_width + 20
        # The rest of the bar still fits on the screen.
        for control in ("#site-menu-toggle", "#map-search", "#filters-toggle", "#lens-toggle"):
            box = page.locator(control).bounding_box()
            assert box and box["x"] + box["width"] <= 390, (control, box)
        page.screenshot(path=str(ARTIFACTS / "toolbar-phone-390x844.png"))
    finally:
        context.close()
