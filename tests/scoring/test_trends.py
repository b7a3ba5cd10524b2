"""Across runs: medians and percentiles, and a trend from them."""

from __future__ import annotations

import statistics

import pytest

from gameday.scoring.trends import distribution, median, metric_values, percentile, rating_counts, trend


def test_percentiles_match_the_standard_library_inclusive_method() -> None:
    data = [30.0, 45.0, 60.0, 90.0, 600.0, 75.0, 50.0]
    quartiles = statistics.quantiles(data, n=4, method="inclusive")
    assert [percentile(data, q) for q in (25, 50, 75)] == pytest.approx(quartiles)
    assert percentile(data, 0) == 30.0 and percentile(data, 100) == 600.0


def test_one_long_drill_moves_the_median_little_where_a_mean_would_jump() -> None:
    data = [60.0, 70.0, 80.0, 90.0, 3600.0]
    assert median(data) == 80.0
    assert statistics.mean(data) > 700


def test_distribution_skips_runs_that_did_not_reach_the_metric() -> None:
    d = distribution([10.0, None, 30.0, 20.0])
    assert (d.count, d.median, d.minimum, d.maximum) == (3, 20.0, 10.0, 30.0)
    assert distribution([]).median is None


def test_trend_compares_recent_median_with_earlier_median() -> None:
    assert trend("ttd", [300, 280, 320, 120, 100, 110]).direction == "improving"
    assert trend("ttd", [100, 110, 90, 300, 280, 320]).direction == "worsening"
    assert trend("ttd", [100, 100, 105, 98]).direction == "steady"
    assert trend("ttd", [100]).direction == "not enough runs"


def test_values_and_rating_counts_read_scorecard_json() -> None:
    cards = [
        {"metrics": {"intervals": {"time_to_detect": {"seconds": 120.0}}},
         "capabilities": [{"id": "triage", "rating": "P"}]},
        {"metrics": {"intervals": {"time_to_detect": {"seconds": None}}},
         "capabilities": [{"id": "triage", "rating": None}]},
    ]
    assert metric_values(cards, "time_to_detect") == [120.0, None]
    assert rating_counts(cards)["triage"] == {"P": 1, "S": 0, "M": 0, "U": 0, "not rated": 1}


def test_percentile_outside_0_to_100_is_refused() -> None:
    with pytest.raises(ValueError):
        percentile([1.0], 101)
