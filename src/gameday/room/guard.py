"""The room's safety checks, kept apart from the web framework so each is a plain function to test.

- Tokens: ``secrets.token_urlsafe``; a presented token is compared with every known one by
  ``hmac.compare_digest`` (no early exit), so the time taken says nothing about how close a guess was.
- CSRF: a state-changing request must carry the identity's own CSRF value in a header (a page of another
  site cannot set one without a CORS preflight, which the room never answers), a JSON body, and an
  ``Origin``, when the browser sends one, of the room itself. The cookies are also ``SameSite=Strict``.
- Bounds: a body of at most ``MAX_BODY`` bytes; each identity has its own ``Limits``: a token bucket of
  actions (POSTs), another of reads (the state, the event stream, the pages), and at most ``MAX_STREAMS``
  event streams open at once. Past any of them the room answers 429 with a Retry-After.
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
READ_BURST: Final = 60
READ_PER_S: Final = 20.0
"""Reads (the state, a stream opened, a page) an identity may make at once, and the pace it regains them: a page
reads the state at most 5 times a second (room.js), so a person's few tabs fit, a loop reading it does not."""
MAX_STREAMS: Final = 4
"""Event streams one identity may hold open at once: a few tabs, and a reconnect that arrives before the room
has seen the dropped connection close (a clean close frees its slot at once)."""
RETRY_AFTER_S: Final = 1
"""Seconds a refused client is told to wait (Retry-After): a read or a stream slot is back within it."""
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


@dataclass
class Slots:
    """At most ``limit`` held at once: ``take()`` is False when all are held, until one is given back."""

    limit: int
    held: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        with self._lock:
            if self.held >= self.limit:
                return False
            self.held += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.held = max(0, self.held - 1)


@dataclass
class Limits:
    """One identity's budgets (the facilitator's and each seat's own): actions, reads and open event streams."""

    actions: Bucket
    reads: Bucket
    streams: Slots

    @classmethod
    def new(cls, clock: Callable[[], float]) -> Limits:
        return cls(actions=Bucket(clock=clock), reads=Bucket(clock=clock, burst=READ_BURST, per_s=READ_PER_S),
                   streams=Slots(limit=MAX_STREAMS))
