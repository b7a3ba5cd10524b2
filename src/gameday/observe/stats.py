"""Percentiles of response-time histograms, shared by the Locust child (per second) and the report (per phase)."""

from __future__ import annotations

import math


def hist_percentile(hist: dict[int, int], fraction: float) -> float | None:
    """Nearest-rank percentile of a histogram {value: count}; None when empty."""
    total = sum(hist.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(fraction * total - 1e-9))
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return float(value)
    return float(max(hist))
