"""Sizes as people write them in scenarios: ``64MB``, ``1.5GiB``, ``512KiB``, ``4096`` (bytes).

Decimal units are powers of 1000 (KB, MB, GB, TB), binary units powers of 1024 (KiB, MiB, GiB, TiB),
as in IEC 80000-13 and Kubernetes; units are case-insensitive and always mean bytes.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

SIZE_PATTERN = r"^\s*\d+(?:\.\d+)?\s*(?:[kKmMgGtT](?:[iI])?[bB]|[bB])?\s*$"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$", re.IGNORECASE)
_FACTOR = {
    "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}
LARGEST = 1024**5
"""No disk a game day fills holds a PiB; a larger size is a typo (and a 400-digit one is no float at all)."""


def parse_size(value: object) -> int:
    """Bytes in a size string (or a non-negative whole number of bytes); ValueError fit for a user."""
    # ValueError, not TypeError: pydantic turns only ValueError into a located validation message.
    if isinstance(value, bool):
        raise ValueError(f"expected a size such as 64MB or 512MiB, got {value!r}")  # noqa: TRY004
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"size must not be negative, got {value}")
        if value > LARGEST:
            raise ValueError("size is larger than 1024 TiB")
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a size such as 64MB or 512MiB, got {value!r}")  # noqa: TRY004
    if value.strip().startswith("-"):
        raise ValueError(f"size must not be negative, got {value!r}")
    match = _SIZE.match(value)
    if not match:
        raise ValueError(f"cannot parse size {value!r}: use a number with B, KB, MB, GB, TB, KiB, MiB, GiB or TiB")
    number, unit = match.groups()
    size = float(number) * _FACTOR[(unit or "b").lower()]
    if not size <= LARGEST:  # also catches inf from a number too big for a float
        raise ValueError(f"size {value!r} is larger than 1024 TiB")
    return int(size)


def format_size(n: float | None) -> str:
    """Readable binary size, e.g. ``31.8 MiB``; ``-`` for unknown."""
    if n is None:
        return "-"
    value = float(n)
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{sign}{value:.0f} {unit}" if unit == "B" else f"{sign}{value:.1f} {unit}"
        value /= 1024
    return f"{sign}{value:.1f} TiB"  # pragma: no cover - loop always returns


Size = Annotated[
    int,
    BeforeValidator(parse_size),
    WithJsonSchema({"type": ["string", "integer"], "pattern": SIZE_PATTERN, "examples": ["64MB", "512MiB", 4096]}),
]
"""A size in bytes, written in the file as ``64MB``, ``512MiB`` or a whole number of bytes."""
