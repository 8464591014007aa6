"""A labelled set from the admin is held to the limits of any upload: picture size and where its files lie."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from analysis import training_sets
from tests.conftest import make_jpeg


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("pixels", [1_500_000, 2_500_000], ids=["below-twice-the-limit", "above-twice-the-limit"])
def test_a_picture_above_the_pixel_limit_is_refused_naming_it_before_the_worker_decodes_it(settings, pixels):
    settings.IMAGE_MAX_PIXELS = 1_000_000
    data = zipped({"a/small.jpg": make_jpeg(), "b/huge.png": png(pixels // 1000, 1000)})

    with pytest.raises(training_sets.SetRejected, match="b/huge.png"):
        training_sets.read_zip(data)


def test_a_picture_within_the_pixel_limit_is_taken(settings):
    settings.IMAGE_MAX_PIXELS = 1_000_000

    labelled = training_sets.read_zip(zipped({"a/1.png": png(900, 1000), "b/2.jpg": make_jpeg()}))

    assert len(labelled.rows) == 2


def test_a_link_inside_the_allowed_folder_to_a_file_outside_it_is_refused(settings, tmp_path: Path):
    root, secret = tmp_path / "sets", tmp_path / "elsewhere" / "original.jpg"
    (root / "set" / "a").mkdir(parents=True)
    secret.parent.mkdir()
    secret.write_bytes(make_jpeg())
    (root / "set" / "a" / "1.jpg").write_bytes(make_jpeg())
    (root / "set" / "b").mkdir()
    (root / "set" / "b" / "2.jpg").symlink_to(secret)
    settings.TRAINING_SETS_ROOT = str(root)

    with pytest.raises(training_sets.SetRejected, match="b/2.jpg links outside the folder"):
        training_sets.read_folder("set")
