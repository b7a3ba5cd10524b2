"""Turn Ctrl-C, SIGTERM and SIGHUP into RunInterrupted, except while a revert is running.

A revert is never cut short by a signal: inside ``shield()`` a signal is noted and raised when the
shield is left. Once the run is winding down (``disarm()``), signals are only noted: the reverts
in progress are exactly what the user asked for. Only the first signal interrupts.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import Self

from gameday.errors import RunInterrupted

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class SignalGuard:
    def __init__(self) -> None:
        self.received: str | None = None
        self.armed = True
        self._raised = False
        self._shield_depth = 0
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            for sig in HANDLED:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = self.received or signal.Signals(signum).name
        if self._shield_depth == 0:
            self._maybe_raise()

    def _maybe_raise(self) -> None:
        if self.received and self.armed and not self._raised:
            self._raised = True
            raise RunInterrupted(self.received)

    def disarm(self) -> None:
        """From now on signals are noted, never raised."""
        self.armed = False

    @contextlib.contextmanager
    def shield(self) -> Iterator[None]:
        self._shield_depth += 1
        try:
            yield
        finally:
            self._shield_depth -= 1
        if self._shield_depth == 0 and sys.exc_info()[0] is None:
            self._maybe_raise()


class NoGuard(SignalGuard):
    """For runs outside the main thread (the pytest plugin, parallel CI): signals stay with the caller."""

    def __enter__(self) -> Self:
        return self
