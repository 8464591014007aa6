"""Fine-tuning must make the embedding better at the curators' labels than the pretrained features."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from analysis.backbone import BackboneSpec
from analysis.extract import Extractor
from analysis.training import (
    FORMAT_VERSION,
    IncompatibleCheckpoint,
    Sample,
    TrainConfig,
    checkpoint_from_bytes,
    checkpoint_to_bytes,
    fine_tune,
    load_checkpoint,
    load_image_folder,
    load_labelled_csv,
    load_labelled_set,
    min_labels_ok,
)
from tests.analysis.heldout import heldout_knn
from tests.analysis.procedural import STYLES, generate_procedural_set

IMG = 112
# Small but real: 300 images, 5 epochs at 112 px, first two stages frozen.
CONFIG = TrainConfig(
    epochs=5, batch_size=32, img_size=IMG, freeze_stages=2, backbone_lr=6e-4, seed=0, patience=2, val_fraction=0.2
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory):
    return generate_procedural_set(tmp_path_factory.mktemp("procedural"), per_class=60, size=160, seed=0)


@pytest.fixture(scope="module")
def samples(dataset) -> list[Sample]:
    return load_image_folder(dataset.root)


@pytest.fixture(scope="module")
def trained(samples):
    calls: list[tuple[int, int, str]] = []
    epochs: list[dict] = []
    checkpoint = fine_tune(
        samples, config=CONFIG, progress=lambda d, t, m: calls.append((d, t, m)), on_epoch=epochs.append
    )
    return checkpoint, calls, epochs


def _knn(extractor: Extractor, samples: list[Sample]) -> float:
    return heldout_knn(extractor, samples, CONFIG.val_fraction, CONFIG.seed)


@pytest.mark.slow
def test_fine_tuning_improves_heldout_knn_accuracy(samples, trained) -> None:
    checkpoint, _, _ = trained
    pretrained = _knn(Extractor.from_backbone(BackboneSpec(img_size=IMG)), samples)
    finetuned_extractor = Extractor.from_checkpoint(checkpoint)
    assert finetuned_extractor.dim == 256
    finetuned = _knn(finetuned_extractor, samples)
    print(f"held-out kNN(k=10) accuracy: pretrained {pretrained:.3f}, fine-tuned {finetuned:.3f}")
    assert finetuned >= pretrained + 0.04, (pretrained, finetuned)
    assert checkpoint["metrics"]["style"]["metric"] == "top1_accuracy"
    assert checkpoint["metrics"]["style"]["value"] > 1 / len(STYLES) + 0.3


def test_checkpoint_contents_and_progress(trained) -> None:
    checkpoint, calls, _ = trained
    assert checkpoint["format_version"] == FORMAT_VERSION
    assert checkpoint["backbone"] == "tf_efficientnet_lite0"
    assert checkpoint["embedding_dim"] == 256
    assert checkpoint["fields"] == {"style": {"kind": "single", "classes": sorted(STYLES)}}
    assert checkpoint["params"]["epochs"] == CONFIG.epochs and checkpoint["params"]["n_val"] == 60
    assert checkpoint["data_config"]["input_size"] == (3, IMG, IMG)
    done = [d for d, _, _ in calls]
    assert done == sorted(done) and calls[-1][0] == calls[-1][1]
    assert all(isinstance(m, str) for _, _, m in calls)


def test_checkpoint_round_trips_through_bytes(trained, samples) -> None:
    checkpoint, _, _ = trained
    blob = checkpoint_to_bytes(checkpoint)
    torch.load(io.BytesIO(blob), weights_only=True)  # safe loading must be possible
    from_bytes = Extractor.from_checkpoint(blob)
    from_dict = Extractor.from_checkpoint(checkpoint)
    assert from_bytes.feature_version == from_dict.feature_version
    assert from_bytes.feature_version.startswith("tf_efficientnet_lite0:finetuned:")
    image = samples[0].image
    np.testing.assert_allclose(
        from_bytes.embed_bytes([Path(image).read_bytes()]), from_dict.embed_bytes([Path(image).read_bytes()])
    )
    loaded = load_checkpoint(blob, expected_backbone="tf_efficientnet_lite0")
    assert [f.name for f in loaded.fields] == ["style"]


def test_incompatible_checkpoints_are_refused(trained) -> None:
    checkpoint, _, _ = trained
    with pytest.raises(IncompatibleCheckpoint, match="format_version"):
        load_checkpoint({**checkpoint, "format_version": FORMAT_VERSION + 1})
    with pytest.raises(IncompatibleCheckpoint, match="format_version 0 .*train the features again"):
        load_checkpoint({**checkpoint, "format_version": 0})
    with pytest.raises(IncompatibleCheckpoint, match="pooling 'max'"):
        load_checkpoint({**checkpoint, "pooling": "max"})
    with pytest.raises(IncompatibleCheckpoint, match="expected"):
        load_checkpoint(checkpoint, expected_backbone="resnet50")
    with pytest.raises(IncompatibleCheckpoint, match="do not fit"):
        load_checkpoint({**checkpoint, "backbone": "mobilenetv3_small_100"})
    with pytest.raises(IncompatibleCheckpoint, match="not a timm model"):
        load_checkpoint({**checkpoint, "backbone": "no_such_net"})
    with pytest.raises(IncompatibleCheckpoint):
        checkpoint_from_bytes(b"garbage")


def test_too_few_labels_gives_a_reason(samples) -> None:
    few = [s for s in samples if s.key.endswith(("_0000.jpg", "_0001.jpg", "_0002.jpg"))]
    check = min_labels_ok(few, min_per_class=5)
    assert not check and "too few labels" in check.reason and "style" in check.reason
    with pytest.raises(ValueError, match="too few labels"):
        fine_tune(few, config=CONFIG)

    one_class = [s for s in samples if s.labels["style"] == "dots"]
    check = min_labels_ok(one_class, min_per_class=5, min_classes=2)
    assert not check and "need 2" in check.reason

    assert not min_labels_ok([], min_per_class=1)

    # Thresholds are parameters; rare classes are dropped, not fatal.
    mixed = one_class + [s for s in samples if s.labels["style"] == "waves"][:3]
    check = min_labels_ok(mixed, min_per_class=3, min_classes=2)
    assert check and check.fields["style"].classes == ("dots", "waves")
    check = min_labels_ok(mixed, min_per_class=4, min_classes=1)
    assert check and check.fields["style"].classes == ("dots",) and "waves" in check.reason


def test_csv_loader_and_multi_label_head(dataset) -> None:
    samples = load_labelled_csv(dataset.labels_csv)
    assert samples == load_labelled_set(dataset.labels_csv)
    assert all(isinstance(s.labels["motifs"], list) and isinstance(s.labels["style"], str) for s in samples)
    assert any(len(s.labels["motifs"]) > 1 for s in samples)

    # A quick run (tiny input, mostly frozen) exercises the multi-label path end to end.
    config = TrainConfig(epochs=1, img_size=64, freeze_stages=5, batch_size=32, seed=1)
    checkpoint = fine_tune(samples[::3], config=config)
    assert checkpoint["fields"]["motifs"] == {"kind": "multi", "classes": ["circle", "square", "triangle"]}
    metrics = checkpoint["metrics"]["motifs"]
    assert metrics["metric"] == "micro_f1" and 0.0 <= metrics["value"] <= 1.0 and "map" in metrics
    assert Extractor.from_checkpoint(checkpoint_to_bytes(checkpoint)).dim == 256


def test_csv_separators_and_blank_cells(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"")
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text("image,style,motifs\na.jpg,baroque,angel;dog\nb.jpg,,\nc.jpg,rococo,cherub|angel\n")
    samples = load_labelled_csv(csv_path)
    assert samples[0].labels == {"style": "baroque", "motifs": ["angel", "dog"]}
    assert samples[1].labels == {"style": None, "motifs": []}
    assert samples[2].labels["motifs"] == ["cherub", "angel"]
    assert samples[0].image == tmp_path / "a.jpg"


def test_other_timm_backbones_train_and_extract(samples) -> None:
    """The backbone is configurable: MobileNetV3's pre-logits width (1024) differs from num_features (576)."""
    spec = BackboneSpec(name="mobilenetv3_small_100", weights="none")
    config = TrainConfig(epochs=1, img_size=64, batch_size=32, embedding_dim=32, val_fraction=0.25, seed=2)
    checkpoint = fine_tune(samples[::4], spec, config)
    assert checkpoint["backbone"] == "mobilenetv3_small_100" and checkpoint["backbone_dim"] == 1024
    extractor = Extractor.from_checkpoint(checkpoint)
    assert extractor.dim == 32 and extractor.embed_bytes([Path(samples[0].image).read_bytes()]).shape == (1, 32)
    assert Extractor.from_backbone(BackboneSpec(name="mobilenetv3_small_100", weights="none", img_size=64)).dim == 1024


