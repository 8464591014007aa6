"""Screenshot analysis for the browser tests: find a work's colour among the canvas's pixels."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def canvas_pixels(page, selector: str = "#map-canvas", name: str | None = None) -> np.ndarray:
    """The element's pixels as an (h, w, 3) array; also saved as a test artefact when named."""
    png = page.locator(selector).screenshot()
    if name:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"{name}.png").write_bytes(png)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def colour_area(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int = 28) -> int:
    """How many pixels are within `tolerance` (per channel) of the colour."""
    diff = np.abs(pixels - np.asarray(colour, dtype=np.int16)).max(axis=2)
    return int((diff <= tolerance).sum())


def colour_centre(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int = 28) -> tuple[float, float] | None:
    diff = np.abs(pixels - np.asarray(colour, dtype=np.int16)).max(axis=2)
    ys, xs = np.nonzero(diff <= tolerance)
    if len(xs) == 0:
        return None
    return float(xs.mean()), float(ys.mean())


def wait_for_map(page, timeout: float = 30_000) -> None:
    page.wait_for_function("document.querySelector('#map-canvas')?.dataset.ready === 'true'", timeout=timeout)
    # Let the frame with the last uploaded sheet reach the screen.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
