"""Across runs: medians and percentiles, never means (incident durations are skewed; one long drill
would drag a mean far from what a typical drill looks like).

Percentiles use linear interpolation between closest ranks (the method numpy calls "linear" and
Python's ``statistics.quantiles`` calls "inclusive"), so the 50th percentile equals the median.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


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
    """The 50th percentile: what a typical run looks like."""
    return percentile(values, 50)
