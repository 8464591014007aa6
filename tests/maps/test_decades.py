"""Decade summaries: mean look, most typical and most unusual works."""

from __future__ import annotations

import numpy as np
import pytest

from maps.decades import decade_of, summarise_decades


@pytest.fixture(autouse=True)
def s3_storage() -> None:
    """Pure algorithm tests store nothing: skip the project-wide S3 bucket per test."""
    return None


E1, E2, E3, E4 = np.eye(4)


def _constructed_case() -> tuple[np.ndarray, list[int | None], list[int]]:
    """1890s: three identical works along E1, one slightly off, one orthogonal, one opposite."""
    slanted = (E1 + 0.2 * E4) / np.linalg.norm(E1 + 0.2 * E4)
    embeddings = np.array([E1, E1, E1, slanted, E2, -E1, E1, E3])
    years = [1891, 1899, 1890, 1895, 1893, 1897, 1905, None]
    ids = [3, 1, 2, 4, 5, 6, 7, 8]
    return embeddings, years, ids


def test_years_fall_into_the_decade_they_start_with() -> None:
    assert decade_of(1899) == 1890
    assert decade_of(1900) == 1900
    assert decade_of(-5) == -10


def test_it_finds_the_typical_and_the_outlying_works_of_a_decade() -> None:
    embeddings, years, ids = _constructed_case()
    (nineties,) = summarise_decades(embeddings, years, ids, min_works=3, n_typical=2, n_outliers=2)
    assert nineties.decade == 1890
    assert nineties.count == 6
    # three identical works along E1 are the most typical; the tie goes to the lower id
    assert [w.id for w in nineties.typical] == [1, 2]
    assert nineties.typical[0].distance == nineties.typical[1].distance
    # the work opposite the decade's look is the farthest, then the orthogonal one
    assert [w.id for w in nineties.outliers] == [6, 5]
    assert [round(w.distance, 2) for w in nineties.outliers] == [1.95, 0.68]
    assert nineties.outliers[0].distance > nineties.outliers[1].distance


def test_distances_are_cosine_distances_to_the_normalised_mean() -> None:
    embeddings, years, ids = _constructed_case()
    (nineties,) = summarise_decades(embeddings, years, ids, min_works=3, n_typical=6, n_outliers=0)
    rows = embeddings[:6]
    mean = rows.mean(axis=0)
    np.testing.assert_allclose(nineties.mean, mean, rtol=1e-6)
    direction = mean / np.linalg.norm(mean)
    expected = sorted(1 - rows @ direction)
    assert [w.distance for w in nineties.typical] == pytest.approx(expected)


def test_decades_with_too_few_works_and_works_without_a_year_are_left_out() -> None:
    embeddings, years, ids = _constructed_case()
    summaries = summarise_decades(embeddings, years, ids, min_works=1)
    assert [s.decade for s in summaries] == [1890, 1900]
    assert summaries[1].count == 1
    assert summarise_decades(embeddings, years, ids, min_works=7) == []


def test_a_small_decade_never_lists_a_work_as_both_typical_and_outlier() -> None:
    embeddings, years, ids = _constructed_case()
    (nineties,) = summarise_decades(embeddings, years, ids, min_works=3, n_typical=4, n_outliers=4)
    typical = {w.id for w in nineties.typical}
    outliers = {w.id for w in nineties.outliers}
    assert typical.isdisjoint(outliers)
    assert typical | outliers == {1, 2, 3, 4, 5, 6}


def test_precomputed_decades_are_taken_as_they_are() -> None:
    embeddings, _, ids = _constructed_case()
    decades = [1890] * 6 + [1900, 1900]
    summaries = summarise_decades(embeddings, decades, ids, min_works=2, years_are_decades=True)
    assert [(s.decade, s.count) for s in summaries] == [(1890, 6), (1900, 2)]
