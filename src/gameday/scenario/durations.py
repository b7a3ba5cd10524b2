"""Durations as people write them in scenarios: ``90s``, ``5m``, ``1h30m``, ``250ms``."""

from __future__ import annotations

import re

DURATION_PATTERN = r"^\s*(?:\d+(?:\.\d+)?\s*(?:ms|h|m|s)\s*)+$"
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|h|m|s)")
_WHOLE = re.compile(DURATION_PATTERN)
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
LONGEST = 366 * 24 * 3600.0
"""No game day needs a longer duration; a longer one is a typo (and a huge one would not even be a number)."""


def parse_duration(value: object) -> float:
    """Seconds in a duration string; raises ValueError with a message fit for a user."""
    if isinstance(value, bool) or not isinstance(value, str):
        # ValueError, not TypeError: pydantic turns a ValueError from a validator into a located field error.
        raise ValueError(f"expected a duration such as 90s, 5m or 1h30m, got {value!r}")  # noqa: TRY004
    text = value.strip()
    if text.startswith("-"):
        raise ValueError(f"duration must not be negative, got {value!r}")
    if not _WHOLE.match(text):
        raise ValueError(f"cannot parse duration {value!r}: use units ms, s, m, h as in 90s, 5m or 1h30m")
    seconds = sum(float(n) * _SECONDS[unit] for n, unit in _PART.findall(text))
    if not seconds <= LONGEST:  # also catches inf from a number too big for a float
        raise ValueError(f"duration {value!r} is longer than a year")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest readable form: 0.25 -> 250ms, 90 -> 1m30s."""
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = round(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    parts = [f"{h}h" if h else "", f"{m}m" if m else "", f"{s}s" if s or not (h or m) else ""]
    return "".join(parts)
