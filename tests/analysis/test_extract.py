"""Batched extraction must give the same vectors as one-at-a-time, in order, and survive bad files."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import torch
from PIL import Image

from analysis.backbone import BackboneSpec
from analysis.extract import (
    EmbeddingBatch,
    Extractor,
    decode_image,
    draft_size_for,
)
from bench.throughput import measure_batch_throughput
from tests.analysis.procedural import render_image


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
    """Decoding ahead (GPU: next batch; CPU: deeper, in low-priority threads) yields the same batches."""
    from analysis.extract import ImageItemsDataset
    from analysis.extract.batches import _thread_batches

    dataset = ImageItemsDataset(items, extractor.item_transform, extractor.draft_size)
    phased = list(_thread_batches(dataset, 3, 2, overlap=False))
    for overlapped in (
        list(_thread_batches(dataset, 3, 2, overlap=True)),
        list(_thread_batches(dataset, 3, 2, overlap=True, prefetch=3, nice=5)),
    ):
        assert [b[0] for b in phased] == [b[0] for b in overlapped]
        assert [b[2].keys() for b in phased] == [b[2].keys() for b in overlapped]
        assert all(torch.equal(a[1], b[1]) for a, b in zip(phased, overlapped))


# --------------------------------------------------------------------------- fast paths


def _shapes(rng: np.random.Generator) -> list[Image.Image]:
    """Landscape, portrait, already at the resize size, very wide, smaller than the crop, non-square pixels."""
    sizes = [(400, 300), (300, 400), (109, 150), (150, 109), (900, 140), (60, 45), (333, 517)]
    return [render_image("waves", ("circle",), 200, rng).resize(size) for size in sizes] + [
        Image.fromarray(rng.integers(0, 256, (271, 389, 3), dtype=np.uint8))
    ]


def test_the_uint8_transform_feeds_the_model_exactly_what_timm_s_transform_does(extractor: Extractor) -> None:
    """Same Pillow resize and crop, normalisation moved to the batch: the input is bit-for-bit timm's."""
    fast = extractor.fast_transform
    assert fast is not None and extractor.item_transform is fast
    for image in _shapes(np.random.default_rng(5)):
        as_uint8 = fast(image)
        assert as_uint8.dtype == torch.uint8 and as_uint8.shape == (96, 96, 3)
        assert torch.equal(fast.to_float(image), extractor.transform(image)), image.size


@pytest.mark.parametrize("runtime", ["openvino", "onnxruntime"])
def test_every_cpu_engine_gives_the_vectors_pytorch_gives(extractor: Extractor, items, runtime) -> None:
    engine = (
        extractor
        if extractor.runtime == runtime
        else Extractor.from_backbone(BackboneSpec(img_size=96), runtime=runtime)
    )
    eager = Extractor.from_backbone(BackboneSpec(img_size=96), runtime="torch")
    assert engine.runtime == runtime and eager.runtime == "torch"
    assert eager.feature_version == engine.feature_version  # same weights, same preprocessing, same vectors

    fast_keys, fast, _ = _collect(list(engine.embed_stream(items, batch_size=4, num_workers=2)))
    eager_keys, slow, _ = _collect(list(eager.embed_stream(items, batch_size=4, num_workers=2)))
    assert fast_keys == eager_keys
    np.testing.assert_allclose(fast, slow, atol=1e-4)
    assert float((fast * slow).sum(axis=1).min()) > 0.9999


def test_openvino_is_the_default_cpu_engine(extractor: Extractor) -> None:
    assert extractor.runtime == "openvino"
    assert type(extractor.lane_model()).runtime == "openvino"


def test_parallel_lanes_give_the_vectors_of_the_plain_loop(extractor: Extractor, items, monkeypatch) -> None:
    """On CPU each lane decodes a batch and runs a single-threaded session: order and vectors stay the same."""
    from analysis.extract import extractor as extractor_module

    monkeypatch.setattr(extractor_module, "_cores", lambda: 3)
    calls = []
    real = extractor.lane_model().__class__.__call__
    monkeypatch.setattr(type(extractor.lane_model()), "__call__", lambda self, b: calls.append(len(b)) or real(self, b))
    laned = _collect(list(extractor.embed_stream(items, batch_size=2, num_workers=3)))
    monkeypatch.undo()
    plain = _collect(list(extractor.embed_stream(items, batch_size=2, num_workers=0)))
    assert sum(calls) == len(laned[0])  # the lanes ran the model, not the phased loop
    assert laned[0] == plain[0] and laned[2].keys() == plain[2].keys()
    np.testing.assert_allclose(laned[1], plain[1], atol=2e-5)


