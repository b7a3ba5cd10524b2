"""The room's safety checks, kept apart from the web framework so each is a plain function to test.

- Tokens: ``secrets.token_urlsafe``; a presented token is compared with every known one by
  ``hmac.compare_digest`` (no early exit), so the time taken says nothing about how close a guess was.
- CSRF: a state-changing request must carry the identity's own CSRF value in a header (a page of another
  site cannot set one without a CORS preflight, which the room never answers), a JSON body, and an
  ``Origin``, when the browser sends one, of the room itself. The cookies are also ``SameSite=Strict``.
- Bounds: a body of at most ``MAX_BODY`` bytes; each identity has a token bucket of actions.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, TypeVar

MAX_BODY: Final = 16 * 1024
"""Bytes of one request body: a review with its action items fits many times over."""
RATE_BURST: Final = 20
RATE_PER_S: Final = 2.0
"""Actions an identity may take at once, and the pace it regains them: a person never needs more."""
CSRF_HEADER: Final = "x-gameday-csrf"
COOKIE: Final = "gameday_room"
CSRF_COOKIE: Final = "gameday_csrf"

T = TypeVar("T")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def find_token(presented: str | None, candidates: Iterable[tuple[str, T]]) -> T | None:
    """The value whose token matches ``presented``, comparing with every candidate in constant time."""
    found: T | None = None
    given = (presented or "").encode()
    for token, value in candidates:
        if hmac.compare_digest(given, token.encode()):
            found = value
    return found if presented else None


def same(presented: str | None, expected: str) -> bool:
    return bool(presented) and hmac.compare_digest((presented or "").encode(), expected.encode())


def origin_ok(origin: str | None, host: str | None, scheme: str = "http") -> bool:
    """No Origin (a non-browser client) is fine; a browser's must be this room's own."""
    if origin is None:
        return True
    return host is not None and origin == f"{scheme}://{host}"


@dataclass
class Bucket:
    """A token bucket: ``take()`` is False once the burst is spent, until time refills it."""

    clock: Callable[[], float]
    burst: int = RATE_BURST
    per_s: float = RATE_PER_S
    tokens: float = field(default=-1.0)
    at: float = field(default=0.0)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        with self._lock:
            now = self.clock()
            if self.tokens < 0:
                self.tokens, self.at = float(self.burst), now
            self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.per_s)
            self.at = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True
