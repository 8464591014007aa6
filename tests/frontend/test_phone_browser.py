"""The map on a phone, the lens, deep zoom and Norwegian names (issue #16), in Chromium.

Same synthetic map as test_browser.py: a dozen solid-coloured works on a 4 × 3 grid plus one placed later.
Screenshots of the map, the open work's sheet and the lens on a desktop (1440 × 900) and a phone
(390 × 844) go to test-artifacts/.
"""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from tests.frontend.helpers import ARTIFACTS, canvas_pixels, colour_centre, wait_for_map

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
GREEN = (60, 180, 75)


@pytest.fixture
def phone(browser, request):
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def shot(page, name: str) -> None:
    """A screenshot artefact of the page, with the map's canvas under it.

    Headless Chromium on SwiftShader leaves the WebGL layer out of page screenshots once a scrolling sheet
    with an image lies over it (the area comes back transparent, though the canvas holds the map: read
    back, it does); the canvas's own pixels are laid under the screenshot so the artefact shows the page.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    picture = Image.open(io.BytesIO(page.screenshot())).convert("RGBA")
    box = page.locator("#map-canvas").bounding_box()
    dpr = page.evaluate("devicePixelRatio")
    under = Image.new("RGBA", picture.size, (27, 27, 29, 255))
    under.paste(
        Image.fromarray(canvas_drawing(page).astype(np.uint8)).convert("RGBA"),
        (round(box["x"] * dpr), round(box["y"] * dpr)),
    )
    Image.alpha_composite(under, picture).convert("RGB").save(ARTIFACTS / name)


def canvas_drawing(page) -> np.ndarray:
    """What the canvas itself holds (device pixels), without the DOM drawn over it (labels, tooltip)."""
    url = page.evaluate("document.querySelector('#map-canvas').toDataURL('image/png')")
    png = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def next_frames(page) -> None:
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def touch_swipe(page, x: float, y: float, dy: float, steps: int = 8) -> None:
    """A finger put down at (x, y) and drawn `dy` CSS pixels down: real touch input, through DevTools."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for i in range(1, steps + 1):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y + dy * i / steps}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def green_on_screen(page, scale: float = 1) -> tuple[float, float]:
    x, y = colour_centre(canvas_pixels(page), GREEN)
    box = page.locator("#map-canvas").bounding_box()
    return box["x"] + x / scale, box["y"] + y / scale


def test_on_a_phone_the_map_fills_the_screen_and_panels_are_sheets(phone, live_server, synthetic_map):
    page = phone
    page.goto(f"{live_server.url}/")
    wait_for_map(page)
    box = page.locator("#map-canvas").bounding_box()
    share = box["width"] * box["height"] / (PHONE["width"] * PHONE["height"])
    assert share >= 0.8, f"the map takes only {share:.0%} of the screen"
    shot(page, "phone-map.png")

    # A tap opens the work's sheet, from the bottom of the screen.
    page.touchscreen.tap(*green_on_screen(page, scale=2))
    sheet = page.locator("#work-panel")
    sheet.get_by_role("heading", name=re.compile("Synthetic study")).wait_for()
    page.wait_for_timeout(300)  # the slide-up
    panel = sheet.bounding_box()
    assert panel["y"] + panel["height"] == pytest.approx(PHONE["height"], abs=2)
    assert panel["width"] == pytest.approx(PHONE["width"], abs=2)
    # The map glides so that the work shows above its sheet.
    page.wait_for_timeout(500)
    work_y = page.evaluate(
        "() => { const a = window.collectionMap.app, p = a.store.state.selected; return a.camera.toScreen(a.xs[p], a.ys[p])[1]; }"
    )
    assert box["y"] + work_y < panel["y"], "the work is hidden under its sheet"
    shot(page, "phone-work-sheet.png")

    # A swipe down from its top dismisses it.
    touch_swipe(page, panel["x"] + panel["width"] / 2, panel["y"] + 12, 220)
    sheet.wait_for(state="hidden")
    assert "sel=" not in page.url

    # The close button does too.
    page.touchscreen.tap(*green_on_screen(page, scale=2))
    sheet.get_by_role("heading", name=re.compile("Synthetic study")).wait_for()
    sheet.get_by_role("button", name="Close").click()
    sheet.wait_for(state="hidden")

    # The filters' sheet keeps its buttons in view.
    page.get_by_role("button", name="Filters").click()
    filters = page.locator("#filters-panel")
    filters.wait_for()
    for name in ("Highlight", "Clear"):
        button = filters.get_by_role("button", name=name)
        assert button.is_visible()
        b = button.bounding_box()
        assert 0 <= b["y"] and b["y"] + b["height"] <= PHONE["height"], f"{name} is off the screen: {b}"
    shot(page, "phone-filters-sheet.png")
    touch_swipe(page, PHONE["width"] / 2, filters.bounding_box()["y"] + 12, 220)
    filters.wait_for(state="hidden")
    assert page.get_by_role("button", name="Filters").get_attribute("aria-expanded") == "false"


