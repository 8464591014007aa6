"""The curators' dashboard in Chromium at 1440x900: it loads under the site's policy, shows the live map's
picture (a signed URL on the S3 endpoint), and its counts lead to the filtered list of works."""

from __future__ import annotations

import re

import pytest

from analysis.models import FeatureModel
from collection.models import ProcessingStatus
from core.models import Job
from tests.frontend.conftest import ARTIFACTS
from tests.frontend.test_csp_browser import RECORD_VIOLATIONS, violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def superuser(db):
    from django.contrib.auth.models import User

    return User.objects.create_superuser("chief", password="pw-chief-123")


@pytest.fixture
def wide_page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB", device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(20_000)
    messages: list[str] = []
    page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}"))
    page.console_messages = messages  # type: ignore[attr-defined]
    yield page
    context.close()


def test_the_dashboard_in_a_browser(wide_page, live_server, synthetic_map, superuser):
    page = wide_page
    build = synthetic_map.build
    build.metrics = {
        "parametric": {"trustworthiness": 0.962, "knn_recall": 0.401},
        "opentsne": {"trustworthiness": 0.971, "knn_recall": 0.433},
        "layout": "parametric",
    }
    build.save(update_fields=["metrics"])
    for work in synthetic_map.works[:2]:
        work.set_processing(ProcessingStatus.FAILED, stage="features", error="out of memory")
    synthetic_map.works[2].set_processing(ProcessingStatus.QUEUED)
    FeatureModel.objects.create(
        version="tf_efficientnet_lite0:ft:demo",
        backbone="tf_efficientnet_lite0",
        kind="finetuned",
        dim=256,
        metrics={"style": {"metric": "top1_accuracy", "value": 0.604, "n": 840}},
    ).activate()
    Job.objects.create(kind="build_map", target="all")
    page.add_init_script(RECORD_VIOLATIONS)

    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("chief")
    page.get_by_label("Password").fill("pw-chief-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/$"))
    preview = page.locator("#dashboard-live-maps img.map-preview")
    preview.wait_for()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-dashboard-1440x900.png"))

    assert page.evaluate("(img) => img.naturalWidth", preview.element_handle()) == 240
    assert page.locator("#dashboard-processing a.failed .count").inner_text() == "2"
    assert page.locator("#dashboard-live-maps .trustworthiness").inner_text() == "0.962"
    assert "0.604" in page.locator("#dashboard-feature-model").inner_text()
    assert "build_map all" in page.locator("#dashboard-waiting").inner_text()
    assert violations(page) == []

    page.locator("#dashboard-live-maps a", has_text="v1").click()
    page.locator("#build-metrics").wait_for()
    page.screenshot(path=str(ARTIFACTS / "admin-map-build-1440x900.png"), full_page=True)
    assert "0.975" in page.locator("#build-metrics").inner_text()  # the anchor it is judged against
    assert violations(page) == []

    page.go_back()
    page.locator("#dashboard-processing a.failed").click()
    page.wait_for_url(re.compile(r"processing_status__exact=failed"))
    assert page.locator("#result_list tbody tr").count() == 2
