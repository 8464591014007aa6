"""Object detection inside the platform: the worker stage, idempotence, trust, the admin and the bulk command."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
import torch
from django.core.management import CommandError, call_command
from PIL import Image

from analysis import detection, objects
from analysis.detection import Detection as Found
from analysis.detection import (
    Detector,
    DetectorUnavailable,
    choice,
    detectron2_available,
)
from analysis.models import AnalysisRun, Detection
from analysis.tasks import detect_objects
from collection import images
from pipeline.tasks import analyse_artwork
from tests.factories import ArtworkFactory, artwork_with_image, image_bytes

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
CHANGELIST = "/admin/collection/artwork/"
INDEX = "/admin/"


class ListedDetector:
    """A detector that "sees" what it is told to: trusted output without COCO weights on this machine.

    It implements the Detector protocol and records what it was asked, so the tests
    can check which images reached it and with which threshold.
    """

    name = "listed"
    labels = ("person", "horse", "dog", "boat")

    def __init__(self, found: Sequence[Found], *, version: str = "listed-v1", trusted: bool = True) -> None:
        self.found = list(found)
        self.version = version
        self.trusted = trusted
        self.calls: list[tuple[tuple[int, int], float]] = []

    def detect(self, images: Sequence[Image.Image], score_threshold: float = 0.5) -> list[list[Found]]:
        self.calls += [(im.size, score_threshold) for im in images]
        return [[f for f in self.found if f.score >= score_threshold] for _ in images]


HORSE = Found("horse", 0.91, (0.1, 0.2, 0.5, 0.9))
RIDER = Found("person", 0.77, (0.2, 0.05, 0.45, 0.6))
FAINT_DOG = Found("dog", 0.3, (0.6, 0.6, 0.7, 0.7))


@pytest.fixture(autouse=True)
def fresh_detectors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No detector cached between tests, an empty torch hub, and no download can happen."""
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("object detection tried to download weights")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    objects.forget_detectors()
    yield hub
    objects.forget_detectors()


@pytest.fixture
def work():
    return artwork_with_image(image_bytes(size=(96, 64)))


@pytest.fixture
def admin_client_for_curator(client, curator):
    """A curator with the permissions docs/deploy.md gives the group."""
    from django.contrib.auth.models import Permission

    curator.groups.get().permissions.set(
        Permission.objects.filter(content_type__app_label__in=["collection", "embeddings", "mlserver"])
    )
    client.force_login(curator)
    return client


def use_detector(monkeypatch: pytest.MonkeyPatch, detector: Detector) -> None:
    """The worker builds this detector, whatever the settings say (the rest of the path is real)."""
    monkeypatch.setattr(objects, "_build", lambda key: detector)


def test_a_listed_detector_satisfies_the_protocol_the_worker_needs():
    assert isinstance(ListedDetector([HORSE]), Detector)


def test_random_weight_detections_are_stored_untrusted_and_reach_no_visitor(work, settings, api_client, monkeypatch):
    # A 128 px network input keeps the untrained model fast; the settings -> load_detector path is the real one.
    monkeypatch.setattr(
        choice, "TorchvisionDetector", partial(detection.TorchvisionDetector, min_size=128, max_size=128)
    )
    settings.DETECTION_BACKEND = "torchvision"
    settings.DETECTION_RANDOM_WEIGHTS = True
    settings.DETECTION_SCORE_THRESHOLD = 0.0
    settings.ML_DEVICE = "cpu"
    torch.manual_seed(0)

    assert detect_objects(work.pk) != "unavailable"

    run = AnalysisRun.objects.get(artwork=work, kind="objects")
    stored = list(Detection.objects.filter(artwork=work))
    assert stored, "an untrained head at threshold 0 still proposes boxes"
    assert run.found == len(stored) and run.trusted is False and "random-weights" in run.version
    assert all(not d.trusted and d.detector_version == run.version for d in stored)
    assert all(0 <= d.x0 <= d.x1 <= 1 and 0 <= d.y0 <= d.y1 <= 1 for d in stored)
    label = stored[0].label
    assert api_client.get(f"/api/v1/artworks/{work.accession_number}/").json()["objects"] == []
    assert api_client.get("/api/v1/artworks/", {"object": label}).json()["count"] == 0
    assert api_client.get("/api/v1/objects/").json() == []


def test_trusted_detections_are_stored_with_label_score_box_and_version(work, settings):
    settings.DETECTION_SCORE_THRESHOLD = 0.5
    detector = ListedDetector([HORSE, RIDER, FAINT_DOG])

    run = objects.detect_artwork(work, detector)

    stored = list(Detection.objects.filter(artwork=work).order_by("-score"))
    assert [(d.label, d.score, d.box, d.detector_version, d.trusted) for d in stored] == [
        ("horse", 0.91, [0.1, 0.2, 0.5, 0.9], "listed-v1", True),
        ("person", 0.77, [0.2, 0.05, 0.45, 0.6], "listed-v1", True),
    ]
    assert (run.kind, run.version, run.image_sha256, run.found, run.trusted) == (
        "objects",
        "listed-v1",
        work.image.sha256,
        2,
        True,
    )
    # The configured threshold reached the detector, with the work's derivative (not a blank image).
    [(size, threshold)] = detector.calls
    assert threshold == 0.5 and size == (96, 64)


