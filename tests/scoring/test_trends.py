"""Across runs: medians and percentiles, and a trend from them."""

from __future__ import annotations

import statistics

import pytest

from gameday.scoring.trends import median, percentile


def test_percentiles_match_the_standard_library_inclusive_method() -> None:
    data = [30.0, 45.0, 60.0, 90.0, 600.0, 75.0, 50.0]
    quartiles = statistics.quantiles(data, n=4, method="inclusive")
    assert [percentile(data, q) for q in (25, 50, 75)] == pytest.approx(quartiles)
    assert percentile(data, 0) == 30.0 and percentile(data, 100) == 600.0


def test_one_long_drill_moves_the_median_little_where_a_mean_would_jump() -> None:
    data = [60.0, 70.0, 80.0, 90.0, 3600.0]
    assert median(data) == 80.0
    assert statistics.mean(data) > 700


def test_percentile_outside_0_to_100_is_refused() -> None:
    with pytest.raises(ValueError, match=r"percentile must be within 0\.\.100, got 101"):
        percentile([1.0], 101)
