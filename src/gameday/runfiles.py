"""Writing into a run folder: never through a link.

A run folder can be copied off another machine, unpacked from an archive or prepared by someone else, so a
``report.md`` in it may be a symbolic link to a file anywhere (``~/.bashrc``). ``write_file`` writes a new
file beside it and renames it into place, which replaces a link instead of following it; ``open_append``
refuses to open a link at all. Every writer of a file in a run folder goes through one of the two.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from gameday.errors import GamedayError

_LINK = "it is a symbolic link; gameday never writes through one"


def _not_a_file(path: Path) -> str | None:
    """Why nothing can be written at ``path`` (a folder stands there), without following a link."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc.strerror or str(exc)
    if stat.S_ISDIR(mode):
        return "it is a folder, not a file (move it away and try again)"
    return None


def write_file(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` (text is UTF-8): a new file renamed into place, so a reader never sees
    half of it and a link standing at ``path`` is replaced, never written through. ``GamedayError`` in one
    line when it cannot be written."""
    problem = _not_a_file(path)
    if problem:
        raise GamedayError(f"cannot write {path}: {problem}")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise GamedayError(f"cannot write {path}: {_not_a_file(path) or exc.strerror or exc}") from None


def open_append(path: Path) -> int:
    """A descriptor appending to ``path`` (created if missing); ``OSError`` saying so when it is a link."""
    try:
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, _LINK, str(path)) from None
        raise


def open_new(path: Path) -> int:
    """A descriptor writing ``path`` from empty (a log); ``OSError`` when a link stands there."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, _LINK, str(path)) from None
        raise
