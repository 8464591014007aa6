"""The Content-Security-Policy in a real browser: every page works under it and nothing is refused.

Chromium reports each refusal as a ``securitypolicyviolation`` event and a console error; both are
collected, and the map must still draw its thumbnails (WebGL, atlases from the S3 endpoint).
"""

from __future__ import annotations

import re

import pytest

from tests.frontend.helpers import canvas_pixels, colour_area

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
});
"""


def violations(page) -> list[str]:
    reported = page.evaluate("() => window.__cspViolations || []")
    console = [m for m in page.console_messages if "Content Security Policy" in m]
    return reported + console


def test_the_site_and_the_admin_run_under_the_policy_without_a_single_violation(
    page, live_server, synthetic_map, curator
):
    page.add_init_script(RECORD_VIOLATIONS)
    seen: dict[str, list[str]] = {}

    response = page.goto(f"{live_server.url}/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # Waits use selectors, not wait_for_function: Playwright evaluates a string predicate with eval,
    # which the policy refuses on pages without 'unsafe-eval'.
    page.locator("#map-canvas[data-ready='true']").wait_for(state="attached", timeout=30_000)
    page.wait_for_timeout(300)
    pixels = canvas_pixels(page)
    drawn = [wid for wid, colour in synthetic_map.colours.items() if colour_area(pixels, colour) >= 400]
    assert len(drawn) == len(synthetic_map.colours), "the map no longer draws under the policy"
    seen["map"] = violations(page)

    work = synthetic_map.works[0]
    page.goto(f"{live_server.url}/works/{work.accession_number}/")
    page.locator(".viewer-canvas[data-loaded]").wait_for(state="attached")
    seen["artwork"] = violations(page)

    page.goto(f"{live_server.url}/decades/")
    page.get_by_role("heading", name=re.compile("1850s")).wait_for()
    # The map choice submits itself when changed: a script file now, not an inline handler.
    seen["decades"] = violations(page)

    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".swagger-ui .information-container").wait_for()
    seen["api docs"] = violations(page)

    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill(curator.username)
    page.get_by_label("Password").fill("pw-curator-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/$"))
    page.goto(f"{live_server.url}/admin/collection/artwork/{work.pk}/change/")
    seen["admin"] = violations(page)

    assert {name: found for name, found in seen.items() if found} == {}


def test_the_language_picker_still_switches_the_language(page, live_server, synthetic_map):
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(f"{live_server.url}/list/")

    page.get_by_label("Language").select_option("nb")

    page.locator("html[lang='nb']").wait_for(state="attached")
    assert violations(page) == []