def test_on_a_phone_a_long_press_shows_the_lens(phone, live_server, synthetic_map):
    page = phone
    page.goto(f"{live_server.url}/?map=all&x=0&y=0.15&z=-1")
    wait_for_map(page)
    assert page.get_by_role("button", name="Lens").get_attribute("aria-pressed") == "true"  # on for touch
    x, y = green_on_screen(page, scale=2)
    before = canvas_drawing(page)
    scale = page.evaluate("() => window.collectionMap.app.camera.scale")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    page.wait_for_function("window.collectionMap.app.store.state.lens !== null")
    next_frames(page)
    during = canvas_drawing(page)
    shot(page, "phone-lens.png")
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.wait_for_function("window.collectionMap.app.store.state.lens === null")
    # The lens magnified a part of the map; the map itself did not zoom.
    assert page.evaluate("() => window.collectionMap.app.camera.scale") == pytest.approx(scale)
    assert np.abs(during - before).max(axis=2).astype(bool).sum() > 2000


def test_the_lens_magnifies_under_the_pointer_and_nothing_else(desktop, live_server, synthetic_map):
    page = desktop
    # Icons smaller than the atlas's cells: no single images arrive between the two pictures.
    page.goto(f"{live_server.url}/?map=all&x=0&y=0.15&z=-1")
    wait_for_map(page)
    shot(page, "desktop-map.png")
    toggle = page.get_by_role("button", name="Lens")
    assert toggle.get_attribute("aria-pressed") == "false"  # off by default with a mouse
    x, y = green_on_screen(page)
    page.mouse.move(x, y)
    page.locator("#map-tooltip").get_by_text(re.compile("Synthetic study")).wait_for()
    next_frames(page)
    off = canvas_drawing(page)

    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"
    page.mouse.move(x + 1, y)
    page.mouse.move(x, y)
    page.wait_for_function("window.collectionMap.app.store.state.lens !== null")
    next_frames(page)
    on = canvas_drawing(page)
    shot(page, "desktop-lens.png")

    lens = page.evaluate("() => window.collectionMap.app.store.state.lens")
    box = page.locator("#map-canvas").bounding_box()
    h, w = on.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    d = np.hypot(xx + 0.5 - lens["cx"], yy + 0.5 - lens["cy"])
    changed = np.abs(on - off).max(axis=2) > 0
    assert (lens["cx"], lens["cy"]) == pytest.approx((x - box["x"], y - box["y"]), abs=1)
    assert changed[d < lens["r"] - 3].mean() > 0.3, "the lens does not change what is under the pointer"
    assert not changed[d > lens["r"] + 1].any(), "the lens changed the map outside its circle"
    # Magnified: the green work covers more of the lens than of the same disc without it.
    green_off = (np.abs(off - np.array(GREEN)).max(axis=2) < 30)[d < lens["r"]].sum()
    green_on = (np.abs(on - np.array(GREEN)).max(axis=2) < 30)[d < lens["r"]].sum()
    assert green_on > 1.5 * green_off


def test_zooming_in_on_a_work_stops_at_its_sharpest_image_then_opens_its_viewer(page, live_server, synthetic_map):
    page.goto(f"{live_server.url}/")
    wait_for_map(page)
    x, y = green_on_screen(page)
    green = next(w for w in synthetic_map.works if synthetic_map.colours[w.pk] == GREEN)
    width, height = green.image.width, green.image.height
    limit = page.evaluate(f"() => {max(width, height)} / window.collectionMap.app.iconSize")  # dpr 1, under 1600 px
    page.mouse.move(x, y)
    page.locator("#map-tooltip").get_by_text(green.title).wait_for()
    scales = []
    for _ in range(20):
        try:
            scale = page.evaluate("() => window.collectionMap ? window.collectionMap.app.camera.scale : null")
        except Exception:  # noqa: BLE001 - the page is being left for the work's
            break
        if scale is None:
            break
        scales.append(scale)
        page.mouse.wheel(0, -240)
        page.wait_for_timeout(150)
    page.wait_for_url(re.compile(rf"/works/{re.escape(green.accession_number)}/#artwork-viewer$"))
    assert max(scales) <= limit * 1.001, "the map enlarged the work beyond its sharpest image"
    assert max(scales) >= limit * 0.999, "the map stopped before the work's sharpest image"
    page.wait_for_function("document.querySelector('.viewer-canvas')?.dataset.loaded")


def test_norwegian_map_and_cluster_names(browser, live_server, synthetic_map):
    from maps.models import Cluster

    Cluster.objects.filter(build=synthetic_map.build, label=1).update(name="Drawing, river", terms=["drawing", "river"])
    context = browser.new_context(viewport=DESKTOP, locale="nb-NO")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/")
        wait_for_map(page)
        page.wait_for_function("document.querySelector('#map-switch option')?.textContent === 'Alle verk'")
        assert page.get_by_role("button", name=re.compile("Tegning, river")).is_visible()
        assert page.get_by_role("button", name="Lupe").is_visible()
        shot(page, "desktop-map-norwegian.png")
    finally:
        context.close()
