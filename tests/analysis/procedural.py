"""A generated, labelled image set for tests and benches.

Real labelled collections cannot be downloaded here, and a fine-tuning test needs
a task where ImageNet features are *not* already perfect: otherwise "fine-tuning
improved the embedding" cannot be observed. The classes therefore differ only in
the texture/composition of a patch (stripes, dots, checker, gradient, waves),
while the nuisances that dominate generic features - palette, background noise,
patch position and size, distracting motif shapes - are random and shared by
all classes. The motif shapes double as a multi-label field (``motifs``).

Everything is driven by one seed so tests are reproducible.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

__all__ = ["STYLES", "MOTIFS", "ProceduralSet", "render_image", "generate_procedural_set"]

STYLES: tuple[str, ...] = ("stripes", "dots", "checker", "gradient", "waves")
MOTIFS: tuple[str, ...] = ("circle", "triangle", "square")


@dataclass(frozen=True)
class ProceduralSet:
    """Where the set was written; ``labels_csv`` has columns ``image,style,motifs``."""

    root: Path
    classes: tuple[str, ...]
    labels_csv: Path
    count: int


def _palette(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 3)).astype(np.float32)


def _pattern(style: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A mask in [0, 1] of shape (size, size) whose structure is the class signal."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angle = rng.uniform(0, math.pi)
    u = xx * math.cos(angle) + yy * math.sin(angle)
    v = -xx * math.sin(angle) + yy * math.cos(angle)
    freq = rng.uniform(3, 9)
    phase = rng.uniform(0, 2 * math.pi)
    if style == "stripes":
        return (np.sin(2 * math.pi * freq * u + phase) > rng.uniform(-0.4, 0.4)).astype(np.float32)
    if style == "dots":
        cu = np.sin(2 * math.pi * freq * u + phase)
        cv = np.sin(2 * math.pi * freq * v + phase)
        return ((cu + 1) * (cv + 1) > rng.uniform(1.8, 2.8)).astype(np.float32)
    if style == "checker":
        cu = np.sign(np.sin(2 * math.pi * freq * u + phase))
        cv = np.sign(np.sin(2 * math.pi * freq * v + phase))
        return (cu * cv > 0).astype(np.float32)
    if style == "gradient":
        g = (u - u.min()) / max(float(u.max() - u.min()), 1e-6)
        return g ** rng.uniform(0.5, 2.0)
    if style == "waves":
        warp = 0.08 * np.sin(2 * math.pi * rng.uniform(1.5, 3) * v + phase)
        return (np.sin(2 * math.pi * freq * (u + warp)) > 0).astype(np.float32) * 0.5 + 0.5 * (
            np.sin(2 * math.pi * freq * 0.5 * (u + warp)) > 0
        )
    raise ValueError(f"unknown style {style!r}")


def render_image(
    style: str,
    motifs: tuple[str, ...],
    size: int,
    rng: np.random.Generator,
    contrast_range: tuple[float, float] = (0.2, 0.7),
) -> Image.Image:
    """One RGB image: noisy background, a patterned patch of ``style``, and motif shapes."""
    colours = _palette(rng, 4)
    # Background: smooth colour noise so every image has texture, not just the patch.
    low = rng.random((6, 6, 3)).astype(np.float32)
    background = np.asarray(
        Image.fromarray((low * 255).astype(np.uint8)).resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32
    )
    background = 0.5 * background + 0.5 * colours[3]

    patch_size = int(size * rng.uniform(0.45, 0.85))
    mask = _pattern(style, patch_size, rng)[..., None]
    # Low, random contrast between the two pattern colours: the texture must be
    # looked for, it does not jump out the way the palette does.
    contrast = rng.uniform(*contrast_range)
    second = colours[0] + contrast * (colours[1] - colours[0])
    patch = mask * colours[0] + (1 - mask) * second
    x0 = int(rng.integers(0, size - patch_size + 1))
    y0 = int(rng.integers(0, size - patch_size + 1))
    canvas = background.copy()
    alpha = rng.uniform(0.7, 1.0)
    region = canvas[y0 : y0 + patch_size, x0 : x0 + patch_size]
    canvas[y0 : y0 + patch_size, x0 : x0 + patch_size] = alpha * patch + (1 - alpha) * region
    canvas += rng.normal(0, rng.uniform(2, 10), size=canvas.shape)
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8), "RGB")

    draw = ImageDraw.Draw(image)
    for motif in motifs:
        r = size * rng.uniform(0.08, 0.16)
        cx, cy = rng.uniform(r, size - r, size=2)
        fill = tuple(int(c) for c in rng.integers(0, 256, size=3))
        if motif == "circle":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
        elif motif == "square":
            draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=fill)
        elif motif == "triangle":
            draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)
        else:
            raise ValueError(f"unknown motif {motif!r}")
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 1.2))))
    return image


def generate_procedural_set(
    root: str | Path,
    per_class: int = 60,
    size: int = 160,
    seed: int = 0,
    styles: tuple[str, ...] = STYLES,
    quality_range: tuple[int, int] = (75, 95),
    contrast_range: tuple[float, float] = (0.2, 0.7),
) -> ProceduralSet:
    """Write ``root/<style>/<style>_<i>.jpg`` plus ``root/labels.csv`` and return where they are.

    Folder-per-class suits :func:`analysis.training.load_image_folder`; the CSV (with
    a ``|``-separated multi-label ``motifs`` column) suits ``load_labelled_csv``.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str, str]] = []
    for style in styles:
        (root / style).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            present = tuple(m for m in MOTIFS if rng.random() < 0.4)
            image = render_image(style, present, size, rng, contrast_range)
            rel = f"{style}/{style}_{i:04d}.jpg"
            image.save(root / rel, "JPEG", quality=int(rng.integers(*quality_range)))
            rows.append((rel, style, "|".join(present)))
    labels_csv = root / "labels.csv"
    with labels_csv.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["image", "style", "motifs"])
        writer.writerows(rows)
    return ProceduralSet(root=root, classes=tuple(styles), labels_csv=labels_csv, count=len(rows))
