"""Argument types that refuse bad values at the command line, with argparse's one-line error and exit 2."""

from __future__ import annotations

import argparse
import math
import re
from datetime import UTC, date, datetime

from gameday.clock import iso

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def run_id(text: str) -> str:
    """A run id names a folder under --reports: no path separators, no leading dot."""
    if not _RUN_ID.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a run id (letters, digits, '.', '_', '-'; no '/')")
    return text


def utc_time(text: str) -> str:
    """``2026-10-01`` or ``2026-10-01T12:00[Z]`` as history compares it: a date as is, a time in UTC."""
    cleaned = text.strip()
    try:
        if len(cleaned) == 10:
            return date.fromisoformat(cleaned).isoformat()
        moment = datetime.fromisoformat(cleaned)  # Python 3.11 reads a trailing Z
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a UTC date or time (e.g. 2026-10-01 or 2026-10-01T12:00Z)") from None
    return iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


def _seconds(text: str, *, zero_ok: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        bound = "of 0 or more" if zero_ok else "above 0"
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds {bound}")
    return value


def positive_seconds(text: str) -> float:
    """A duration in seconds: finite and above zero (``nan``, ``inf``, ``0`` and ``-5`` are refused)."""
    return _seconds(text, zero_ok=False)


def seconds(text: str) -> float:
    """A wait in seconds that may be 0 (look once, do not wait); never negative or non-finite."""
    return _seconds(text, zero_ok=True)
