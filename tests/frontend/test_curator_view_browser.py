"""The map's curator view in a real browser: a curator opening it from a work's admin page sees the unpublished
work selected, with the badge; a visitor sending the same address sees the public map and no badge."""

from __future__ import annotations

import pytest

from tests.frontend.helpers import wait_for_map

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_curator_view_shows_and_selects_an_unpublished_work_for_curators_only(
    browser, page, live_server, synthetic_map, curator, client
):
    from collection import services
    from collection.models import Artwork

    hidden = synthetic_map.works[4]
    services.set_published(Artwork.objects.filter(pk=hidden.pk), False)  # its pictures move to the private area
    total = synthetic_map.build.points.count()
    client.force_login(curator)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )

    page.goto(f"{live_server.url}/?map=all&sel={hidden.pk}&curator=1")
    wait_for_map(page)

    assert page.locator("#map-canvas").get_attribute("data-points") == str(total)
    assert page.locator("#curator-badge").is_visible()
    page.locator("#work-panel").get_by_role("heading", name=hidden.title).wait_for()
    page.wait_for_function("location.search.includes('curator=1') && location.search.includes('sel=')")

    visitor = browser.new_context(viewport={"width": 1100, "height": 760})
    try:
        anonymous = visitor.new_page()
        anonymous.goto(f"{live_server.url}/?map=all&sel={hidden.pk}&curator=1")
        wait_for_map(anonymous)
        assert anonymous.locator("#map-canvas").get_attribute("data-points") == str(total - 1)
        assert anonymous.locator("#curator-badge").count() == 0
        assert anonymous.locator("#work-panel").is_hidden()
    finally:
        visitor.close()


def test_the_boxes_lie_on_their_objects_on_the_artwork_admin_page(
    page, live_server, admin_client_for_curator, s3_storage
):
    from analysis.models import Detection
    from tests.factories import artwork_with_image, image_bytes
    from tests.frontend.helpers import ARTIFACTS

    work = artwork_with_image(image_bytes("PNG", size=(480, 360), colour=(40, 90, 160)), title="Boats")
    Detection.objects.create(
        artwork=work, detector_version="d:1", label="boat", score=0.9, x0=0.25, y0=0.5, x1=0.75, y1=1.0
    )
    cookie = admin_client_for_curator.cookies["sessionid"].value
    page.context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])

    page.goto(f"{live_server.url}/admin/collection/artwork/{work.pk}/change/")
    overlay = page.locator(".boxes-on-picture")
    overlay.locator("img").evaluate("img => img.decode()")
    picture = overlay.locator("img").bounding_box()
    drawing = overlay.locator("svg").bounding_box()
    boat = overlay.locator("g.detected-object rect").bounding_box()
    ARTIFACTS.mkdir(exist_ok=True)
    overlay.screenshot(path=str(ARTIFACTS / "admin-boxes-on-picture.png"))

    assert picture["width"] > 100
    for key in ("x", "y", "width", "height"):
        assert abs(drawing[key] - picture[key]) < 1.5, key
    assert abs(boat["x"] - (picture["x"] + 0.25 * picture["width"])) < 3
    assert abs(boat["y"] - (picture["y"] + 0.5 * picture["height"])) < 3
    assert abs(boat["width"] - 0.5 * picture["width"]) < 4
