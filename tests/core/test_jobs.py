"""Jobs curators follow in the admin: progress and ETA, log lines, outcome, links, and cancelling."""

from __future__ import annotations

import io
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from analysis.models import Embedding, FeatureModel
from collection.importers import runs
from collection.models import Artwork, ImportRun, ProcessingStatus
from core.models import Job, JobCancelled, JobLog
from maps import builds
from maps import tasks as map_tasks
from maps.models import Map, MapBuild
from tests.conftest import make_jpeg
from tests.factories import ArtworkFactory
from tests.maps.synthetic import clustered_embeddings

pytestmark = pytest.mark.django_db

FAST = {"parametric": {"pretrain_steps": [300, 300], "kl_steps": [100, 100]}}


def write_csv(tmp_path: Path, image_folder: Path, rows: int = 3) -> Path:
    lines = ["id,title,image"] + [f"J{i},Work {i},images/{'abc'[i % 3]}.jpg" for i in range(rows)]
    path = tmp_path / "works.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def image_folder(tmp_path: Path, demo_dir: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for name, source in zip("abc", sorted((demo_dir / "images").glob("*.jpg"))[:3], strict=True):
        shutil.copyfile(source, folder / f"{name}.jpg")
    return folder


@pytest.fixture
def clustered_works() -> list[Artwork]:
    from collection import images

    fm = FeatureModel.objects.create(version="test:pretrained:0001", backbone="test", kind="pretrained", dim=16)
    fm.activate()
    image = images.ingest(make_jpeg(), name="shared.jpg")
    X, _ = clustered_embeddings(n=60, dim=16, n_clusters=3, seed=3)
    X = np.asarray(X, dtype=np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    works = []
    for vector in X:
        work = ArtworkFactory(image=image)
        Embedding.objects.create(
            artwork=work, feature_model=fm, image_sha256=image.sha256, vector=Embedding.pack(vector)
        )
        works.append(work)
    return works


def test_a_jobs_progress_moves_with_an_eta_and_it_ends_with_its_outcome(admin_client):
    job = Job.objects.create(kind="test", target="steps")
    job.start(total=4, message="starting")
    Job.objects.filter(pk=job.pk).update(started=timezone.now() - timedelta(seconds=60))
    job.refresh_from_db()
    assert (job.percent, job.eta) == (0, None)  # no pace yet

    job.progress(1, message="step 1")
    answer = admin_client.get(f"/admin/core/job/{job.pk}/progress/").json()
    assert (answer["done"], answer["total"], answer["percent"], answer["message"]) == (1, 4, 25, "step 1")
    job.refresh_from_db()
    assert timedelta(seconds=170) <= job.eta <= timedelta(seconds=190)  # 60 s for 1 of 4: three more minutes
    assert answer["eta"].startswith(("2:5", "3:0"))

    job.progress(3, message="step 3")
    job.finish({"answer": 42}, message="all steps done")
    job.refresh_from_db()
    assert (job.status, job.done, job.result, job.eta) == (Job.Status.DONE, 3, {"answer": 42}, None)
    assert list(job.logs.values_list("message", flat=True)) == ["starting", "step 1", "step 3", "all steps done"]
    page = admin_client.get(f"/admin/core/job/{job.pk}/change/").content.decode()
    assert "all steps done" in page and "Cancel job" not in page


def test_a_cancelled_job_stops_at_its_next_checkpoint_and_keeps_the_cancel(admin_client):
    job = Job.objects.create(kind="test")
    job.start(total=10)
    job.check_cancelled()  # running: passes

    response = admin_client.post(f"/admin/core/job/{job.pk}/cancel/")
    assert response.status_code == 302

    with pytest.raises(JobCancelled):
        job.check_cancelled()
    job.finish({"late": True})  # the task's own ending does not overwrite the cancel
    job.refresh_from_db()
    assert (job.status, job.result) == (Job.Status.CANCELLED, {})
    assert admin_client.post(f"/admin/core/job/{job.pk}/cancel/").status_code == 302  # already ended: a warning
    assert Job.objects.get(pk=job.pk).logs.filter(message="cancelled").count() == 1


def test_cancel_needs_a_post_and_the_change_permission(client, curator, admin_client):
    job = Job.objects.create(kind="test", status=Job.Status.RUNNING)
    assert admin_client.get(f"/admin/core/job/{job.pk}/cancel/").status_code == 403
    client.force_login(curator)  # staff without permissions on jobs
    assert client.post(f"/admin/core/job/{job.pk}/cancel/").status_code in (302, 403)
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING


def test_an_import_is_a_job_with_log_lines_its_run_and_its_processing(
    tmp_path, image_folder, django_capture_on_commit_callbacks, admin_client
):
    csv_file = tmp_path / "works.csv"
    csv_file.write_text("id,title,image\nP1,With image,images/a.jpg\nP2,Without image,\nP3,Missing,images/zz.jpg\n")

    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_collection", str(csv_file), "--no-progress", stdout=io.StringIO())

    job = Job.objects.get(kind="import")
    assert (job.status, job.done, job.total) == (Job.Status.DONE, 3, 3)
    assert job.outputs == [f"collection.importrun:{ImportRun.objects.get().pk}"]
    messages = list(job.logs.values_list("level", "message"))
    assert ("info", "works.csv: 3 records") in [(lvl, msg.rsplit("/", 1)[-1]) for lvl, msg in messages]
    assert any(level == "error" and "line 4 (P3)" in message for level, message in messages)
    processing = Job.objects.get(kind="process")
    assert processing.target == f"import #{job.pk}"
    assert (processing.status, processing.done, processing.total) == (Job.Status.DONE, 1, 1)
    page = admin_client.get(f"/admin/core/job/{job.pk}/change/").content.decode()
    assert f"/admin/collection/importrun/{ImportRun.objects.get().pk}/change/" in page
    assert "line 4 (P3)" in page


def test_cancelling_an_import_stops_it_between_records(tmp_path, image_folder, monkeypatch):
    monkeypatch.setattr(runs._JobReport, "INTERVAL_S", 0.0)
    csv_file = write_csv(tmp_path, image_folder, rows=6)
    job = Job.objects.create(kind="import")

    def cancel_at_two(done: int, total: int) -> None:
        if done == 2:
            Job.objects.get(pk=job.pk).cancel()

    result = runs.import_collection([str(csv_file)], progress_factory=lambda source: cancel_at_two, job=job)

    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert result.total == 2 and Artwork.objects.count() == 2
    assert ImportRun.objects.get().created == 2  # the run records what was imported before the stop
    assert job.logs.filter(message="stopped after 2 records").exists()


def test_a_failed_work_of_a_burst_is_linked_with_its_reason_and_a_cancelled_burst_leaves_the_rest_failed(
    admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    from collection import images, processing
    from pipeline import stages

    record = images.ingest(make_jpeg(), name="w.jpg")
    works = [ArtworkFactory(image=record) for _ in range(3)]

    def boom(self, artwork):
        if artwork.pk == works[0].pk:
            raise RuntimeError("the picture is upside down")
        if artwork.pk == works[1].pk:
            Job.objects.get(kind="process").cancel()

    monkeypatch.setattr(stages.Derivatives, "run", boom)
    job = Job.objects.create(kind="process", target="test")
    with django_capture_on_commit_callbacks(execute=True), processing.burst(job):
        processing.enqueue_many(works)  # eager: each runs once queued, one after the other

    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    failed = job.failed_items().get()
    assert failed.ref == f"collection.artwork:{works[0].pk}" and "upside down" in failed.message
    last = Artwork.objects.get(pk=works[2].pk)
    assert last.processing_status == ProcessingStatus.FAILED and "cancelled" in last.processing_error
    page = admin_client.get(f"/admin/core/job/{job.pk}/change/").content.decode()
    assert f"/admin/collection/artwork/{works[0].pk}/change/" in page


@pytest.mark.slow
def test_cancelling_a_map_build_leaves_no_build_and_the_live_one_live(clustered_works):
    map_obj = Map.objects.create(slug="all", title="All", params=FAST)
    job = Job.objects.create(kind="build_map", target="all")

    def cancel_on_step_two(done: int, total: int, message: str) -> None:
        if done == 2:
            Job.objects.get(pk=job.pk).cancel()

    job.start(total=6)
    with pytest.raises(JobCancelled):
        builds.build_map(map_obj, job=job, progress=cancel_on_step_two)

    assert MapBuild.objects.count() == 0
    map_obj.refresh_from_db()
    assert map_obj.live_build is None
    assert Job.objects.get(pk=job.pk).status == Job.Status.CANCELLED


@pytest.mark.slow
def test_the_jobs_list_after_an_import_and_a_map_build_shows_both_with_the_build_linked(
    tmp_path, image_folder, django_capture_on_commit_callbacks, admin_client, clustered_works
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_collection", str(write_csv(tmp_path, image_folder)), "--no-progress", stdout=io.StringIO())
    map_obj = Map.objects.create(slug="all", title="All", params=FAST)
    with django_capture_on_commit_callbacks(execute=True):
        job = map_tasks.enqueue_build(map_obj.pk)

    job.refresh_from_db()
    build = MapBuild.objects.get()
    assert (job.status, job.done, job.outputs) == (Job.Status.DONE, 6, [f"embeddings.mapbuild:{build.pk}"])
    listing = admin_client.get("/admin/core/job/").content.decode()
    assert "build_map" in listing and "import" in listing and "<progress" in listing
    assert set(Job.objects.values_list("kind", flat=True)) == {"import", "process", "build_map"}
    assert JobLog.objects.filter(job=job, message__contains="live").exists()
