"""Durations in words, as every scorecard, report and trend table writes them."""

from __future__ import annotations


def format_seconds(seconds: float | None) -> str:
    """Short human form: ``45 s``, ``2 min 05 s``, ``1 h 10 min``; ``-`` when unknown.

    Metrics never hand it a negative span (an end that came before its start is said in words, see
    ``metrics.Interval``); a negative value from elsewhere keeps its sign rather than being hidden.
    """
    if seconds is None:
        return "-"
    value = float(seconds)
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value < 60:
        return f"{sign}{value:.0f} s"
    minutes, secs = divmod(round(value), 60)
    return f"{sign}{minutes} min {secs:02d} s" if minutes < 60 else f"{sign}{minutes // 60} h {minutes % 60:02d} min"
