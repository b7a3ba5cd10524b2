"""The harness's Alertmanager webhook receiver: a small HTTP server on loopback.

POST <path> with Alertmanager's webhook JSON -> 200 and the alerts are handed on;
a malformed payload -> 400 with the reason, and the server keeps running.
GET <path> -> 200 (so `gameday doctor` and humans can see it listening). Anything else -> 404.
It never prints: the standard library's request log is switched off.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from gameday.errors import GamedayError, ServiceUnavailable
from gameday.observe.alertmanager import PayloadError, ReceivedAlert, parse_webhook
from gameday.observe.receiver_defaults import DEFAULT_HOST, DEFAULT_PATH, DEFAULT_PORT

__all__ = ["DEFAULT_HOST", "DEFAULT_PATH", "DEFAULT_PORT", "MAX_BODY", "AlertReceiver"]

MAX_BODY = 5_000_000

OnAlerts = Callable[[list[ReceivedAlert]], None]
OnRejected = Callable[[str], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], path: str, on_alerts: OnAlerts, on_rejected: OnRejected) -> None:
        self.path = path
        self.on_alerts = on_alerts
        self.on_rejected = on_rejected
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # the harness records what matters in the timeline; it never prints

    def _answer(self, status: int, payload: dict[str, object]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reject(self, status: int, reason: str) -> None:
        self.server.on_rejected(reason)
        self._answer(status, {"status": "error", "error": reason})

    def do_GET(self) -> None:
        if urlsplit(self.path).path != self.server.path:
            self._answer(404, {"status": "error", "error": "not found"})
            return
        self._answer(200, {"status": "ok", "receiver": "gameday"})

    def do_POST(self) -> None:
        if urlsplit(self.path).path != self.server.path:
            self._answer(404, {"status": "error", "error": "not found"})
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            self._reject(411, "a Content-Length header is required")
            return
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self._reject(413, f"payload too large ({length} bytes)")
            return
        body = self.rfile.read(length)
        try:
            alerts = parse_webhook(body)
        except PayloadError as exc:
            self._reject(400, str(exc))
            return
        self.server.on_alerts(alerts)
        self._answer(200, {"status": "ok", "alerts": len(alerts)})


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AlertReceiver:
    """Listen on ``http://host:port/path`` in a background thread until ``close()``."""

    def __init__(
        self,
        on_alerts: OnAlerts,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        path: str = DEFAULT_PATH,
        on_rejected: OnRejected | None = None,
    ) -> None:
        self.path = path if path.startswith("/") else "/" + path
        if not _is_loopback(host):
            raise GamedayError(f"the alert receiver listens on loopback only, not {host}")
        try:
            self._server = _Server((host, port), self.path, on_alerts, on_rejected or (lambda reason: None))
        except OSError as exc:
            raise ServiceUnavailable(f"cannot listen for alerts on {host}:{port}: {exc.strerror or exc}") from exc
        self.host, self.port = str(self._server.server_address[0]), int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="alert-receiver", daemon=True)
        self._thread.start()
        self._closed = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
