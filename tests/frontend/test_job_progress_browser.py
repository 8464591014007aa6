"""A job's admin page in Chromium follows the job: the test advances it while the page is open."""

from __future__ import annotations

import re

import pytest

from core.models import Job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_running_jobs_page_shows_its_progress_log_and_end_without_a_reload(page, live_server, admin_user):
    from playwright.sync_api import expect

    from tests.frontend.helpers import ARTIFACTS

    job = Job.objects.create(kind="import", target="works.csv")
    job.start(total=10, message="importing 10 records")
    job.progress(2, message="works.csv: record 2 of 10")

    page.goto(f"{live_server.url}/admin/login/?next=/admin/core/job/{job.pk}/change/")
    page.get_by_label("Username").fill(admin_user.username)
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(rf"/admin/core/job/{job.pk}/change/$"))
    figure = page.locator(".field-progress_bar .job-figure")
    expect(figure).to_have_text("2 / 10 (20%)")
    expect(page.get_by_role("button", name="Cancel job")).to_be_visible()
    loaded = page.evaluate("() => performance.timeOrigin")

    job.progress(7, message="works.csv: record 7 of 10")
    job.log("line 5 (J4): rejected: no title", level="error")

    expect(figure).to_have_text("7 / 10 (70%)", timeout=15_000)
    expect(page.locator("progress.job-progress").first).to_have_attribute("value", "7")
    expect(page.locator("ol.job-log li").last).to_contain_text("line 5 (J4): rejected: no title")
    expect(page.locator(".field-message .readonly")).to_have_text("works.csv: record 7 of 10")
    assert page.evaluate("() => performance.timeOrigin") == loaded  # the same page, not a reload
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "job-progress.png"), full_page=True)

    job.progress(10)
    job.finish(message="import finished: created 9, rejected 1")
    expect(page.locator(".field-status .readonly")).to_have_text("Done", timeout=15_000)
    expect(page.get_by_role("button", name="Cancel job")).to_have_count(0)
    expect(figure).to_have_text("10 / 10 (100%)")
    page.screenshot(path=str(ARTIFACTS / "job-progress-done.png"), full_page=True)
    assert not [m for m in page.console_messages if m.startswith("pageerror")]  # the script ran clean