def _as_format_1(checkpoint: dict) -> dict:
    """The checkpoint a model trained before pooling choices left: no pooling entry, no Standardize layer."""
    shifted = {}
    for key, tensor in checkpoint["state_dict"].items():
        if key.startswith("embedding.0."):
            continue
        if key.startswith("embedding."):
            index, rest = key[len("embedding.") :].split(".", 1)
            key = f"embedding.{int(index) - 1}.{rest}"
        shifted[key] = tensor
    old = {k: v for k, v in checkpoint.items() if k != "pooling"}
    return {**old, "format_version": 1, "state_dict": shifted}


def test_a_model_trained_before_pooling_choices_still_loads_and_gives_the_same_vectors(trained, samples) -> None:
    checkpoint, _, _ = trained
    assert checkpoint["pooling"] == "avg"  # the full fine-tune pools as format 1 did; its Standardize is the identity
    old = _as_format_1(checkpoint)

    loaded = load_checkpoint(old)

    assert not any(key.startswith("embedding.") and key.endswith(".mean") for key in loaded.model.state_dict())
    image = Path(samples[0].image).read_bytes()
    np.testing.assert_allclose(
        Extractor.from_checkpoint(old).embed_bytes([image]),
        Extractor.from_checkpoint(checkpoint).embed_bytes([image]),
        atol=1e-5,
    )


def test_each_epoch_reports_its_held_out_figure_per_head(trained) -> None:
    checkpoint, _, epochs = trained
    assert [e["epoch"] for e in epochs] == [h["epoch"] for h in checkpoint["history"]]
    assert all(set(e["heads"]) == {"style"} and 0 <= e["heads"]["style"] <= 1 for e in epochs)
    best = checkpoint["params"]["best_epoch"]
    assert epochs[best - 1]["heads"]["style"] == checkpoint["metrics"]["style"]["value"]
