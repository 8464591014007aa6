"""A worker killed in the middle of a task: the message is redelivered and the work finishes once in effect.

These tests run real ``celery worker`` processes on Redis against the test database and the local S3
endpoint. The task is the real ``pipeline.tasks.process_artwork``; its derivatives stage is made to
run for a few seconds by giving it a large picture whose derivatives must be rebuilt (the worker is
configured for JPEG derivatives, the picture was ingested with WebP ones).
"""

from __future__ import annotations

import io
import os
import signal
import time

import numpy as np
import pytest
from celery import Celery
from PIL import Image

from collection import storage
from collection.models import Artwork, ImageFile, ProcessingStatus
from tests.factories import artwork_with_image
from tests.reliability.conftest import BROKER_OPTIONS, BROKER_URL, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

VISIBILITY_TIMEOUT = 2


def large_picture() -> bytes:
    """About 48 megapixels of smooth noise: a few seconds of decoding and resizing, a few MB of JPEG."""
    small = np.random.default_rng(7).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(small).resize((8000, 6000), Image.Resampling.BILINEAR).save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def work_needing_derivatives(workers) -> Artwork:
    work = artwork_with_image(large_picture(), accession_number="KILL.1")
    assert all(key.endswith(".webp") for key in work.image.derivatives.values())
    workers.env.update(IMAGE_DERIVATIVE_FORMAT="jpeg", CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT))
    return work


def send_processing(pk: int) -> None:
    """Sends the task the way the web process does, through the broker (the tests' app is eager)."""
    producer = Celery("reliability-producer", broker=BROKER_URL, set_as_current=False)
    producer.conf.broker_transport_options = BROKER_OPTIONS  # the run's key prefix, where the workers listen
    with producer.connection_for_write() as conn:
        producer.send_task("pipeline.tasks.process_artwork", args=[pk], queue="default", connection=conn)


def running_derivatives(pk: int) -> bool:
    work = Artwork.objects.get(pk=pk)
    return work.processing_status == ProcessingStatus.RUNNING and work.processing_stage == "derivatives"


def done(pk: int) -> bool:
    return Artwork.objects.get(pk=pk).processing_status in (ProcessingStatus.DONE, ProcessingStatus.FAILED)


def assert_finished_once(work: Artwork, broker) -> None:
    work.refresh_from_db()
    assert work.processing_status == ProcessingStatus.DONE, work.processing_error
    assert work.processing_error == ""
    assert ImageFile.objects.count() == 1
    record = ImageFile.objects.get()
    assert record.pk == work.image_id
    # Every size rebuilt in the worker's format, each stored once under its content-addressed key.
    assert record.derivatives == {
        name: f"derivatives/{record.sha256[:2]}/{record.sha256}/{name}.jpg" for name in ("thumb", "medium", "large")
    }
    for key in record.derivatives.values():
        assert storage.exists("public", key)
    # Nothing left on the broker: not queued again, not held as unacknowledged.
    assert broker.llen("default") == 0
    assert broker.hlen("unacked") == 0


def test_a_killed_pool_process_has_its_task_redelivered_and_the_work_finishes_once(
    workers, work_needing_derivatives, broker
):
    work = work_needing_derivatives
    worker = workers.start()
    send_processing(work.pk)

    wait_for(
        lambda: running_derivatives(work.pk),
        timeout=90,
        what="the worker to start the derivatives stage",
        workers=workers,
    )
    children = workers.pool_children(worker)
    assert len(children) == 1
    os.kill(children[0], signal.SIGKILL)  # the out-of-memory killer takes the process doing the work
    ImageFile.objects.get(pk=work.image_id)  # still there, untouched by the half-done run

    wait_for(lambda: done(work.pk), timeout=120, interval=0.2, what="the redelivered task to finish", workers=workers)
    assert worker.poll() is None, "the worker itself survives the loss of a pool process"
    log = workers.log()
    assert "WorkerLostError" in log, log
    assert log.count("Task pipeline.tasks.process_artwork") >= 2, log  # received, then received again
    assert_finished_once(work, broker)


def test_a_worker_killed_outright_leaves_its_task_to_a_fresh_worker_which_finishes_it_once(
    workers, work_needing_derivatives, broker
):
    work = work_needing_derivatives
    first = workers.start()
    send_processing(work.pk)

    wait_for(
        lambda: running_derivatives(work.pk),
        timeout=90,
        what="the worker to start the derivatives stage",
        workers=workers,
    )
    killed_at = time.monotonic()
    workers.kill_all(first)  # the main process and its pool, as when a machine is lost
    assert broker.hlen("unacked") == 1, "the message is held, unacknowledged, not lost"
    work.refresh_from_db()
    assert work.processing_status == ProcessingStatus.RUNNING

    # Redis hands the message out again once the visibility timeout has passed.
    time.sleep(max(0.0, VISIBILITY_TIMEOUT + 0.5 - (time.monotonic() - killed_at)))
    workers.start()
    wait_for(
        lambda: done(work.pk), timeout=120, interval=0.2, what="the fresh worker to finish the task", workers=workers
    )
    task_id = workers.log(0).split("Task pipeline.tasks.process_artwork[")[1].split("]")[0]
    assert f"Task pipeline.tasks.process_artwork[{task_id}] received" in workers.log(1), workers.all_logs()
    assert_finished_once(work, broker)
