"""Images: derivatives in storage, orientation and colour normalisation, rejected files, content addressing."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from collection import images, storage
from collection.models import ImageFile
from tests.factories import image_bytes, jpeg_with_orientation

pytestmark = pytest.mark.django_db


def stored_derivative(record: ImageFile, size_name: str) -> Image.Image:
    data = storage.get("public", record.derivatives[size_name])
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def close_to(pixel: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 24) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def test_it_stores_thumb_medium_and_large_derivatives_in_the_configured_format_and_sizes(demo_dir, settings):
    data = sorted((demo_dir / "images").glob("*.jpg"))[0].read_bytes()  # 433×512

    record = images.ingest(data, name="demo.jpg")

    assert set(record.derivatives) == {"thumb", "medium", "large"}
    assert record.derivatives_complete()
    for name, side in settings.IMAGE_SIZES.items():
        derivative = stored_derivative(record, name)
        assert derivative.format == "WEBP"
        assert record.derivatives[name].endswith(f"/{name}.webp")
        # Fitted inside the square, never enlarged beyond the original.
        assert max(derivative.size) == min(side, 512)
        assert derivative.mode == "RGB"
    assert stored_derivative(record, "thumb").size == (108, 128)
    assert (record.width, record.height, record.content_type) == (433, 512, "image/jpeg")
    assert record.byte_size == len(data)


def test_it_writes_jpeg_derivatives_when_configured(settings):
    settings.IMAGE_DERIVATIVE_FORMAT = "jpeg"
    settings.IMAGE_SIZES = {"thumb": 32, "medium": 128, "large": 256}

    record = images.ingest(image_bytes("PNG", size=(300, 150)), name="wide.png")

    for name, side in settings.IMAGE_SIZES.items():
        derivative = stored_derivative(record, name)
        assert derivative.format == "JPEG"
        assert derivative.size == (side, side // 2)
        assert record.derivatives[name].endswith(".jpg")


@pytest.mark.parametrize("icc", [False, True], ids=["plain", "with-icc-profile"])
def test_it_applies_the_exif_orientation_so_a_rotated_photo_stands_upright(icc):
    data = jpeg_with_orientation(6, size=(60, 30), icc=icc)  # stored landscape, displayed portrait

    record = images.ingest(data, name="rotated.jpg")

    assert (record.width, record.height) == (30, 60)
    assert stored_derivative(record, "large").size == (30, 60)
    assert stored_derivative(record, "thumb").size == (30, 60)


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (40, 20), (255, 0, 0)), Image.new("RGB", (40, 20), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def _sixteen_bit_grey() -> bytes:
    import numpy as np

    ramp = (np.arange(40 * 20, dtype="<u2").reshape(20, 40) * 80).astype("<u2")
    out = io.BytesIO()
    Image.fromarray(ramp).save(out, "PNG")
    assert Image.open(io.BytesIO(out.getvalue())).mode == "I;16"
    return out.getvalue()


@pytest.mark.parametrize(
    ("make", "content_type", "expected_colour"),
    [
        pytest.param(
            lambda: image_bytes("JPEG", mode="CMYK", size=(40, 20), colour=(0, 255, 255, 0)),
            "image/jpeg",
            (255, 0, 0),
            id="cmyk-jpeg",
        ),
        pytest.param(
            lambda: image_bytes("PNG", mode="RGBA", size=(40, 20), colour=(0, 0, 0, 0)),
            "image/png",
            (255, 255, 255),
            id="transparent-png-on-white",
        ),
        pytest.param(
            lambda: image_bytes("PNG", mode="RGBA", size=(40, 20), colour=(0, 128, 0, 255)),
            "image/png",
            (0, 128, 0),
            id="opaque-png-with-alpha",
        ),
        pytest.param(_animated_gif, "image/gif", (255, 0, 0), id="animated-gif-first-frame"),
        pytest.param(
            lambda: image_bytes("TIFF", size=(40, 20), colour=(0, 200, 0)), "image/tiff", (0, 200, 0), id="tiff"
        ),
        pytest.param(
            lambda: image_bytes("PNG", mode="L", size=(40, 20), colour=90), "image/png", (90, 90, 90), id="8-bit-grey"
        ),
        pytest.param(
            lambda: image_bytes("BMP", size=(40, 20), colour=(10, 20, 200)), "image/bmp", (10, 20, 200), id="bmp"
        ),
    ],
)
def test_it_turns_every_accepted_kind_of_image_into_rgb_derivatives(make, content_type, expected_colour):
    record = images.ingest(make(), name="input")

    assert record.content_type == content_type
    assert (record.width, record.height) == (40, 20)
    for name in ("thumb", "medium", "large"):
        derivative = stored_derivative(record, name)
        assert derivative.mode == "RGB"
        assert derivative.size == (40, 20)
    pixel = stored_derivative(record, "large").getpixel((20, 10))
    assert close_to(pixel, expected_colour), pixel


def test_a_16_bit_greyscale_image_is_scaled_to_8_bits_not_clipped_to_white():
    record = images.ingest(_sixteen_bit_grey(), name="scan.png")

    derivative = stored_derivative(record, "large")
    assert derivative.mode == "RGB"
    dark, bright = derivative.getpixel((0, 0)), derivative.getpixel((39, 19))
    assert close_to(dark, (0, 0, 0))
    assert close_to(bright, (255, 255, 255))
    middle = derivative.getpixel((20, 10))[0]
    assert 60 < middle < 200  # a ramp, not a white page


def _bomb() -> bytes:
    """4000×4000 one-bit pixels: 16 megapixels that compress to a couple of kilobytes."""
    out = io.BytesIO()
    Image.new("1", (4000, 4000), 0).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(lambda: b"", "upload.jpg: the file is empty (0 bytes)", id="zero-bytes"),
        pytest.param(
            lambda: image_bytes("JPEG", size=(200, 200))[:400],
            "upload.jpg: the image is corrupt or truncated",
            id="truncated-jpeg",
        ),
        pytest.param(
            lambda: b"<!DOCTYPE html><html><head><title>404</title></head><body>Not found</body></html>",
            "upload.jpg: not a recognisable image (is it HTML, text or another file type?)",
            id="html-renamed-jpg",
        ),
        pytest.param(_bomb, "upload.jpg: refused as a possible decompression bomb", id="decompression-bomb"),
        pytest.param(
            lambda: image_bytes("ICO", size=(32, 32)), "upload.jpg: ICO images are not accepted", id="unaccepted-format"
        ),
    ],
)
def test_it_rejects_a_file_that_is_not_a_usable_image_and_writes_nothing(make, reason, settings, stored_keys):
    settings.IMAGE_MAX_PIXELS = 10_000_000
    data = make()
    assert len(data) < 10_000  # the bomb is small on disk

    with pytest.raises(images.ImageRejected) as caught:
        images.ingest(data, name="upload.jpg")

    assert str(caught.value).startswith(reason)
    assert not ImageFile.objects.exists()
    assert stored_keys() == []


def test_an_image_far_above_the_pixel_limit_is_refused_before_it_is_decoded(settings, stored_keys):
    settings.IMAGE_MAX_PIXELS = 1_000_000  # the bomb has 16 megapixels, over twice the limit

    with pytest.raises(images.ImageRejected, match="refused as a possible decompression bomb .*exceeds limit"):
        images.ingest(_bomb(), name="bomb.png")
    assert stored_keys() == []


def test_it_rejects_an_image_above_the_upload_size_limit(settings, stored_keys):
    settings.IMAGE_MAX_UPLOAD_BYTES = 2000
    data = image_bytes("PNG", mode="RGB", size=(300, 300), colour=(1, 2, 3), compress_level=0)

    with pytest.raises(images.ImageRejected, match=r"big.png: the file is 0.3 MB, above the limit"):
        images.ingest(data, name="big.png")
    assert stored_keys() == []


def test_the_same_picture_ingested_twice_is_stored_once_under_its_sha256(stored_keys):
    import hashlib

    data = image_bytes("JPEG", size=(64, 48))
    digest = hashlib.sha256(data).hexdigest()

    first = images.ingest(data, name="a.jpg")
    second = images.ingest(data, name="copy-of-a.jpg")

    assert first.pk == second.pk
    assert ImageFile.objects.count() == 1
    assert first.sha256 == digest
    assert first.original == f"originals/{digest[:2]}/{digest}.jpg"
    assert stored_keys() == sorted(
        [f"private/originals/{digest[:2]}/{digest}.jpg"]
        + [f"public/derivatives/{digest[:2]}/{digest}/{name}.webp" for name in ("thumb", "medium", "large")]
    )
    assert storage.get("private", first.original) == data


def test_two_import_rows_with_the_same_image_file_share_one_image_record(tmp_path, image_folder):
    from django.core.management import call_command

    from collection.models import Artwork

    (tmp_path / "works.csv").write_text("id,title,image\n1,One,images/a.jpg\n2,Two,images/a.jpg\n")

    call_command("import_collection", str(tmp_path / "works.csv"), "--no-progress", stdout=io.StringIO())

    one, two = Artwork.objects.order_by("accession_number")
    assert one.image_id == two.image_id
    assert ImageFile.objects.count() == 1


def test_missing_derivatives_are_rebuilt_from_the_original(settings):
    record = images.ingest(image_bytes("JPEG", size=(64, 48)), name="a.jpg")
    settings.IMAGE_DERIVATIVE_FORMAT = "jpeg"
    assert not record.derivatives_complete()

    record = images.regenerate_derivatives(record)

    assert record.derivatives_complete()
    assert stored_derivative(record, "thumb").format == "JPEG"
    assert ImageFile.objects.get().derivatives["thumb"].endswith("thumb.jpg")
