"""Leaving a finished command's process without the interpreter's teardown.

When ``main`` returns, everything the command does is done and written: what is left is CPython freeing
each of the ~450 modules a run imported (pydantic's, Jinja2's, rich's), 25-60 ms of CPU at every `gameday
validate` or `gameday run` on this machine (issue 19: start-up cost against Chaos Toolkit). The process
leaves with ``os._exit`` instead, after what an ordinary exit does that matters: standard output and error
flushed, and the ``atexit`` handlers run (a load observer's, logging's, coverage's in a test). The ordinary
exit is kept where it does more: another non-daemon thread still running (it waits for it), or a stream
that cannot be flushed (it reports that).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn


def leave(code: int) -> NoReturn:
    """End this process with ``code``: at once when nothing but the teardown is left to do."""
    others = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    if others or threading.current_thread() is not threading.main_thread():
        raise SystemExit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe or stream: the ordinary exit says so, as it always did
        raise SystemExit(code) from None
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()  # what a handler printed
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # the handlers have run; the ordinary exit would run them twice
    os._exit(code)
