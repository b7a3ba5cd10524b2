"""Across runs: medians and percentiles, never means (incident durations are skewed; one long drill
would drag a mean far from what a typical drill looks like).

Percentiles use linear interpolation between closest ranks (the method numpy calls "linear" and
Python's ``statistics.quantiles`` calls "inclusive"), so the 50th percentile equals the median.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gameday.scoring.scorecard import POINTS


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0..100) of the values, None when there are none."""
    data = sorted(float(v) for v in values if v is not None and not math.isnan(float(v)))
    if not data:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    rank = (len(data) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return data[low] + (data[high] - data[low]) * (rank - low)


def median(values: Iterable[float]) -> float | None:
    return percentile(values, 50)


@dataclass(frozen=True)
class Distribution:
    count: int
    median: float | None
    p25: float | None
    p75: float | None
    p90: float | None
    minimum: float | None
    maximum: float | None


def distribution(values: Iterable[float | None]) -> Distribution:
    data = [float(v) for v in values if v is not None]
    return Distribution(
        count=len(data),
        median=median(data),
        p25=percentile(data, 25),
        p75=percentile(data, 75),
        p90=percentile(data, 90),
        minimum=min(data) if data else None,
        maximum=max(data) if data else None,
    )


@dataclass(frozen=True)
class Trend:
    """Median of the earlier runs against the median of the recent ones (lower is better for times)."""

    metric: str
    values: list[float | None]
    earlier_median: float | None
    recent_median: float | None
    direction: str
    """improving | worsening | steady | not enough runs"""


def trend(metric: str, values: Sequence[float | None], *, recent: int = 3, tolerance: float = 0.1) -> Trend:
    """Compare the median of the last ``recent`` runs with the median of the runs before them.

    A change within ``tolerance`` (a fraction of the earlier median) is steady. Runs that did not reach
    the metric (None) are left out of the medians but kept in ``values`` so a chart shows the gap.
    """
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return Trend(metric, list(values), None, None, "not enough runs")
    take = min(recent, len(known) - 1)
    earlier, latest = known[:-take], known[-take:]
    before, now = median(earlier), median(latest)
    assert before is not None and now is not None
    if abs(now - before) <= tolerance * abs(before):
        direction = "steady"
    else:
        direction = "improving" if now < before else "worsening"
    return Trend(metric, list(values), before, now, direction)


def metric_values(scorecards: Sequence[Mapping[str, Any]], interval: str) -> list[float | None]:
    """One interval's seconds from each run's ``scorecard.json`` (as dicts), in run order."""
    out: list[float | None] = []
    for card in scorecards:
        value = ((card.get("metrics") or {}).get("intervals") or {}).get(interval) or {}
        seconds = value.get("seconds")
        out.append(float(seconds) if isinstance(seconds, (int, float)) else None)
    return out


def rating_counts(scorecards: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """For each capability, how many runs were rated P, S, M, U or not rated."""
    counts: dict[str, dict[str, int]] = {}
    for card in scorecards:
        for cap in card.get("capabilities") or []:
            rating = cap.get("rating") or "not rated"
            bucket = counts.setdefault(str(cap.get("id")), {k: 0 for k in (*POINTS, "not rated")})
            bucket[rating] = bucket.get(rating, 0) + 1
    return counts
