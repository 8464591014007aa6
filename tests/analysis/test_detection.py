"""Object detection: the plumbing runs with random weights, and missing weights are reported, never fetched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from PIL import Image

from analysis import detection
from analysis.detection import (
    COCO_LABELS,
    Detection,
    Detector,
    DetectorUnavailable,
    TorchvisionDetector,
    detector_status,
    load_detector,
    torchvision_weights_location,
)
from analysis.detection.engines import instances_to_detections, torchvision_arches
from analysis.detection.weights import file_sha256

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo" / "aic-paintings"


@pytest.fixture(autouse=True)
def no_network_and_empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache, and any attempt to download fails the test."""
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the detector tried to download weights")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    return hub


@pytest.fixture(scope="module")
def random_detector() -> TorchvisionDetector:
    torch.manual_seed(0)
    # A 128 px network input keeps the untrained model fast; the output plumbing is the same.
    return TorchvisionDetector(random_weights=True, min_size=128, max_size=128)


def assert_valid(detections: list[Detection], labels: tuple[str, ...]) -> None:
    for d in detections:
        assert d.label in labels
        assert 0.0 <= d.score <= 1.0
        x0, y0, x1, y1 = d.box
        assert 0.0 <= x0 <= x1 <= 1.0 and 0.0 <= y0 <= y1 <= 1.0


def test_the_torchvision_detector_runs_end_to_end_with_random_weights(random_detector: TorchvisionDetector) -> None:
    with Image.open(DEMO / "images" / "866.jpg") as painting:
        images = [Image.new("RGB", (96, 64), (120, 60, 30)), painting.convert("L")]
        results = random_detector.detect(images, score_threshold=0.0)

    assert isinstance(random_detector, Detector)
    assert len(results) == 2
    assert all(results), "an untrained head still proposes boxes at threshold 0"
    for detections in results:
        assert all(isinstance(d, Detection) for d in detections)
        assert_valid(detections, random_detector.labels)
        assert [d.score for d in detections] == sorted((d.score for d in detections), reverse=True)


def test_a_random_weights_detector_is_marked_untrusted_and_says_so_in_its_version(
    random_detector: TorchvisionDetector,
) -> None:
    assert random_detector.trusted is False
    assert "random-weights" in random_detector.version
    assert random_detector.name == "torchvision:fasterrcnn_mobilenet_v3_large_fpn"


def test_the_labels_are_the_80_coco_categories(random_detector: TorchvisionDetector) -> None:
    assert random_detector.labels == COCO_LABELS
    assert len(COCO_LABELS) == 80 and "person" in COCO_LABELS


