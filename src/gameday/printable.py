"""Text from users and files, made safe to show on a terminal: one line, no control characters, bounded.

A scenario, a runbook or a history row may hold ESC or BEL (which set a window title or clear the screen),
newlines (which fake a second message) or half a megabyte in one value. Everything gameday echoes of such
text goes through ``printable``; what goes to rich also through ``markup_safe``, so ``[/bold]`` in an
action item is shown, not parsed.
"""

from __future__ import annotations

import re

LINE_LIMIT = 400
"""A message longer than this loses its middle: the start says where and what, the end says why."""

# C0 and C1 controls, DEL, and the Unicode bidi and line/paragraph separators that reorder or break a line.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(text: object, *, limit: int | None = LINE_LIMIT) -> str:
    """``text`` on one line with every control character escaped (``\\x1b``), cut in the middle past ``limit``."""
    shown = _UNSAFE.sub(_escape, str(text))
    if limit is not None and len(shown) > limit:
        head, tail = limit * 2 // 3, limit // 4
        shown = f"{shown[:head]}...[{len(shown) - head - tail} characters left out]...{shown[-tail:]}"
    return shown


def markup_safe(text: object, *, limit: int | None = LINE_LIMIT) -> str:
    """``printable(text)`` for rich: square brackets are escaped, so user text is never read as markup."""
    from rich.markup import escape

    return escape(printable(text, limit=limit))
