"""What did a decade look like? Its mean image vector, its most typical and most unusual works.

Pure numpy so the web process can compute it. Cosine distance to the
normalised decade mean: the mean of unit vectors is shorter than unit length,
and only its direction says what the decade "looks like". Ordering is fully
deterministic (distance, then id) so a page shows the same works on every build.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["RankedWork", "DecadeSummary", "decade_of", "summarise_decades"]


@dataclass(frozen=True)
class RankedWork:
    id: Any
    distance: float  # cosine distance to the decade's mean direction, in [0, 2]


@dataclass(frozen=True)
class DecadeSummary:
    decade: int  # first year of the decade, e.g. 1890
    count: int
    mean: np.ndarray  # (d,) float32, mean of the decade's (L2-normalised) embeddings
    typical: list[RankedWork]  # closest first
    outliers: list[RankedWork]  # farthest first


def decade_of(year: int | float) -> int:
    """1899 -> 1890, -5 -> -10 (floor, so BCE years fall in a consistent bucket)."""
    return int(math.floor(float(year) / 10.0) * 10)


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def summarise_decades(
    embeddings: np.ndarray,
    years: Sequence[int | float | None] | np.ndarray,
    ids: Sequence[Any] | np.ndarray,
    *,
    min_works: int = 10,
    n_typical: int = 5,
    n_outliers: int = 5,
    years_are_decades: bool = False,
) -> list[DecadeSummary]:
    """One summary per decade with at least ``min_works`` works, oldest decade first.

    Works without a year (None/NaN) are ignored. When a decade has fewer than
    ``n_typical + n_outliers`` works, outliers are taken from the works not
    already listed as typical, so no work appears twice.
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    ids = list(ids)
    if not (embeddings.shape[0] == len(years) == len(ids)):
        raise ValueError("embeddings, years and ids must have the same length")

    members: dict[int, list[int]] = {}
    for row, year in enumerate(years):
        if year is None or (isinstance(year, float) and math.isnan(year)):
            continue
        if isinstance(year, (np.floating,)) and np.isnan(year):
            continue
        decade = int(year) if years_are_decades else decade_of(year)
        members.setdefault(decade, []).append(row)

    units = _unit(embeddings)
    summaries: list[DecadeSummary] = []
    for decade in sorted(members):
        rows = members[decade]
        if len(rows) < max(1, min_works):
            continue
        block = units[rows]
        mean = block.mean(axis=0)
        direction = _unit(mean)
        distances = 1.0 - block @ direction
        distances = np.clip(distances, 0.0, 2.0)
        order = sorted(range(len(rows)), key=lambda i: (float(distances[i]), ids[rows[i]]))
        typical_pos = order[:n_typical]
        taken = set(typical_pos)
        far_order = sorted(range(len(rows)), key=lambda i: (-float(distances[i]), ids[rows[i]]))
        outlier_pos = [i for i in far_order if i not in taken][:n_outliers]
        summaries.append(
            DecadeSummary(
                decade=decade,
                count=len(rows),
                mean=mean.astype(np.float32),
                typical=[RankedWork(ids[rows[i]], float(distances[i])) for i in typical_pos],
                outliers=[RankedWork(ids[rows[i]], float(distances[i])) for i in outlier_pos],
            )
        )
    return summaries
