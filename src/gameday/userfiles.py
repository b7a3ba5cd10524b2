"""Reading a file a person named: only a regular file, and never more than a bound, whatever it claims to be.

``/dev/zero`` reports a size of 0 and never ends; a FIFO blocks its reader until a writer comes; ``/proc``
files report 0 and hold more. So the file is opened without blocking, checked on the open descriptor (no
race with a rename), and read up to a limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from gameday.errors import UnreadableFile

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_regular_file(path: Path, *, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of ``path`` (so a caller sees it is too large); UnreadableFile with the reason."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise UnreadableFile("file not found", path=path) from None
    except IsADirectoryError:
        raise UnreadableFile("not a regular file: a directory", path=path) from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror or exc}", path=path) from None
    except ValueError:  # a NUL in the name
        raise UnreadableFile("not a file name: it holds a NUL character", path=path) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "a special file")
            raise UnreadableFile(f"not a regular file: {kind}", path=path)
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror or exc}", path=path) from None
    finally:
        os.close(fd)


def regular_file_problem(path: Path) -> str | None:
    """Why ``path`` is not a readable regular file (``None`` when it is), without opening it: for names checked
    now and read later by someone else (a locustfile Locust reads, a runbook a drill follows)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "not found"
    except OSError as exc:  # a name too long for the filesystem, a folder we may not enter
        return exc.strerror or str(exc)
    except ValueError:
        return "not a file name: it holds a NUL character"
    if not stat.S_ISREG(mode):
        return "not a regular file: " + next((name for test, name in _KINDS if test(mode)), "a special file")
    return None
