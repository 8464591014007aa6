"""Decoding a picture and the per-image part of the model's preprocessing.

Decoding uses Pillow's JPEG ``draft`` mode, which lets libjpeg decode directly at
1/2, 1/4 or 1/8 scale - close to the ~256 px the model needs - instead of decoding a
full scan and throwing most pixels away. Resizing and cropping stay in uint8 per image
(:class:`FastEvalTransform`); conversion to float and normalisation happen once per batch.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from PIL import Image, ImageOps

ImageSource = bytes | bytearray | memoryview | str | Path | IO[bytes] | Image.Image
ItemData = ImageSource | Callable[[], ImageSource]
Item = tuple[Hashable, ItemData]


def draft_size_for(data_config: dict[str, Any]) -> int:
    """Smallest side the eval transform needs before its centre crop (timm's resize size)."""
    _, height, width = data_config["input_size"]
    crop_pct = data_config.get("crop_pct") or 1.0
    return int(math.floor(max(height, width) / crop_pct))


def decode_image(source: ImageSource, draft_size: int | None = None) -> Image.Image:
    """Decode to an upright RGB image, at reduced size for JPEGs when ``draft_size`` is given.

    ``draft`` only ever picks a scale whose result is at least ``draft_size`` on
    both sides, so the later resize still downsamples (no quality loss from
    upsampling). EXIF orientation is applied after drafting because drafting
    needs the still-unloaded file.
    """
    if isinstance(source, Image.Image):
        if draft_size and source.format == "JPEG":
            source.draft("RGB", (draft_size, draft_size))  # no-op once the image is loaded
        return ImageOps.exif_transpose(source).convert("RGB")  # copies: the caller's image stays as it was
    with contextlib.ExitStack() as stack:
        if isinstance(source, (bytes, bytearray, memoryview)):
            fh: Any = io.BytesIO(source)
        elif isinstance(source, (str, Path)):
            fh = stack.enter_context(open(source, "rb"))
        else:
            fh = source
        image: Image.Image = Image.open(fh)
        if draft_size and image.format == "JPEG":
            image.draft("RGB", (draft_size, draft_size))
        image.load()  # the full decode, while the file is open
        # In place and without a no-op convert: each copy of a decoded scan costs
        # as much as a tenth of its decode.
        ImageOps.exif_transpose(image, in_place=True)
        if image.mode != "RGB":
            image = image.convert("RGB")
    return image


class FastEvalTransform:
    """timm's eval transform (resize shorter side, centre crop, to-tensor, normalise), split for speed.

    Per image (in the decode threads) the picture is resized and cropped with
    the same Pillow calls torchvision makes, and stays uint8 HWC: a quarter of
    the bytes to stack and move, and no per-image float tensors. Conversion to
    float and normalisation then happen once per batch in torch, with
    torchvision's operation order (``/255``, ``-mean``, ``/std``), so the model
    input is bit-for-bit what timm's transform gives.

    Built by :meth:`from_timm` only when the timm transform has exactly the
    expected shape; anything else keeps the plain timm transform.
    """

    def __init__(
        self,
        resize_short: int,
        crop: tuple[int, int],
        resample: int,
        mean: Sequence[float],
        std: Sequence[float],
    ) -> None:
        self.resize_short = int(resize_short)
        self.crop_h, self.crop_w = int(crop[0]), int(crop[1])
        self.resample = resample
        self.mean = torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1)
        self.std = torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1)

    @classmethod
    def from_timm(cls, transform: Any) -> FastEvalTransform | None:
        """Read the parameters off timm's ``Compose``; ``None`` when it is not Resize/CenterCrop/ToTensor/Normalize."""
        from torchvision import transforms as T
        from torchvision.transforms.functional import InterpolationMode, pil_modes_mapping

        steps = list(getattr(transform, "transforms", ()))
        if len(steps) != 4:
            return None
        resize, crop, to_tensor, normalize = steps
        if not (
            type(resize) is T.Resize
            and type(crop) is T.CenterCrop
            and isinstance(to_tensor, T.ToTensor)
            and type(normalize) is T.Normalize
        ):
            return None
        size = resize.size if isinstance(resize.size, int) else (resize.size[0] if len(resize.size) == 1 else None)
        crop_h, crop_w = crop.size
        if size is None or resize.max_size is not None or min(crop_h, crop_w) > size:
            return None  # fixed-aspect resizes or padding crops: leave those to torchvision
        if resize.interpolation not in (InterpolationMode.BICUBIC, InterpolationMode.BILINEAR):
            return None
        return cls(size, (crop_h, crop_w), pil_modes_mapping[resize.interpolation], normalize.mean, normalize.std)

    @property
    def spec(self) -> str:
        """Names the per-image preprocessing: equal specs make bit-identical uint8 inputs."""
        return f"r{self.resize_short}c{self.crop_h}x{self.crop_w}m{self.resample}"

    def resized_size(self, width: int, height: int) -> tuple[int, int]:
        """torchvision's size rule: the shorter side becomes ``resize_short``, the longer one is truncated."""
        if width <= height:
            return self.resize_short, int(self.resize_short * height / width)
        return int(self.resize_short * width / height), self.resize_short

    def __call__(self, image: Image.Image) -> torch.Tensor:
        """RGB image -> uint8 tensor (crop_h, crop_w, 3) of the resized, centre-cropped picture."""
        width, height = image.size
        new_w, new_h = self.resized_size(width, height)
        if (new_w, new_h) != (width, height):
            # The whole image, not just the cropped region (resize(box=...)): with a box
            # Pillow may run its two passes in the other order, which rounds the uint8
            # intermediate differently - the vectors would no longer match timm's.
            image = image.resize((new_w, new_h), self.resample)
        top = int(round((new_h - self.crop_h) / 2.0))
        left = int(round((new_w - self.crop_w) / 2.0))
        out = image.crop((left, top, left + self.crop_w, top + self.crop_h))
        return torch.from_numpy(np.array(out, dtype=np.uint8))

    def to_input(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 (n, h, w, 3) -> normalised float32 (n, 3, h, w), channels-last in memory (what the model wants)."""
        x = batch.permute(0, 3, 1, 2).to(torch.float32)
        return x.div_(255).sub_(self.mean.to(x.device)).div_(self.std.to(x.device))

    def to_float(self, image: Image.Image) -> torch.Tensor:
        """One image -> normalised float (3, h, w): the same values timm's transform returns."""
        return self.to_input(self(image)[None])[0]