def test_a_lower_threshold_keeps_fainter_objects(work, settings):
    settings.DETECTION_SCORE_THRESHOLD = 0.25

    objects.detect_artwork(work, ListedDetector([HORSE, FAINT_DOG]))

    assert sorted(Detection.objects.filter(artwork=work).values_list("label", flat=True)) == ["dog", "horse"]


def test_re_running_with_the_same_version_changes_nothing(work):
    detector = ListedDetector([HORSE, RIDER])
    first = objects.detect_artwork(work, detector)
    ids = sorted(Detection.objects.filter(artwork=work).values_list("pk", flat=True))

    again = objects.detect_artwork(work, detector)

    assert again.pk == first.pk and again.created == first.created
    assert sorted(Detection.objects.filter(artwork=work).values_list("pk", flat=True)) == ids
    assert len(detector.calls) == 1, "the image was not looked at again"


def test_a_new_detector_version_replaces_the_works_detections_in_one_go(work):
    objects.detect_artwork(work, ListedDetector([HORSE, RIDER], version="listed-v1"))

    objects.detect_artwork(work, ListedDetector([replace(FAINT_DOG, score=0.8)], version="listed-v2"))

    assert list(Detection.objects.filter(artwork=work).values_list("label", "detector_version")) == [
        ("dog", "listed-v2")
    ]
    assert list(AnalysisRun.objects.filter(artwork=work, kind="objects").values_list("version", flat=True)) == [
        "listed-v2"
    ]


def test_a_new_image_is_analysed_again_with_the_same_detector(work):
    detector = ListedDetector([HORSE])
    objects.detect_artwork(work, detector)
    work.image = images.ingest(image_bytes(size=(80, 80), colour=(10, 120, 30)), name="new.jpg")
    work.save()

    run = objects.detect_artwork(work, detector)

    assert len(detector.calls) == 2
    assert run.image_sha256 == work.image.sha256
    assert AnalysisRun.objects.filter(artwork=work, kind="objects").count() == 1


def test_forcing_re_detects_a_current_work(work, settings):
    detector = ListedDetector([HORSE, FAINT_DOG])
    objects.detect_artwork(work, detector)
    settings.DETECTION_SCORE_THRESHOLD = 0.2

    objects.detect_artwork(work, detector, force=True)

    assert Detection.objects.filter(artwork=work).count() == 2 and len(detector.calls) == 2


def test_the_pipeline_detects_objects_after_the_features(work, settings, monkeypatch):
    settings.ML_ENABLED = True  # the gpu worker's setting: its stages apply (pipeline.stages)
    settings.FACES_ENABLED = False
    use_detector(monkeypatch, ListedDetector([HORSE]))

    assert analyse_artwork(work.pk) == "ok"

    work.refresh_from_db()
    assert work.processing_status == "done", work.processing_error
    assert work.embeddings.exists()
    assert list(work.detections.values_list("label", flat=True)) == ["horse"]


def test_without_weights_the_stage_is_skipped_with_one_warning_naming_what_to_download(
    settings, caplog, fresh_detectors
):
    settings.ML_ENABLED = True
    settings.FACES_ENABLED = False
    settings.DETECTION_BACKEND = "torchvision"
    works = [artwork_with_image(image_bytes(size=(64, 48), colour=(20 * i, 40, 90))) for i in range(2)]

    with caplog.at_level(logging.WARNING):
        for w in works:
            assert analyse_artwork(w.pk) == "ok"

    for w in works:
        w.refresh_from_db()
        assert (w.processing_status, w.processing_error) == ("done", "")
    assert not Detection.objects.exists() and not AnalysisRun.objects.filter(kind="objects").exists()
    warnings = [r.getMessage() for r in caplog.records if r.name == "analysis.objects"]
    assert len(warnings) == 1
    expected = fresh_detectors / "checkpoints" / "fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth"
    assert "object detection is off" in warnings[0] and str(expected) in warnings[0]
    assert "https://download.pytorch.org/models/fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth" in warnings[0]


def test_detection_switched_off_in_the_settings_skips_the_stage(work, settings):
    settings.DETECTION_BACKEND = "off"

    assert objects.objects_stage(work) is None
    assert detect_objects(work.pk) == "unavailable"
    assert not Detection.objects.exists()
    with pytest.raises(DetectorUnavailable, match="DETECTION_BACKEND is off"):
        objects.current_detector()


def test_the_admin_index_says_once_that_detection_has_no_weights_and_names_the_settings(
    admin_client_for_curator, settings, fresh_detectors
):
    settings.DETECTION_BACKEND = "torchvision"
    with pytest.raises(DetectorUnavailable):
        objects.current_detector()  # what the worker does on its first work: it reports no weights

    index = admin_client_for_curator.get(INDEX).content.decode()
    artwork_list = admin_client_for_curator.get(CHANGELIST).content.decode()

    assert index.count("Object detection is off") == 1
    assert "DETECTION_WEIGHTS" in index and "DETECTION_ALLOW_DOWNLOAD=true" in index
    assert str(fresh_detectors) not in index and ".pth" not in index  # no file paths for curators
    assert "Object detection" not in artwork_list


