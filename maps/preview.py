"""A small picture of a map build for the curators' dashboard: its points as dots in their clusters' colours.

Drawn from coordinates alone, so it costs one query and no thumbnail reads however large the map,
and tells a curator at a glance whether a build came out as separated groups or as one blob.
Plain numpy and Pillow; the stored copy and its key are :mod:`maps.dashboard`'s.
"""

from __future__ import annotations

import colorsys
import io

import numpy as np
from PIL import Image

# Bumped when the drawing changes, so stored previews of earlier drawings are not served for it.
PREVIEW_VERSION = 1
PREVIEW_SIZE = 240
NOISE_COLOUR = (170, 170, 170)
_MARGIN = 6


def cluster_colour(label: int | None) -> tuple[int, int, int]:
    """A stable, well-spread colour per cluster label (golden-ratio hues); grey for points in no cluster."""
    if label is None or label < 0:
        return NOISE_COLOUR
    hue = (label * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.85)
    return int(r * 255), int(g * 255), int(b * 255)


def render_preview(coords: np.ndarray, clusters: np.ndarray, *, size: int = PREVIEW_SIZE) -> bytes:
    """PNG of the points scaled into a ``size`` square (aspect kept), dots of 1 to 7 px, smaller as the map fills.

    ``clusters`` holds each point's cluster label, -1 for none. Points in no cluster are drawn first,
    so the groups stay readable on top of them.
    """
    image = np.full((size, size, 3), 255, dtype=np.uint8)
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    clusters = np.asarray(clusters, dtype=np.int64).reshape(-1)
    if len(coords):
        low, high = coords.min(axis=0), coords.max(axis=0)
        span = float(max((high - low).max(), 1e-9))
        inner = size - 2 * _MARGIN
        centre_offset = (inner - (high - low) / span * inner) / 2
        pixels = ((coords - low) / span * inner + centre_offset + _MARGIN).round().astype(np.int64)
        pixels[:, 1] = size - 1 - pixels[:, 1]  # y up, as on the public map
        radius = 1 if len(coords) > 2000 else 2 if len(coords) > 200 else 4
        for label in _labels_in_order(clusters):
            colour = np.array(cluster_colour(int(label)), dtype=np.uint8)
            xy = pixels[clusters == label]
            for dx in range(-radius + 1, radius):
                for dy in range(-radius + 1, radius):
                    xs = np.clip(xy[:, 0] + dx, 0, size - 1)
                    ys = np.clip(xy[:, 1] + dy, 0, size - 1)
                    image[ys, xs] = colour
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", optimize=True)
    return out.getvalue()


def _labels_in_order(labels: np.ndarray) -> list[int]:
    """Distinct labels, noise (negative) first."""
    distinct = sorted({int(v) for v in labels})
    return [v for v in distinct if v < 0] + [v for v in distinct if v >= 0]
