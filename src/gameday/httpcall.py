"""One HTTP/1.1 request over the standard library: what the HTTP probe and the Toxiproxy client need.

Why not httpx here (docs/decisions.md, issue 19): `gameday run` made its probe and Toxiproxy requests
through httpx, which imports httpcore, h2/hpack (when installed), and its own CLI's click, pygments and
rich: ~9 MiB of a run's peak memory and ~0.1 s of its start. These two callers send one small request at a
time to a server on the staging network and never need HTTP/2, a connection pool or an HTTP proxy.

What a request does: a new connection every time (no keep-alive: a dead server is seen at once, and no
socket is left for the garbage collector), never through an HTTP proxy (the environment is not read),
redirects not followed, the whole body read. ``connect_timeout`` bounds the connection, ``timeout`` each
read and write (as httpx's timeouts do). TLS verifies against the system's trust store.

Failures are one ``HttpFailure`` with a ``reason`` the callers turn into their own one-line messages.
"""

from __future__ import annotations

import functools
import http.client
import json
import ssl
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

Reason = Literal["timeout", "refused", "reset", "disconnected", "connect", "protocol", "url"]


class HttpFailure(Exception):
    """A request that got no answer: ``reason`` says why, the message is the underlying error's text."""

    def __init__(self, reason: Reason, message: str) -> None:
        self.reason: Reason = reason
        super().__init__(message)


@dataclass(frozen=True)
class Response:
    status: int
    reason_phrase: str
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One default context per process: loading the trust store costs ~30 ms."""
    return ssl.create_default_context()


def request(method: str, url: str, *, timeout: float, connect_timeout: float | None = None,
            json_body: Any = None, headers: dict[str, str] | None = None) -> Response:
    """Send ``method url`` and read the whole answer; ``HttpFailure`` when no answer came."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise HttpFailure("url", str(exc)) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpFailure("url", f"not an http:// or https:// URL with a host: {url[:100]!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    limit = timeout if connect_timeout is None else connect_timeout
    body = None if json_body is None else json.dumps(json_body).encode()
    sent = {"Accept": "*/*", "Connection": "close", **(headers or {})}
    if body is not None:
        sent["Content-Type"] = "application/json"
    try:
        connection: http.client.HTTPConnection = (
            http.client.HTTPSConnection(parts.hostname, port, timeout=limit, context=_tls())
            if parts.scheme == "https" else http.client.HTTPConnection(parts.hostname, port, timeout=limit))
    except (ValueError, http.client.InvalidURL) as exc:
        raise HttpFailure("url", str(exc)) from None
    try:
        try:
            connection.connect()
        except TimeoutError as exc:
            raise HttpFailure("timeout", str(exc) or "timed out") from exc
        except ConnectionRefusedError as exc:
            raise HttpFailure("refused", str(exc)) from exc
        except ConnectionResetError as exc:
            raise HttpFailure("reset", str(exc)) from exc
        except OSError as exc:  # ssl.SSLError included
            raise HttpFailure("connect", str(exc) or type(exc).__name__) from exc
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        try:
            connection.request(method, target, body=body, headers=sent)
            answer = connection.getresponse()
            content = answer.read()
        except TimeoutError as exc:
            raise HttpFailure("timeout", str(exc) or "timed out") from exc
        except http.client.InvalidURL as exc:  # a path http.client refuses to put on the wire
            raise HttpFailure("url", str(exc)) from exc
        except http.client.RemoteDisconnected as exc:  # before it subclasses ConnectionResetError
            raise HttpFailure("disconnected", str(exc)) from exc
        except ConnectionResetError as exc:
            raise HttpFailure("reset", str(exc)) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise HttpFailure("protocol", str(exc) or type(exc).__name__) from exc
    except ValueError as exc:  # a method or path http.client refuses to put on the wire
        raise HttpFailure("url", str(exc)) from exc
    finally:
        connection.close()
    return Response(answer.status, answer.reason, content)
