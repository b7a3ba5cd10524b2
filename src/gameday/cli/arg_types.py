"""Argument types that refuse bad values at the command line, with argparse's one-line error and exit 2."""

from __future__ import annotations

import argparse
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
