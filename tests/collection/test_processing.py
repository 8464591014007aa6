"""Processing: queued after commit only, stages recorded on the work, failures kept with their reason."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction

from collection import images, processing, storage
from collection.models import Artwork, ProcessingStatus
from pipeline.tasks import process_artwork
from tests.factories import ArtworkFactory, artwork_with_image, image_bytes

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    """Records what would be sent to the task queue instead of sending it."""
    calls: list[int] = []
    monkeypatch.setattr(process_artwork, "delay", lambda pk, job_pk=None: calls.append(pk))
    return calls


def write_csv(tmp_path: Path, image_folder: Path) -> Path:
    path = tmp_path / "works.csv"
    path.write_text("id,title,image\nP1,With image,images/a.jpg\nP2,Without image,\n")
    return path


def test_after_an_import_the_work_is_processed_and_marked_done_when_ml_is_off(
    tmp_path, image_folder, django_capture_on_commit_callbacks, settings
):
    assert settings.ML_ENABLED is False
    csv_file = write_csv(tmp_path, image_folder)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_collection", str(csv_file), "--no-progress", stdout=io.StringIO())

    work = Artwork.objects.get(accession_number="P1")
    assert work.processing_status == ProcessingStatus.DONE
    assert work.processing_stage == "done"
    assert work.processing_error == ""
    assert work.processing_updated is not None
    without = Artwork.objects.get(accession_number="P2")
    assert without.processing_status == ProcessingStatus.NONE


def test_an_import_queues_processing_only_once_its_transaction_commits(
    tmp_path, image_folder, sent, django_capture_on_commit_callbacks
):
    csv_file = write_csv(tmp_path, image_folder)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_collection", str(csv_file), "--no-progress", stdout=io.StringIO())
        assert sent == []  # still inside the transaction: nothing sent yet

    assert sent == [Artwork.objects.get(accession_number="P1").pk]
    assert Artwork.objects.get(accession_number="P1").processing_status == ProcessingStatus.QUEUED


def test_nothing_is_queued_when_the_transaction_is_rolled_back(
    tmp_path, image_folder, sent, django_capture_on_commit_callbacks
):
    csv_file = write_csv(tmp_path, image_folder)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Rollback):
            with transaction.atomic():
                call_command("import_collection", str(csv_file), "--no-progress", stdout=io.StringIO())
                assert Artwork.objects.count() == 2
                raise Rollback

    assert callbacks == []
    assert sent == []
    assert not Artwork.objects.exists()


def test_enqueue_sends_the_work_after_commit_and_marks_it_queued(sent, django_capture_on_commit_callbacks):
    work = artwork_with_image(image_bytes("JPEG"))

    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            processing.enqueue(work)
            assert sent == []

    assert sent == [work.pk]
    work.refresh_from_db()
    assert (work.processing_status, work.processing_stage) == (ProcessingStatus.QUEUED, "queued")


def test_a_work_without_an_image_is_not_queued(sent, django_capture_on_commit_callbacks):
    work = ArtworkFactory()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        processing.enqueue(work)

    assert callbacks == []
    assert sent == []
    assert Artwork.objects.get(pk=work.pk).processing_status == ProcessingStatus.NONE


def test_when_the_task_queue_is_unreachable_the_work_is_marked_failed_with_the_reason(
    monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(pk: int) -> None:
        raise ConnectionError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(process_artwork, "delay", broker_down)
    work = artwork_with_image(image_bytes("JPEG"))

    with django_capture_on_commit_callbacks(execute=True):
        processing.enqueue(work)

    work.refresh_from_db()
    assert work.processing_status == ProcessingStatus.FAILED
    assert work.processing_stage == "queued"
    assert "could not reach the task queue" in work.processing_error
    assert "Connection refused" in work.processing_error


def test_a_failure_in_the_derivatives_stage_marks_the_work_failed_with_the_reason(settings):
    work = artwork_with_image(image_bytes("JPEG"))
    # The derivatives must be rebuilt (the format changed), but the stored original has been damaged.
    settings.IMAGE_DERIVATIVE_FORMAT = "jpeg"
    storage.put("private", work.image.original, b"<html>this is not the original any more</html>")

    result = process_artwork.delay(work.pk).get()

    assert result == "failed"
    work.refresh_from_db()
    assert work.processing_status == ProcessingStatus.FAILED
    assert work.processing_stage == "derivatives"
    assert work.processing_error.startswith("ImageRejected: ")
    assert "not a recognisable image" in work.processing_error


def test_processing_rebuilds_missing_derivatives_and_finishes(settings):
    work = artwork_with_image(image_bytes("JPEG"))
    settings.IMAGE_DERIVATIVE_FORMAT = "jpeg"

    assert process_artwork.delay(work.pk).get() == "ok"

    work.refresh_from_db()
    assert work.processing_status == ProcessingStatus.DONE
    assert work.image.derivatives_complete()
    assert all(key.endswith(".jpg") for key in work.image.derivatives.values())
    assert storage.exists("public", work.image.derivatives["large"])


def test_processing_a_deleted_work_or_one_without_an_image_is_skipped():
    assert process_artwork.delay(987654).get() == "skipped"
    assert process_artwork.delay(ArtworkFactory().pk).get() == "skipped"


def test_a_curator_can_re_run_processing_from_the_admin(
    admin_client_for_curator, sent, django_capture_on_commit_callbacks
):
    done = artwork_with_image(image_bytes("JPEG", colour=(1, 2, 3)))
    done.set_processing(ProcessingStatus.DONE, stage="done")
    failed = artwork_with_image(image_bytes("JPEG", colour=(4, 5, 6)))
    failed.set_processing(ProcessingStatus.FAILED, stage="derivatives", error="boom")
    no_image = ArtworkFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_for_curator.post(
            "/admin/collection/artwork/",
            {"action": "rerun_processing", "_selected_action": [done.pk, failed.pk, no_image.pk]},
            follow=True,
        )

    assert response.status_code == 200
    assert "Processing queued for 2 works." in response.content.decode()
    assert sorted(sent) == sorted([done.pk, failed.pk])
    statuses = dict(Artwork.objects.values_list("pk", "processing_status"))
    assert statuses[done.pk] == statuses[failed.pk] == ProcessingStatus.QUEUED
    assert statuses[no_image.pk] == ProcessingStatus.NONE
    assert Artwork.objects.get(pk=failed.pk).processing_error == ""


def test_the_process_collection_command_queues_unfinished_or_failed_works(sent, django_capture_on_commit_callbacks):
    done = artwork_with_image(image_bytes("JPEG", colour=(1, 2, 3)))
    done.set_processing(ProcessingStatus.DONE, stage="done")
    failed = artwork_with_image(image_bytes("JPEG", colour=(4, 5, 6)))
    failed.set_processing(ProcessingStatus.FAILED, stage="derivatives", error="boom")
    ArtworkFactory()  # no image: never queued

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("process_collection", "--failed", stdout=out, stderr=io.StringIO())
    assert sent == [failed.pk]
    assert "Queued 1 works." in out.getvalue()

    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("process_collection", "--all", stdout=out, stderr=io.StringIO())
    assert sorted(sent) == sorted([done.pk, failed.pk])


def test_ingesting_an_image_does_not_queue_anything_by_itself(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        images.ingest(image_bytes("JPEG"), name="a.jpg")

    assert callbacks == []
    assert sent == []