def test_a_model_onnx_cannot_export_still_embeds_with_pytorch(monkeypatch, items) -> None:
    from analysis.extract import engines

    def fail(*args, **kwargs):
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(engines, "_ONNX_GRAPHS", {})
    monkeypatch.setattr(engines, "_export_onnx", fail)
    fallback = Extractor.from_backbone(BackboneSpec(img_size=64))
    assert fallback.runtime == "torch"
    keys, vectors, _ = _collect(list(fallback.embed_stream(items[:4], num_workers=0)))
    assert vectors.shape == (len(keys), 1280)
    for runtime in ("onnxruntime", "openvino"):
        with pytest.raises(RuntimeError, match="unsupported operator"):
            Extractor.from_backbone(BackboneSpec(img_size=64), runtime=runtime)


def test_an_exported_graph_that_disagrees_with_pytorch_is_refused(monkeypatch) -> None:
    """A wrong export must never produce vectors under the model's feature version."""
    import copy

    from analysis.extract import engines

    real_export = engines._export_onnx

    def export_other_weights(model, probe):
        other = copy.deepcopy(model)
        with torch.no_grad():
            for param in other.parameters():
                param.mul_(1.5)
        return real_export(other, probe)

    monkeypatch.setattr(engines, "_ONNX_GRAPHS", {})
    monkeypatch.setattr(engines, "_export_onnx", export_other_weights)
    for runtime in ("onnxruntime", "openvino"):
        with pytest.raises(RuntimeError, match="differs from PyTorch"):
            Extractor.from_backbone(BackboneSpec(img_size=64), runtime=runtime)
    assert Extractor.from_backbone(BackboneSpec(img_size=64)).runtime == "torch"


@pytest.mark.django_db(transaction=True)
def test_embedding_the_collection_replaces_a_stale_vector_in_place(demo_dir) -> None:
    """Vectors are saved in bulk per batch; a work whose image changed gets its row updated, not a second one."""
    from analysis import services
    from analysis.models import Embedding
    from collection import images
    from tests.factories import artwork_with_image

    blobs = [p.read_bytes() for p in sorted((demo_dir / "images").glob("*.jpg"))[:4]]
    works = [artwork_with_image(b) for b in blobs[:3]]
    feature_model = services.active_feature_model()
    assert services.embed_collection(feature_model) == {"embedded": 3, "failed": 0, "total": 3}
    before = {e.artwork_id: e for e in Embedding.objects.filter(feature_model=feature_model)}
    assert set(before) == {w.pk for w in works}

    works[1].image = images.ingest(blobs[3], name="replacement.jpg")
    works[1].save()
    assert services.embed_collection(feature_model) == {"embedded": 1, "failed": 0, "total": 1}
    after = {e.artwork_id: e for e in Embedding.objects.filter(feature_model=feature_model)}
    assert set(after) == set(before)
    changed = after[works[1].pk]
    assert changed.pk == before[works[1].pk].pk and changed.image_sha256 == works[1].image.sha256
    assert not np.allclose(changed.array(), before[works[1].pk].array())
    assert all(bytes(after[w.pk].vector) == bytes(before[w.pk].vector) for w in (works[0], works[2]))
    assert services.embed_collection(feature_model)["total"] == 0


@pytest.mark.django_db(transaction=True)
def test_embedding_the_collection_saves_vectors_in_groups_and_reports_every_saved_one(
    demo_dir, monkeypatch, settings
) -> None:
    """Small CPU batches are saved SAVE_EVERY vectors at a time; the last, partial group is not lost."""
    from analysis import services
    from analysis.models import Embedding
    from core.models import Job
    from tests.factories import artwork_with_image

    settings.FEATURE_BATCH_SIZE = 1
    monkeypatch.setattr(services, "SAVE_EVERY", 2)
    saved_groups: list[int] = []
    save_batch = services._save_batch

    def counting_save_batch(feature_model, rows):
        saved_groups.append(len(rows))
        save_batch(feature_model, rows)

    monkeypatch.setattr(services, "_save_batch", counting_save_batch)
    blobs = [p.read_bytes() for p in sorted((demo_dir / "images").glob("*.jpg"))[:3]]
    works = [artwork_with_image(b) for b in blobs]
    feature_model = services.active_feature_model()
    job = Job.objects.create(kind="embed_collection", target=feature_model.version)

    assert services.embed_collection(feature_model, job=job) == {"embedded": 3, "failed": 0, "total": 3}
    assert saved_groups == [2, 1]
    saved = {e.artwork_id: e for e in Embedding.objects.filter(feature_model=feature_model)}
    assert set(saved) == {w.pk for w in works}
    for work, blob in zip(works, blobs):
        assert saved[work.pk].image_sha256 == work.image.sha256
        assert np.allclose(saved[work.pk].array(), services.embed_bytes(blob), atol=1e-5)
    job.refresh_from_db()
    assert (job.done, job.total) == (3, 3)
