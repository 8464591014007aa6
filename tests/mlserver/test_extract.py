"""Batched extraction must give the same vectors as one-at-a-time, in order, and survive bad files."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from mlserver.backbone import BackboneSpec
from mlserver.extract import (
    EmbeddingBatch,
    Extractor,
    decode_image,
    draft_size_for,
    measure_batch_throughput,
)
from mlserver.procedural import render_image


def _jpeg(image: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90, **kwargs)
    return buf.getvalue()


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    # 96 px keeps the test fast; nothing here depends on the resolution.
    return Extractor.from_backbone(BackboneSpec(img_size=96))


@pytest.fixture(scope="module")
def items() -> list[tuple[str, object]]:
    rng = np.random.default_rng(3)
    out: list[tuple[str, object]] = []
    for i, style in enumerate(["stripes", "dots", "checker", "gradient", "waves"] * 2):
        out.append((f"img-{i}", _jpeg(render_image(style, ("circle",), 150, rng))))
    big = render_image("waves", (), 900, rng)  # large enough for draft to decode at 1/4
    out.insert(3, ("big", _jpeg(big)))
    png = io.BytesIO()
    render_image("dots", (), 120, rng).save(png, "PNG")
    out.insert(6, ("png", png.getvalue()))
    blob = _jpeg(render_image("checker", (), 130, rng))
    out.insert(8, ("callable", lambda: blob))  # storage reads are callables
    out.insert(2, ("corrupt", b"\xff\xd8\xff\xe0 definitely not a jpeg"))
    out.insert(9, ("empty", b""))
    return out


def _collect(batches: list[EmbeddingBatch]) -> tuple[list, np.ndarray, dict]:
    keys = [k for b in batches for k in b.keys]
    vectors = np.concatenate([b.vectors for b in batches])
    errors = {k: v for b in batches for k, v in b.errors.items()}
    return keys, vectors, errors


@pytest.mark.parametrize("loader,workers", [("processes", 2), ("threads", 2), ("threads", 0), ("auto", None)])
def test_batched_equals_one_at_a_time(extractor: Extractor, items, loader: str, workers: int) -> None:
    batches = list(extractor.embed_stream(items, batch_size=4, num_workers=workers, loader=loader))
    keys, vectors, errors = _collect(batches)

    good = [(k, d) for k, d in items if k not in ("corrupt", "empty")]
    assert keys == [k for k, _ in good]  # order preserved across batches and workers
    assert set(errors) == {"corrupt", "empty"}
    assert all(isinstance(msg, str) and msg for msg in errors.values())
    assert vectors.dtype == np.float32 and vectors.shape == (len(good), 1280)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    singles = np.concatenate([extractor.embed_bytes([d() if callable(d) else d]) for _, d in good])
    np.testing.assert_allclose(vectors, singles, atol=2e-5)


def test_chunked_generator_input(extractor: Extractor, items) -> None:
    """A generator is consumed in chunks; results are the same as for a list."""
    as_list = _collect(list(extractor.embed_stream(items, batch_size=3, num_workers=0)))
    as_gen = _collect(list(extractor.embed_stream(iter(items), batch_size=3, num_workers=0, chunk_size=5)))
    assert as_list[0] == as_gen[0] and as_list[2].keys() == as_gen[2].keys()
    np.testing.assert_allclose(as_list[1], as_gen[1], atol=2e-5)


def test_batch_of_only_corrupt_items(extractor: Extractor) -> None:
    (batch,) = extractor.embed_stream([("a", b"junk"), ("b", b"")], batch_size=8, num_workers=0)
    assert batch.keys == [] and batch.vectors.shape == (0, 1280) and set(batch.errors) == {"a", "b"}


def test_embed_images_matches_stream_for_small_images(extractor: Extractor, items) -> None:
    key, data = items[0]
    (batch,) = extractor.embed_stream([(key, data)], num_workers=0)
    direct = extractor.embed_images([Image.open(io.BytesIO(data))])
    np.testing.assert_allclose(batch.vectors, direct, atol=2e-5)
    assert extractor.embed_images([]).shape == (0, 1280)


def test_draft_decodes_large_jpegs_at_reduced_size(extractor: Extractor) -> None:
    data = _jpeg(render_image("stripes", (), 1000, np.random.default_rng(0)))
    size = draft_size_for(extractor.data_config)
    assert size == int(96 / 0.875)
    image = decode_image(data, size)
    assert min(image.size) >= size and max(image.size) <= 1000 // 4  # decoded at 1/4 scale, not full
    assert decode_image(data).size == (1000, 1000)


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (200, 100), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    decoded = decode_image(_jpeg(image, exif=exif.tobytes()), 64)
    assert decoded.size == (100, 200) and decoded.mode == "RGB"


def test_grayscale_and_cmyk_become_rgb() -> None:
    for mode in ("L", "CMYK"):
        assert decode_image(_jpeg(Image.new(mode, (64, 64))), 32).mode == "RGB"


def test_feature_version_names_the_weights(extractor: Extractor) -> None:
    assert re.fullmatch(r"tf_efficientnet_lite0:pretrained:[0-9a-f]{8}", extractor.feature_version)
    assert Extractor.from_backbone(BackboneSpec(img_size=96)).feature_version == extractor.feature_version
    assert extractor.dim == 1280


def test_throughput_helper_reports_positive_rates(extractor: Extractor) -> None:
    rates = measure_batch_throughput(extractor, batch_sizes=(1, 2), seconds=0.2, repeats=1)
    assert set(rates) == {1, 2} and all(r > 0 for r in rates.values())


def test_overlapping_thread_loader_keeps_order(extractor: Extractor, items) -> None:
    """The GPU-side thread mode (decode next batch while the model runs) yields the same batches."""
    from mlserver.extract import ImageItemsDataset, _thread_batches

    dataset = ImageItemsDataset(items, extractor.transform, extractor.draft_size)
    phased = list(_thread_batches(dataset, 3, 2, overlap=False))
    overlapped = list(_thread_batches(dataset, 3, 2, overlap=True))
    assert [b[0] for b in phased] == [b[0] for b in overlapped]
    assert [b[2].keys() for b in phased] == [b[2].keys() for b in overlapped]
