"""Argument types that refuse bad values at the command line, with argparse's one-line error and exit 2."""

from __future__ import annotations

import argparse
import math
import re
from datetime import UTC, date, datetime
from pathlib import Path

from gameday.clock import iso

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # fullmatch: '$' would let a trailing newline in


def run_id(text: str) -> str:
    """A run id names a folder under --reports: no path separators, no leading dot, at most 128 characters."""
    if not _RUN_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text[:140]!r} is not a run id (1 to 128 letters, digits, '.', '_', '-'; no '/')")
    return text


def action_item(text: str) -> tuple[str, int]:
    """``RUN_ID:N`` as `gameday action-items` lists them: N in ASCII digits (``²`` and ``\u0661`` are digits to
    Python's ``isdigit``), small enough for a database integer."""
    run, _, number = text.rpartition(":")
    if not _RUN_ID.fullmatch(run) or not re.fullmatch(r"[0-9]{1,6}", number) or int(number) < 1:
        raise argparse.ArgumentTypeError(f"{text[:140]!r} is not RUN_ID:N (N as `gameday action-items` lists it)")
    return run, int(number)


def history(text: str) -> str:
    """A ``postgresql://`` URL, or a SQLite file in a folder that exists: a typo in the folder would otherwise
    create folders and an empty database and show an empty history (only the default folder is created)."""
    if text.startswith(("postgresql://", "postgres://")):
        return text
    folder = Path(text).parent
    try:
        exists = folder.is_dir()
    except (OSError, ValueError):  # a name too long, a NUL
        exists = False
    if not exists or not text.strip():
        raise argparse.ArgumentTypeError(f"{text[:140]!r}: the folder {str(folder)[:140]!r} does not exist "
                                         "(create it first; only the default reports/ is created for you)")
    return text


def port(text: str) -> int:
    """A TCP port, or 0 for one the system picks."""
    if not re.fullmatch(r"[0-9]{1,5}", text) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a port (0 to 65535)")
    return int(text)


def utc_time(text: str) -> str:
    """``2026-10-01`` or ``2026-10-01T12:00[Z]`` as history compares it: a date as is, a time in UTC."""
    cleaned = text.strip()
    try:
        if len(cleaned) == 10:
            return date.fromisoformat(cleaned).isoformat()
        moment = datetime.fromisoformat(cleaned)  # Python 3.11 reads a trailing Z
        return iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    except (ValueError, OverflowError):  # OverflowError: 9999-12-31T23:59-14:00 is past the last day in UTC
        raise argparse.ArgumentTypeError(f"{text[:60]!r} is not a UTC date or time (e.g. 2026-10-01 or 2026-10-01T12:00Z)") from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number of 1 or more")
    if value > 10_000:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is more than 10000")
    return value


def row_limit(text: str) -> int:
    """How many rows a listing shows: 0 for all of them."""
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number of rows (0 for all)")
    return int(text)


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


MAX_SPEED = 10_000.0
"""The fastest scenario clock `gameday facilitate --speed` accepts."""


def speed(text: str) -> float:
    """How many times faster a tabletop's scenario clock runs: above 0, at most ``MAX_SPEED``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= MAX_SPEED:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"speed must be > 0 and <= {MAX_SPEED:g}, got {text}")
    return value
