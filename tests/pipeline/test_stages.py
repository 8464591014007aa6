"""The stages of a work, in one list: their order, their queues, and the hand-over between the queues' tasks."""

from __future__ import annotations

import pytest

from collection.models import ProcessingStatus
from pipeline import stages
from pipeline.tasks import analyse_artwork, process_artwork
from tests.factories import artwork_with_image, image_bytes

pytestmark = pytest.mark.django_db


def test_a_work_passes_derivatives_features_objects_faces_and_placement_in_that_order_with_ml_work_on_the_gpu_queue():
    assert [(s.name, s.queue) for s in stages.STAGES] == [
        ("derivatives", "default"),
        ("features", "gpu"),
        ("objects", "gpu"),
        ("faces", "gpu"),
        ("map", "gpu"),
    ]


def test_with_ml_on_the_derivatives_hand_the_work_to_the_gpu_task_and_only_the_last_stage_marks_it_done(
    settings, monkeypatch
):
    settings.ML_ENABLED = True
    sent: list[int] = []
    monkeypatch.setattr(analyse_artwork, "delay", lambda pk: sent.append(pk))
    work = artwork_with_image(image_bytes("JPEG"))

    assert process_artwork.apply(args=[work.pk]).get() == "ok"

    work.refresh_from_db()
    assert sent == [work.pk]
    assert (work.processing_status, work.processing_stage) == (ProcessingStatus.RUNNING, "derivatives")


def test_with_ml_off_the_derivatives_finish_the_work_and_nothing_goes_to_the_gpu_queue(settings, monkeypatch):
    settings.ML_ENABLED = False
    sent: list[int] = []
    monkeypatch.setattr(analyse_artwork, "delay", lambda pk: sent.append(pk))
    work = artwork_with_image(image_bytes("JPEG"))

    assert process_artwork.apply(args=[work.pk]).get() == "ok"

    work.refresh_from_db()
    assert sent == []
    assert work.processing_status == ProcessingStatus.DONE
    assert [s.name for s in stages.due(work)] == ["derivatives"]


def test_faces_switched_off_leave_the_faces_stage_out(settings):
    settings.ML_ENABLED = True
    settings.FACES_ENABLED = False
    work = artwork_with_image(image_bytes("JPEG"))

    assert [s.name for s in stages.due(work)] == ["derivatives", "features", "objects", "map"]


def test_an_upload_reaches_the_pipeline_through_the_work_queued_signal_once_its_transaction_commits(
    monkeypatch, django_capture_on_commit_callbacks
):
    from collection import processing

    sent: list[int] = []
    monkeypatch.setattr(process_artwork, "delay", lambda pk: sent.append(pk))
    work = artwork_with_image(image_bytes("JPEG"))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        processing.enqueue(work)
    assert sent == []
    for callback in callbacks:
        callback()
    assert sent == [work.pk]


def test_a_work_queued_under_a_task_name_from_before_the_pipeline_module_still_runs_its_stages_after_an_upgrade(
    settings,
):
    from celery import current_app

    from pipeline.tasks import LEGACY_NAMES

    settings.ML_ENABLED = False
    work = artwork_with_image(image_bytes("JPEG"))

    for name, queue in LEGACY_NAMES.items():
        assert current_app.amqp.router.route({}, name)["queue"].name == queue
    assert current_app.tasks["collection.tasks.process_artwork"].apply(args=[work.pk]).get() == "ok"

    work.refresh_from_db()
    assert work.processing_status == ProcessingStatus.DONE