def test_the_admin_index_names_the_setting_when_detection_is_switched_off(admin_client_for_curator, settings):
    settings.DETECTION_BACKEND = "off"

    index = admin_client_for_curator.get(INDEX).content.decode()

    assert "Object detection is switched off" in index and "DETECTION_BACKEND" in index


def test_the_admin_is_quiet_when_the_worker_has_real_weights(admin_client_for_curator, monkeypatch):
    use_detector(monkeypatch, ListedDetector([HORSE]))
    objects.current_detector()

    index = admin_client_for_curator.get(INDEX).content.decode()

    assert "Object detection" not in index and 'id="optional-parts"' not in index


def test_the_admin_lists_a_works_detections_and_marks_untrusted_ones(admin_client_for_curator, work):
    objects.detect_artwork(work, ListedDetector([HORSE], version="listed-v1"))
    other = artwork_with_image(image_bytes(size=(64, 64)))
    objects.detect_artwork(other, ListedDetector([RIDER], version="random-v0", trusted=False))

    trusted_page = admin_client_for_curator.get(f"{CHANGELIST}{work.pk}/change/").content.decode()
    untrusted_page = admin_client_for_curator.get(f"{CHANGELIST}{other.pk}/change/").content.decode()

    assert "horse" in trusted_page and "0.910" in trusted_page and "listed-v1" in trusted_page
    assert "never: untrusted" not in trusted_page
    assert "person" in untrusted_page and "never: untrusted (random weights)" in untrusted_page


def test_the_admin_status_is_computed_without_importing_torch(tmp_path):
    script = (
        "import sys\n"
        "sys.modules['torch'] = sys.modules['torchvision'] = None  # as in the web process\n"
        "import django; django.setup()\n"
        "from analysis.admin import object_detection_status\n"
        "print(object_detection_status())\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(REPO),
        "TORCH_HOME": str(tmp_path / "torch-home"),
        "DETECTION_BACKEND": "torchvision",
        # A run id of its own: the cache keys it reads are empty, so no worker report, the web server's own view.
        "MUSEUM_TEST_RUN": uuid.uuid4().hex[:8],
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert "(False, 'no COCO weights for torchvision" in done.stdout
    assert str(tmp_path / "torch-home" / "hub" / "checkpoints") in done.stdout


def test_the_bulk_command_detects_only_missing_works_unless_asked_for_all(monkeypatch, settings):
    detector = ListedDetector([HORSE])
    use_detector(monkeypatch, detector)
    done, todo = (artwork_with_image(image_bytes(size=(40, 30), colour=(i * 50, 0, 0))) for i in (1, 2))
    ArtworkFactory()  # no image: never counted
    objects.detect_artwork(done, detector)
    out = io.StringIO()

    call_command("detect_objects", "--missing", stdout=out, stderr=io.StringIO())

    assert "Detected 1 objects in 1 works with listed-v1." in out.getvalue()
    assert Detection.objects.filter(artwork=todo).count() == 1
    ids = set(Detection.objects.values_list("pk", flat=True))

    call_command("detect_objects", "--all", stdout=out, stderr=io.StringIO())

    assert "Detected 2 objects in 2 works with listed-v1." in out.getvalue()
    assert set(Detection.objects.values_list("pk", flat=True)).isdisjoint(ids)


def test_the_bulk_command_can_hand_the_works_to_the_gpu_queue(monkeypatch, django_capture_on_commit_callbacks):
    use_detector(monkeypatch, ListedDetector([HORSE]))
    works = [artwork_with_image(image_bytes(size=(40, 30), colour=(0, i * 60, 0))) for i in (1, 2)]

    with django_capture_on_commit_callbacks(execute=True):
        call_command("detect_objects", "--queue", stdout=io.StringIO(), stderr=io.StringIO())

    assert sorted(Detection.objects.values_list("artwork_id", flat=True)) == sorted(w.pk for w in works)


def test_the_bulk_command_refuses_to_run_without_a_detector_and_says_why(settings):
    settings.DETECTION_BACKEND = "torchvision"
    with pytest.raises(CommandError, match="object detection is unavailable: no COCO weights"):
        call_command("detect_objects", stdout=io.StringIO(), stderr=io.StringIO())


def test_the_detectron2_backend_stores_untrusted_detections_when_installed(work, settings):
    if not detectron2_available():
        pytest.skip("detectron2 is not installed (no PyPI wheels; build it from source to run this test)")
    settings.DETECTION_BACKEND = "detectron2"
    settings.DETECTION_RANDOM_WEIGHTS = True
    settings.DETECTION_SCORE_THRESHOLD = 0.0
    settings.ML_DEVICE = "cpu"

    run = objects.detect_artwork(work)

    assert run.version.startswith("detectron2-") and run.trusted is False
    assert run.found == Detection.objects.filter(artwork=work, trusted=False).count()
