import pytest
from tests.frontend.helpers import canvas_pixels, colour_area, wait_for_map

@pytest.mark.browser
def test_explore(page, live_server, synthetic_map):
    page.goto(live_server.url + "/")
    try:
        wait_for_map(page)
    finally:
        print("\n".join(page.console_messages))
        print(page.evaluate("JSON.stringify(document.querySelector('#map-canvas').dataset)"))
    px = canvas_pixels(page, name="explore")
    for wid, c in synthetic_map.colours.items():
        print(wid, c, colour_area(px, c))
