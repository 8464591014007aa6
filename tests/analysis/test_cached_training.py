"""The CPU training path: an embedding layer trained on cached backbone features, in the fine-tune's format."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from analysis import services
from analysis.backbone import BackboneSpec, load_backbone
from analysis.cached_training import (
    CACHE_FORMAT,
    CachedTrainConfig,
    DirectoryCache,
    StaleFeatureCache,
    cache_prefix,
    extract_view_features,
    sample_id,
    train_on_cached_features,
)
from analysis.cached_training.features import _encode_entry, _entry_key
from analysis.extract import Extractor
from analysis.training import Sample, load_checkpoint, load_image_folder
from tests.analysis.heldout import heldout_knn
from tests.analysis.procedural import generate_procedural_set

IMG = 112
SPEC = BackboneSpec(img_size=IMG)
CONFIG = CachedTrainConfig(views=2, epochs=30, seed=0)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory):
    return generate_procedural_set(tmp_path_factory.mktemp("procedural"), per_class=40, size=160, seed=0)


@pytest.fixture(scope="module")
def samples(dataset) -> list[Sample]:
    return load_image_folder(dataset.root)


@pytest.fixture(scope="module")
def trained(samples, tmp_path_factory: pytest.TempPathFactory):
    calls: list[tuple[int, int, str]] = []
    cache = DirectoryCache(tmp_path_factory.mktemp("feature-cache"))
    epochs: list[dict] = []
    checkpoint = train_on_cached_features(
        samples, SPEC, CONFIG, cache=cache, progress=lambda d, t, m: calls.append((d, t, m)), on_epoch=epochs.append
    )
    return checkpoint, calls, epochs


def _knn(extractor: Extractor, samples: list[Sample]) -> float:
    return heldout_knn(extractor, samples, CONFIG.val_fraction, CONFIG.seed)


@pytest.mark.slow
def test_the_cpu_path_raises_heldout_knn_accuracy_over_the_pretrained_features(samples, trained) -> None:
    checkpoint, _, _ = trained
    pretrained = _knn(Extractor.from_backbone(SPEC), samples)
    trained_extractor = Extractor.from_checkpoint(checkpoint)
    cpu_path = _knn(trained_extractor, samples)
    print(f"held-out kNN(k=10) accuracy: pretrained {pretrained:.3f}, cpu path {cpu_path:.3f}")
    assert trained_extractor.dim == CONFIG.embedding_dim
    assert cpu_path >= pretrained + 0.04, (pretrained, cpu_path)
    assert checkpoint["metrics"]["style"]["value"] > 0.5


def test_the_cpu_path_gives_the_fine_tune_checkpoint_with_the_backbone_left_as_it_was(trained) -> None:
    checkpoint, calls, _ = trained
    loaded = load_checkpoint(checkpoint, expected_backbone="tf_efficientnet_lite0")
    assert [f.name for f in loaded.fields] == ["style"]
    assert checkpoint["params"]["path"] == "cpu-cached-features"
    assert checkpoint["params"]["feature_cache"]["made"] == 200
    pretrained = load_backbone(SPEC, num_classes=0).model.state_dict()
    for key, tensor in pretrained.items():
        torch.testing.assert_close(checkpoint["state_dict"][f"backbone.{key}"], tensor, rtol=0, atol=0)
    assert Extractor.from_checkpoint(checkpoint).feature_version.startswith("tf_efficientnet_lite0:finetuned:")
    done = [d for d, _, _ in calls]
    assert done == sorted(done) and calls[-1][0] == calls[-1][1]
    assert sum("epoch" in m for _, _, m in calls) == CONFIG.epochs


def test_the_trained_model_embeds_a_picture_from_the_very_statistics_it_was_trained_on(samples, trained) -> None:
    checkpoint, _, _ = trained
    assert checkpoint["pooling"] == "style" and checkpoint["backbone_dim"] == 1280 + 2 * (40 + 80 + 112 + 192 + 320)
    few = samples[:4]
    cached, _ = extract_view_features(few, SPEC, views=1)
    model = load_checkpoint(checkpoint).model
    with torch.inference_mode():
        from_cache = torch.nn.functional.normalize(model.embedding(torch.from_numpy(cached[:, 0])), dim=1).numpy()
    extractor = Extractor.from_checkpoint(checkpoint)
    assert extractor.runtime == "openvino"  # the exported graph computes the pooling itself
    exported = np.zeros_like(from_cache)
    for batch in extractor.embed_stream([(i, s.image) for i, s in enumerate(few)], num_workers=1):
        exported[batch.keys] = batch.vectors
    np.testing.assert_allclose(exported, from_cache, atol=2e-4)


def test_cache_entries_of_the_old_format_or_another_pooling_are_refused_by_name(samples, tmp_path) -> None:
    few = samples[:2]
    cache = DirectoryCache(tmp_path)
    extract_view_features(few, SPEC, views=1, cache=cache, pooling="avg")
    with pytest.raises(StaleFeatureCache, match="pretrained:.*pretrained-style:"):
        extract_view_features(few, SPEC, views=1, cache=cache, pooling="style")

    _, report = extract_view_features(few, SPEC, views=1, cache=cache, refresh=True)
    old = report["version"].replace(f"cache{CACHE_FORMAT}|", "cache1|")
    cache.put(_entry_key(cache_prefix(SPEC.name), sample_id(few[0])), _encode_entry(old, np.zeros((1, 8))))
    with pytest.raises(StaleFeatureCache, match="'cache1\\|.*refresh"):
        extract_view_features(few, SPEC, views=1, cache=cache)


def test_cached_features_are_read_back_on_a_second_run_and_a_cut_run_resumes(samples) -> None:
    few = samples[::20]
    cache = services.StorageFeatureCache()  # the private area of the real S3 endpoint
    first_half, _ = extract_view_features(few[:5], SPEC, views=2, cache=cache)
    features, report = extract_view_features(few, SPEC, views=2, cache=cache)
    assert (report["from_cache"], report["made"]) == (5, len(few) - 5)
    again, report = extract_view_features(few, SPEC, views=2, cache=cache)
    assert (report["from_cache"], report["made"]) == (len(few), 0)
    np.testing.assert_allclose(again, features, rtol=2e-3, atol=2e-3)  # stored as float16
    np.testing.assert_allclose(again[:5], first_half, rtol=2e-3, atol=2e-3)


def test_cached_features_made_another_way_are_refused_loudly_unless_refreshed(samples) -> None:
    few = samples[:3]
    cache = services.StorageFeatureCache()
    extract_view_features(few, SPEC, views=1, cache=cache)
    with pytest.raises(StaleFeatureCache, match="center,center-flip.*refresh"):
        extract_view_features(few, SPEC, views=2, cache=cache)
    _, report = extract_view_features(few, SPEC, views=2, cache=cache, refresh=True)
    assert report["made"] == 3
    _, report = extract_view_features(few, SPEC, views=2, cache=cache)
    assert report["from_cache"] == 3


def test_a_replaced_picture_gets_new_features_not_the_cached_ones(samples, tmp_path) -> None:
    import shutil

    path = tmp_path / "work.jpg"
    shutil.copy(samples[0].image, path)
    cache = DirectoryCache(tmp_path / "cache")
    before, _ = extract_view_features([Sample(path, {}, key="work")], SPEC, views=1, cache=cache)
    shutil.copy(samples[-1].image, path)
    after, report = extract_view_features([Sample(path, {}, key="work")], SPEC, views=1, cache=cache)
    assert report["made"] == 1 and not np.allclose(before, after)


def test_train_features_takes_the_cpu_path_when_no_gpu_is_present(dataset, monkeypatch, transactional_db) -> None:
    from analysis import training
    from analysis.models import FeatureModel
    from collection import storage
    from core.models import Job

    def no_fine_tune(*args, **kwargs):
        raise AssertionError("the full fine-tune must not run on a machine without a GPU")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(training, "fine_tune", no_fine_tune)
    job = Job.objects.create(
        kind="train_features", params={"labelled_path": str(dataset.root), "options": {"views": 1, "epochs": 3}}
    )

    outcome = services.train_features(job)

    job.refresh_from_db()
    assert outcome["trained"] is True and outcome["path"] == "cpu"
    assert job.status == "done" and "cpu path" in job.message
    model = FeatureModel.objects.get(version=outcome["version"])
    assert model.params["path"] == "cpu" and model.params["views"] == 1
    assert model.params["feature_cache"]["made"] == dataset.count
    assert storage.exists("private", model.checkpoint_key)


def test_the_training_path_follows_the_gpu_unless_one_is_asked_for(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert services.training_path() == "gpu" and services.training_path("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert services.training_path("auto") == "cpu" and services.training_path("gpu") == "gpu"
    with pytest.raises(ValueError, match="'tpu'"):
        services.training_path("tpu")


def test_an_option_the_chosen_path_does_not_have_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="cpu training path has no option freeze_stages"):
        services._config_for("cpu", {"freeze_stages": 2, "epochs": 3})
    with pytest.raises(ValueError, match="gpu training path has no option views"):
        services._config_for("gpu", {"views": 4})
    assert services._config_for("cpu", {"views": 2}).views == 2


def test_catalogue_fields_filled_in_on_enough_works_become_heads_and_say_why(transactional_db) -> None:
    from analysis.training import min_labels_ok
    from tests.conftest import make_jpeg
    from tests.factories import ArtistFactory, CreditFactory, artwork_with_image

    monet, degas = ArtistFactory(name="Claude Monet"), ArtistFactory(name="Edgar Degas")
    for i in range(12):
        work = artwork_with_image(
            make_jpeg(colour=(20 * i, 40, 90)),
            decade=1870 if i % 2 else 1880,
            medium="Oil on canvas" if i < 2 else "",
            artist_display="",
        )
        CreditFactory(artwork=work, artist=monet if i < 6 else degas)

    samples, report = services._collection_samples()

    assert len(samples) == 12
    assert {s.labels["artist"] for s in samples} == {"Claude Monet", "Edgar Degas"}
    assert {s.labels["decade"] for s in samples} == {"1870s", "1880s"}
    assert all("medium" not in s.labels for s in samples)
    assert report["medium"] == "left out: filled in on 2 of 12 works (less than 30%)"
    assert report["artist"] == "catalogue field filled in on 12 of 12 works"
    check = min_labels_ok(samples, min_per_class=5)
    assert set(check.fields) == {"artist", "decade"}  # one classification only: nothing to learn from it


def test_the_command_refuses_a_gpu_only_option_on_the_cpu_path_and_fails_its_job(transactional_db) -> None:
    from django.core.management import CommandError, call_command

    from core.models import Job

    with pytest.raises(CommandError, match="cpu training path has no option freeze_stages"):
        call_command("train_features", "--path", "cpu", "--freeze-stages", "2")
    job = Job.objects.get(kind="train_features")
    assert job.status == "failed" and "freeze_stages" in job.error


def test_each_epoch_reports_its_held_out_figure_per_head(trained) -> None:
    checkpoint, _, epochs = trained
    assert [e["epoch"] for e in epochs] == list(range(1, CONFIG.epochs + 1))
    assert all(set(e["heads"]) == {"style"} and e["train_loss"] > 0 for e in epochs)
    # The last epoch's figure is the model's: the CPU path keeps the weights of its last epoch.
    assert epochs[-1]["heads"]["style"] == pytest.approx(checkpoint["metrics"]["style"]["value"])