def test_the_score_threshold_drops_low_scoring_boxes(random_detector: TorchvisionDetector) -> None:
    image = [Image.new("RGB", (80, 80), (10, 200, 30))]
    everything = random_detector.detect(image, score_threshold=0.0)[0]
    assert everything
    cut = sorted(d.score for d in everything)[len(everything) // 2]
    assert all(d.score >= cut for d in random_detector.detect(image, score_threshold=cut)[0])
    assert random_detector.detect(image, score_threshold=1.01) == [[]]


def test_without_weights_or_downloads_the_detector_is_unavailable_and_says_what_to_download_where(
    no_network_and_empty_hub: Path,
) -> None:
    url, path = torchvision_weights_location()
    assert url == "https://download.pytorch.org/models/fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth"
    assert path == no_network_and_empty_hub / "checkpoints" / "fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth"

    with pytest.raises(DetectorUnavailable) as raised:
        load_detector("auto", weights_path=None, allow_download=False, random_weights=False)
    assert url in raised.value.reason and str(path) in raised.value.reason

    available, reason = detector_status("torchvision")
    assert available is False
    assert url in reason and str(path) in reason


def test_the_spelled_out_weight_urls_are_torchvisions_own() -> None:
    for arch, (_, weights) in torchvision_arches().items():
        assert detection.TORCHVISION_WEIGHTS_URLS[arch] == weights.url


def test_a_configured_weights_file_that_is_missing_is_named_in_the_reason(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pth"
    with pytest.raises(DetectorUnavailable, match="nowhere.pth"):
        load_detector("torchvision", weights_path=str(missing))
    assert detector_status("torchvision", weights_path=str(missing)) == (
        False,
        f"configured detector weights {missing} do not exist",
    )


def test_a_local_state_dict_is_loaded_without_downloading_and_trusted(
    tmp_path: Path, random_detector: TorchvisionDetector
) -> None:
    weights = tmp_path / "coco-detector.pth"
    torch.save(random_detector._model.state_dict(), weights)

    assert detector_status("torchvision", weights_path=str(weights)) == (
        True,
        f"torchvision fasterrcnn_mobilenet_v3_large_fpn with weights {weights}",
    )
    detector = load_detector("torchvision", weights_path=str(weights))
    assert detector.trusted is True
    assert "coco-detector.pth/" in detector.version
    assert load_detector("torchvision", weights_path=str(weights)).version == detector.version


def test_weights_in_torchvisions_hub_cache_are_found_and_loaded_without_downloading(
    no_network_and_empty_hub: Path, random_detector: TorchvisionDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stand in for torchvision's real file: same naming rule (<name>-<sha256 prefix>.pth), our own bytes.
    staged = no_network_and_empty_hub / "staged.pth"
    staged.parent.mkdir(parents=True)
    torch.save(random_detector._model.state_dict(), staged)
    name = f"fasterrcnn_mobilenet_v3_large_fpn-{file_sha256(staged)[:8]}.pth"
    (no_network_and_empty_hub / "checkpoints").mkdir()
    staged.rename(no_network_and_empty_hub / "checkpoints" / name)

    monkeypatch.setitem(
        detection.TORCHVISION_WEIGHTS_URLS,
        "fasterrcnn_mobilenet_v3_large_fpn",
        f"https://download.pytorch.org/models/{name}",
    )

    assert detector_status("auto")[0] is True
    detector = load_detector("auto")
    assert detector.trusted is True
    assert name in detector.version


def test_a_file_in_the_hub_cache_with_the_wrong_hash_is_refused(no_network_and_empty_hub: Path) -> None:
    _, path = torchvision_weights_location()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"half a download")
    available, reason = detector_status("torchvision")
    assert available is False and "sha256" in reason and str(path) in reason


def test_a_state_dict_for_another_network_is_refused(tmp_path: Path) -> None:
    weights = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(1)}, weights)
    with pytest.raises(DetectorUnavailable, match="not a COCO state_dict"):
        load_detector("torchvision", weights_path=str(weights))


def test_the_admin_can_ask_for_the_status_from_a_process_without_torch(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "sys.modules['torch'] = sys.modules['torchvision'] = None  # as in the web process\n"
        "from analysis.detection import detector_status\n"
        "print(detector_status())\n"
    )
    env = {**os.environ, "TORCH_HOME": str(tmp_path / "torch-home")}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert "(False, 'no COCO weights for torchvision" in done.stdout
    assert str(tmp_path / "torch-home" / "hub" / "checkpoints" / "fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth") in (
        done.stdout
    )


def test_random_weights_are_never_reported_as_available_to_users() -> None:
    available, reason = detector_status(random_weights=True)
    assert available is False and "random weights" in reason


@pytest.mark.skipif(detection.detectron2_available(), reason="detectron2 is installed here")
def test_asking_for_detectron2_where_it_is_not_installed_says_so() -> None:
    with pytest.raises(DetectorUnavailable, match="detectron2 is not installed"):
        load_detector("detectron2")
    assert detector_status("detectron2") == (False, "detectron2 is not installed (it must be built from source)")


def test_detectron2_instances_become_normalised_detections_best_first() -> None:
    instances = SimpleNamespace(
        image_size=(200, 400),  # (height, width), as Detectron2 stores it
        pred_boxes=SimpleNamespace(tensor=torch.tensor([[40.0, 20.0, 200.0, 180.0], [0.0, 0.0, 400.0, 210.0]])),
        scores=torch.tensor([0.4, 0.9]),
        pred_classes=torch.tensor([0, 16]),
    )
    detections = instances_to_detections(instances, COCO_LABELS, score_threshold=0.3)
    assert detections == [
        Detection(label="dog", score=pytest.approx(0.9), box=(0.0, 0.0, 1.0, 1.0)),
        Detection(label="person", score=pytest.approx(0.4), box=(0.1, 0.1, 0.5, 0.9)),
    ]
    assert instances_to_detections(instances, COCO_LABELS, score_threshold=0.5)[0].label == "dog"


def test_the_detectron2_backend_runs_end_to_end_with_random_weights() -> None:
    pytest.importorskip(
        "detectron2", reason="detectron2 is not installed (no PyPI wheels; build it from source to run this test)"
    )
    detector = load_detector("detectron2", random_weights=True)
    assert detector.trusted is False
    assert detector.labels == COCO_LABELS
    with Image.open(DEMO / "images" / "866.jpg") as painting:
        results = detector.detect([painting.convert("RGB")], score_threshold=0.0)
    assert len(results) == 1
    assert_valid(results[0], detector.labels)
