"""The public website in a real browser: Debian's Chromium (WebGL on SwiftShader) through Playwright.

Each test gets a dozen works with solid-coloured images on a hand-made map build whose atlases
were made by maps.atlas, plus one work placed after the build (white, not in the atlases).
Checks look at pixels of the canvas, not only at the DOM.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from tests.frontend.helpers import canvas_pixels, colour_area, colour_centre, wait_for_map

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MIN_AREA = 400  # pixels of a work's colour that count as "its thumbnail is drawn"


def open_map(page, live_server, query: str = "") -> None:
    page.goto(f"{live_server.url}/{query}")
    wait_for_map(page)


def map_state(page) -> dict:
    return page.evaluate(
        "() => { const c = window.collectionMap.app.camera; return {cx: c.cx, cy: c.cy, scale: c.scale}; }"
    )


def wheel_zoom(page, x: float, y: float, steps: int, delta: float = -240) -> None:
    box = page.locator("#map-canvas").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    for _ in range(steps):
        page.mouse.wheel(0, delta)
        page.wait_for_timeout(60)


def test_map_draws_every_thumbnail(page, live_server, synthetic_map):
    open_map(page, live_server)
    pixels = canvas_pixels(page, name="map-overview")
    areas = {wid: colour_area(pixels, colour) for wid, colour in synthetic_map.colours.items()}
    missing = {wid: area for wid, area in areas.items() if area < MIN_AREA}
    assert not missing, f"thumbnails not drawn (work id: pixels of its colour): {missing}"
    # The atlas served the built works: one sheet at one level for a dozen works.
    canvas = page.locator("#map-canvas")
    assert canvas.get_attribute("data-levels") == "128"
    assert canvas.get_attribute("data-extra") == "1"  # the work placed after the build
    # Cluster names are drawn over the map.
    assert page.get_by_role("button", name=re.compile("Morisot, 1850s")).is_visible()


def test_zooming_in_loads_sharper_images(page, live_server, synthetic_map):
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    # A dozen works fill the first view with thumbnails larger than the atlas's 128 px cells (and rightly load
    # sharper images there); half a zoom step out, the atlas suffices, as it does on a map of hundreds of works.
    open_map(page, live_server, "?map=all&x=0&y=0.15&z=-0.5")
    assert float(page.locator("#map-canvas").get_attribute("data-icon-px")) < 128 * 1.15
    assert not [u for u in requests if "/medium." in u], "medium images before zooming in"
    red = next(w for w in synthetic_map.works if synthetic_map.colours[w.pk] == (230, 25, 75))
    centre = colour_centre(canvas_pixels(page), synthetic_map.colours[red.pk])
    # Two steps: its 420 px image is at its own size a little further in, where the map stops (deep zoom).
    wheel_zoom(page, centre[0], centre[1], steps=2)
    page.wait_for_function("Number(document.querySelector('#map-canvas').dataset.sharp) > 0")
    page.wait_for_timeout(300)
    assert [u for u in requests if "/medium." in u], "no medium derivative was requested after zooming in"
    pixels = canvas_pixels(page, name="map-zoomed-in")
    assert colour_area(pixels, (230, 25, 75)) > 20_000, "the zoomed-in work does not fill the view"
    assert float(page.locator("#map-canvas").get_attribute("data-icon-px")) > 300


def test_click_opens_panel_then_artwork_page(page, live_server, synthetic_map):
    open_map(page, live_server)
    green = next(w for w in synthetic_map.works if synthetic_map.colours[w.pk] == (60, 180, 75))
    x, y = colour_centre(canvas_pixels(page), (60, 180, 75))
    box = page.locator("#map-canvas").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    tooltip = page.locator("#map-tooltip")
    tooltip.get_by_text(green.title).wait_for()
    assert green.artist_display in tooltip.inner_text() and green.date_display in tooltip.inner_text()
    page.mouse.click(box["x"] + x, box["y"] + y)
    panel = page.locator("#work-panel")
    panel.get_by_role("heading", name=green.title).wait_for()
    assert panel.get_by_role("img").get_attribute("alt").startswith(green.title)
    page.wait_for_function(f"location.search.includes('sel={green.pk}')")
    page.screenshot(path=str(_artifact("work-panel.png")))
    panel.get_by_role("link", name="Open the artwork page").click()
    page.wait_for_url(re.compile(rf"/works/{re.escape(green.accession_number)}/$"))
    assert page.get_by_role("heading", level=1).inner_text() == green.title
    # The zoomable viewer draws the image in WebGL.
    page.wait_for_function("document.querySelector('.viewer-canvas')?.dataset.loaded")
    pixels = canvas_pixels(page, ".viewer-canvas", name="artwork-viewer")
    assert colour_area(pixels, (60, 180, 75)) > 20_000
    # No features yet: the similar-works API answers 409, and the page says why.
    page.get_by_text("Similar works appear once this work has been analysed.").wait_for()
    # "Show on the map" leads back to the work, selected.
    page.get_by_role("link", name="Show on the map").click()
    wait_for_map(page)
    page.locator("#work-panel").get_by_role("heading", name=green.title).wait_for()


def test_filter_dims_works_that_do_not_match(page, live_server, synthetic_map):
    open_map(page, live_server)
    before = canvas_pixels(page)
    page.get_by_role("button", name="Filters").click()
    page.get_by_label("Artist").fill("Morisot")
    page.get_by_role("button", name="Highlight").click()
    page.wait_for_function("document.querySelector('#map-canvas').dataset.matches === '4'")
    page.wait_for_timeout(200)
    page.get_by_role("button", name="Filters").click()  # close the panel so it does not hide the map
    after = canvas_pixels(page, name="map-filtered")
    for work in synthetic_map.works:
        colour = synthetic_map.colours[work.pk]
        if "Morisot" in work.artist_display:
            assert colour_area(after, colour) > 0.8 * colour_area(before, colour), f"{work.title} should stay bright"
        else:
            assert colour_area(after, colour) < MIN_AREA / 4, f"{work.title} should be dimmed"
    assert "artist=Morisot" in page.url
    assert "4 of 13 works match" in page.locator("#filter-result").inner_text()


def test_shared_url_restores_the_view(page, live_server, synthetic_map, browser):
    open_map(page, live_server)
    wheel_zoom(page, 300, 250, steps=1)  # the works' 480 px images stop the zoom at 2.3 × the first view
    box = page.locator("#map-canvas").bounding_box()
    page.mouse.move(box["x"] + 500, box["y"] + 400)
    page.mouse.down()
    page.mouse.move(box["x"] + 430, box["y"] + 330, steps=8)
    page.mouse.up()
    page.wait_for_timeout(1200)  # the glide ends, then the URL follows the view
    state = map_state(page)
    url = page.url
    query = parse_qs(urlparse(url).query)
    assert {"map", "x", "y", "z"} <= set(query)
    first = canvas_pixels(page, name="view-shared")

    other = browser.new_context(viewport={"width": 1100, "height": 760}, locale="en-GB").new_page()
    try:
        other.goto(url)
        wait_for_map(other)
        restored = map_state(other)
        assert restored["cx"] == pytest.approx(state["cx"], abs=1e-4)
        assert restored["cy"] == pytest.approx(state["cy"], abs=1e-4)
        assert restored["scale"] == pytest.approx(state["scale"], rel=1e-2)
        second = canvas_pixels(other, name="view-restored")
        # The same picture: nearly every pixel equal.
        same = (np.abs(first - second).max(axis=2) <= 12).mean()
        assert same > 0.97, f"only {same:.1%} of the pixels match"
    finally:
        other.context.close()


def test_box_selection_lists_and_exports(page, live_server, synthetic_map):
    open_map(page, live_server)
    pixels = canvas_pixels(page)
    # A box around the first row of works (red, green, yellow, blue).
    corners = [colour_centre(pixels, c) for c in [(230, 25, 75), (0, 130, 200)]]
    box = page.locator("#map-canvas").bounding_box()
    page.get_by_role("button", name="Box").click()
    page.mouse.move(box["x"] + corners[0][0] - 20, box["y"] + corners[0][1] - 20)
    page.mouse.down()
    page.mouse.move(box["x"] + corners[1][0] + 20, box["y"] + corners[1][1] + 20, steps=10)
    page.mouse.up()
    panel = page.locator("#selection-panel")
    panel.get_by_text("4 works selected").wait_for()
    assert panel.locator("li").count() == 4
    with page.expect_download() as download_info:
        panel.get_by_role("button", name="Export as CSV").click()
    csv_text = Path(download_info.value.path()).read_text(encoding="utf-8")
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("id,accession_number,title")
    assert len(lines) == 5
    assert "Synthetic study 0" in csv_text


def test_keyboard_moves_zooms_and_opens(page, live_server, synthetic_map):
    open_map(page, live_server)
    page.locator("#map-canvas").focus()
    before = map_state(page)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("+")
    page.wait_for_timeout(400)
    after = map_state(page)
    assert after["cx"] > before["cx"] and after["scale"] > before["scale"]
    page.keyboard.press("0")
    page.wait_for_timeout(500)
    page.keyboard.press("Enter")  # the work nearest the centre
    page.locator("#work-panel h2").wait_for()
    page.keyboard.press("Escape")
    assert page.locator("#work-panel").is_hidden()


def test_search_flies_to_a_work(page, live_server, synthetic_map):
    open_map(page, live_server)
    page.get_by_role("combobox", name="Find a work on the map").fill("Synthetic study 7")
    page.get_by_role("option", name=re.compile("Synthetic study 7")).wait_for()
    page.keyboard.press("Enter")
    page.locator("#work-panel").get_by_role("heading", name="Synthetic study 7").wait_for()
    page.wait_for_timeout(900)  # the flight
    work = next(w for w in synthetic_map.works if w.title == "Synthetic study 7")
    state = map_state(page)
    assert (state["cx"], state["cy"]) == pytest.approx(synthetic_map.positions[work.pk], abs=1e-3)


def test_a_show_on_the_map_link_opens_the_map_centred_on_the_work_with_its_panel_open(page, live_server, synthetic_map):
    # The admin's "show on the public map" and the decades page link as /?map=<slug>&sel=<id>.
    work = next(w for w in synthetic_map.works if w.title == "Synthetic study 5")
    page.goto(f"{live_server.url}/?map=all&sel={work.pk}")
    wait_for_map(page)
    page.locator("#work-panel").get_by_role("heading", name="Synthetic study 5").wait_for()
    page.wait_for_timeout(900)  # the flight
    state = map_state(page)
    assert (state["cx"], state["cy"]) == pytest.approx(synthetic_map.positions[work.pk], abs=1e-3)
    assert state["scale"] >= page.evaluate("() => window.collectionMap.app.fitScale()") * 0.99  # not zoomed out


def test_map_search_shows_thumbnails_and_a_line_to_all_the_matches_beyond_the_first_eight(
    page, live_server, synthetic_map
):
    open_map(page, live_server)
    page.get_by_role("combobox", name="Find a work on the map").fill("Synthetic study")
    more = page.locator("#map-search-results .more-results a")
    more.wait_for()

    assert page.locator("#map-search-results li[role=option][aria-selected]").count() == 8
    assert page.locator("#map-search-results img.result-thumb").count() == 8
    assert more.inner_text() == "4 more: show all in the list"  # 12 studies match
    assert more.get_attribute("href") == "/list/?q=Synthetic+study"


def test_norwegian_page(browser, live_server, synthetic_map):
    context = browser.new_context(viewport={"width": 1100, "height": 760}, locale="nb-NO")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/")
        wait_for_map(page)
        assert page.locator("html").get_attribute("lang") == "nb"
        assert page.get_by_role("link", name="Tiår").is_visible()
        assert page.get_by_role("button", name="Filtre").is_visible()
        assert page.locator("#map-count").inner_text() == "13 verk"  # a string from the script
        page.screenshot(path=str(_artifact("map-norwegian.png")))
        page.goto(f"{live_server.url}/works/SYN.003/")
        assert page.get_by_text("Lignende verk").first.is_visible()
    finally:
        context.close()


def test_phone_tap_opens_work(browser, live_server, synthetic_map):
    context = browser.new_context(
        viewport={"width": 390, "height": 760}, has_touch=True, is_mobile=True, device_scale_factor=2, locale="en-GB"
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/")
        wait_for_map(page)
        pixels = canvas_pixels(page, name="map-phone")
        assert sum(colour_area(pixels, c, tolerance=32) > MIN_AREA for c in synthetic_map.colours.values()) >= 12
        x, y = colour_centre(pixels, (255, 225, 25))
        box = page.locator("#map-canvas").bounding_box()
        # The screenshot is in device pixels (scale factor 2).
        page.touchscreen.tap(box["x"] + x / 2, box["y"] + y / 2)
        page.locator("#work-panel").get_by_role("heading", name=re.compile("Synthetic study")).wait_for()
        page.screenshot(path=str(_artifact("map-phone-panel.png")))
    finally:
        context.close()


def test_decades_timeline_links_to_the_map(page, live_server, synthetic_map):
    page.goto(f"{live_server.url}/decades/")
    page.get_by_role("heading", name=re.compile("1850s")).wait_for()
    assert page.locator(".decade").count() == 4
    link = page.locator(".decade-works.typical a").first
    href = link.get_attribute("href")
    assert "sel=" in href and "map=all" in href
    page.screenshot(path=str(_artifact("decades.png")), full_page=True)
    link.click()
    wait_for_map(page)
    page.locator("#work-panel h2").wait_for()


def test_site_without_a_map_build_lists_the_works(page, live_server, transactional_db, public_cors):
    from tests.factories import ArtworkFactory

    ArtworkFactory(title="A work before any map")
    page.goto(f"{live_server.url}/")
    assert page.get_by_text("A work before any map").is_visible()
    assert page.locator("#map-canvas").count() == 0


def _artifact(name: str):
    from tests.frontend.helpers import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def test_sharper_images_stay_sharp_for_new_works(page, live_server, synthetic_map):
    """The work placed after the build is not in the atlases: its own thumbnail is loaded."""
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    open_map(page, live_server)
    deadline = time.time() + 10
    while time.time() < deadline and not [u for u in requests if "/thumb." in u]:
        page.wait_for_timeout(100)
    thumbs = [u for u in requests if "/thumb." in u]
    assert len(thumbs) == 1, thumbs  # only the new work; the others came from the atlas
    assert colour_area(canvas_pixels(page), (255, 255, 255), tolerance=6) > MIN_AREA


def test_the_object_filter_is_off_until_objects_are_detected_then_offers_their_labels(
    page, live_server, synthetic_map, settings
):
    from analysis.models import Detection

    settings.ML_ENABLED = True  # detection is on, it has only found nothing yet
    open_map(page, live_server)
    page.get_by_role("button", name="Filters").click()
    page.locator("#object-note").wait_for(state="visible")
    assert page.get_by_label("Object in the picture").is_disabled()

    horse = synthetic_map.works[0]
    for work, trusted in ((horse, True), (synthetic_map.works[1], False)):
        Detection.objects.create(
            artwork=work, detector_version="v", label="horse", score=0.9, x0=0, y0=0, x1=1, y1=1, trusted=trusted
        )
    open_map(page, live_server)
    page.get_by_role("button", name="Filters").click()
    field = page.get_by_label("Object in the picture")
    page.wait_for_function("document.querySelectorAll('#object-labels option').length === 1")
    assert page.locator("#object-labels option").get_attribute("value") == "horse"
    assert field.is_enabled() and page.locator("#object-note").is_hidden()
    field.fill("horse")
    page.get_by_role("button", name="Highlight").click()
    page.wait_for_function("document.querySelector('#map-canvas').dataset.matches === '1'")
    assert "object=horse" in page.url


def test_with_detection_switched_off_the_object_filter_is_not_shown_at_all(page, live_server, synthetic_map, settings):
    settings.ML_ENABLED = True
    settings.DETECTION_BACKEND = "off"
    open_map(page, live_server)
    page.get_by_role("button", name="Filters").click()
    page.get_by_label("Artist").wait_for(state="visible")

    assert page.get_by_label("Object in the picture").is_hidden()
    assert page.locator("#object-note").is_hidden()
