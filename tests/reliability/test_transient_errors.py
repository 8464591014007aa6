"""Object storage or the database away for a moment: the task is retried with backoff and jitter and
the work then finishes; a permanent error marks the work failed with its reason, for curators to see.

The outages are real: the worker reaches the local S3 endpoint or PostgreSQL through a loopback relay
that the test switches off (connections refused) and on again.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from celery.utils.time import get_exponential_backoff_interval
from django.db import OperationalError

from collection import storage
from collection.models import Artwork, ImageFile, ProcessingStatus
from collection.storage import StorageUnavailable
from core.retry import TRANSIENT_ERRORS
from pipeline.tasks import process_artwork
from tests.factories import artwork_with_image, image_bytes
from tests.reliability.conftest import Outage, wait_for
from tests.reliability.test_worker_kill import send_processing

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def test_storage_and_database_errors_are_retried_with_exponential_backoff_and_full_jitter():
    assert StorageUnavailable in TRANSIENT_ERRORS and OperationalError in TRANSIENT_ERRORS
    assert set(process_artwork.autoretry_for) == set(TRANSIENT_ERRORS)
    assert process_artwork.retry_jitter is True
    assert process_artwork.max_retries >= 3
    # The countdowns Celery draws: random in [0, min(cap, factor * 2^n)], so retries spread out in time.
    for retries in range(process_artwork.max_retries):
        ceiling = min(process_artwork.retry_backoff_max, process_artwork.retry_backoff * 2**retries)
        draws = {
            get_exponential_backoff_interval(
                process_artwork.retry_backoff, retries, process_artwork.retry_backoff_max, full_jitter=True
            )
            for _ in range(200)
        }
        assert min(draws) >= 0 and max(draws) <= ceiling
        assert len(draws) > 1, "jitter: not every worker retries at the same moment"


@pytest.fixture
def jpeg_work(workers) -> Artwork:
    work = artwork_with_image(image_bytes("PNG", size=(300, 200), colour=(20, 90, 160)), accession_number="OUT.1")
    workers.env["IMAGE_DERIVATIVE_FORMAT"] = "jpeg"  # the worker must rebuild every derivative from the original
    return work


def retried(workers) -> bool:
    return bool(re.search(r"Task pipeline\.tasks\.process_artwork\[[^]]+\] retry: Retry in \d+s", workers.log()))


def assert_done_with_jpeg_derivatives(work: Artwork) -> None:
    work.refresh_from_db()
    assert work.processing_status == ProcessingStatus.DONE, work.processing_error
    assert work.processing_error == ""
    assert ImageFile.objects.count() == 1
    assert all(key.endswith(".jpg") and storage.exists("public", key) for key in work.image.derivatives.values())


def test_when_object_storage_is_briefly_away_the_work_waits_retries_and_finishes(workers, jpeg_work, s3_endpoint):
    endpoint = urlparse(s3_endpoint)
    relay = Outage(endpoint.hostname, endpoint.port)
    workers.env["S3_ENDPOINT_URL"] = f"http://127.0.0.1:{relay.port}"
    relay.up()
    relay.down()  # storage goes away
    try:
        workers.start()
        send_processing(jpeg_work.pk)

        wait_for(
            lambda: retried(workers), timeout=120, interval=0.2, what="the worker to schedule a retry", workers=workers
        )

        def waiting_with_reason() -> bool:
            work = Artwork.objects.get(pk=jpeg_work.pk)
            return work.processing_status == ProcessingStatus.QUEUED and work.processing_error.startswith(
                "will retry: StorageUnavailable: storage unavailable"
            )

        # Curators see why it waits, and that it is not a failure. Polled: between retries the work is
        # queued with the reason, while a retry runs it is briefly "running" again.
        wait_for(
            waiting_with_reason, timeout=120, interval=0.01, what="the work to wait with the reason", workers=workers
        )
        assert Artwork.objects.get(pk=jpeg_work.pk).processing_status != ProcessingStatus.FAILED

        relay.up()  # storage is back
        wait_for(
            lambda: Artwork.objects.get(pk=jpeg_work.pk).processing_status == ProcessingStatus.DONE,
            timeout=120,
            interval=0.2,
            what="the retried task to finish",
            workers=workers,
        )
    finally:
        relay.down()
    assert_done_with_jpeg_derivatives(jpeg_work)


def test_when_the_database_is_briefly_away_the_task_is_retried_and_the_work_finishes(workers, jpeg_work):
    from django.db import connection

    db = connection.settings_dict
    relay = Outage(db["HOST"], int(db["PORT"]))
    workers.env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@127.0.0.1:{relay.port}/{db['NAME']}"
    workers.env["DATABASE_CONN_MAX_AGE"] = "0"
    try:
        workers.start()  # the database is away from the start
        send_processing(jpeg_work.pk)
        wait_for(
            lambda: retried(workers), timeout=120, interval=0.2, what="the worker to schedule a retry", workers=workers
        )
        assert "OperationalError" in workers.log()
        assert Artwork.objects.get(pk=jpeg_work.pk).processing_status != ProcessingStatus.DONE

        relay.up()
        wait_for(
            lambda: Artwork.objects.get(pk=jpeg_work.pk).processing_status == ProcessingStatus.DONE,
            timeout=120,
            interval=0.2,
            what="the retried task to finish",
            workers=workers,
        )
    finally:
        relay.down()
    assert_done_with_jpeg_derivatives(jpeg_work)


def test_a_permanent_error_is_not_retried_and_the_work_shows_the_reason(workers, jpeg_work, admin_client_for_curator):
    storage.put("private", jpeg_work.image.original, b"<html>not the original any more</html>")
    workers.start()
    send_processing(jpeg_work.pk)

    wait_for(
        lambda: Artwork.objects.get(pk=jpeg_work.pk).processing_status == ProcessingStatus.FAILED,
        timeout=120,
        interval=0.2,
        what="the task to fail",
        workers=workers,
    )
    jpeg_work.refresh_from_db()
    assert jpeg_work.processing_stage == "derivatives"
    assert jpeg_work.processing_error.startswith("ImageRejected: ")
    assert not retried(workers)
    # Visible to curators in the admin's list and on the work's page.
    client = admin_client_for_curator
    listing = client.get("/admin/collection/artwork/?processing_status__exact=failed")
    assert b"failed at derivatives" in listing.content
    page = client.get(f"/admin/collection/artwork/{jpeg_work.pk}/change/")
    assert b"not a recognisable image" in page.content


def test_when_storage_stays_away_the_work_is_finally_marked_failed_with_the_reason(
    jpeg_work, settings, closed_port_url
):
    """In-process (eager) retries run back to back; after the last one the work is failed, not left queued."""
    from config.storage_settings import s3_storages

    settings.IMAGE_DERIVATIVE_FORMAT = "jpeg"
    settings.STORAGES = s3_storages(
        bucket=settings.S3_BUCKET,
        endpoint_url=closed_port_url,
        region="us-east-1",
        access_key="testing",
        secret_key="testing",
        public_url=None,
        signed_seconds=600,
        static_backend="django.contrib.staticfiles.storage.StaticFilesStorage",
    )

    result = process_artwork.apply(args=[jpeg_work.pk])

    assert result.get() == "failed"
    jpeg_work.refresh_from_db()
    assert jpeg_work.processing_status == ProcessingStatus.FAILED
    assert jpeg_work.processing_error.startswith(
        f"gave up after {process_artwork.max_retries} retries: StorageUnavailable"
    )
