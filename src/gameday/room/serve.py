"""Serving the room with uvicorn until Ctrl-C, SIGTERM or SIGHUP, and then returning (never dying by them).

uvicorn re-raises the signal it caught once it has shut down, which ends the process there and then; the
room must outlive its server instead, to stop a drill still running and revert its faults (``Room.close``).
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import uvicorn

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class RoomServer(uvicorn.Server):
    """A uvicorn server that notes the signal that stopped it (``signalled``) instead of re-raising it, and
    calls ``on_exit`` first (the room ends its event streams, which would otherwise be cancelled mid-write)."""

    signalled: str | None = None

    def __init__(self, config: uvicorn.Config, *, on_exit: Callable[[], None] = lambda: None) -> None:
        super().__init__(config)
        self.on_exit = on_exit

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self._on_signal) for sig in HANDLED}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.should_exit and signum == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: stop waiting for open connections
        self.signalled = signal.Signals(signum).name
        self.on_exit()
        self.should_exit = True


def serve(app: Any, sock: socket.socket) -> str | None:
    """Serve ``app`` (create_app's) on the listening ``sock`` until a signal; the signal's name."""
    server = RoomServer(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                       timeout_graceful_shutdown=3), on_exit=app.state.close_streams)
    server.run(sockets=[sock])
    return server.signalled
