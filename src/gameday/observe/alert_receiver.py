"""The harness's Alertmanager webhook receiver: a small HTTP server on loopback.

POST <path> with Alertmanager's webhook JSON -> 200 and the alerts are handed on;
a malformed payload -> 400 with the reason, and the server keeps running. A receiver told its
Alertmanager (``accept_from``, the stack file's ``alertmanager.external_url``) answers a payload whose
``externalURL`` names another one 403 and hands on nothing: two stacks on one machine whose
Alertmanagers post to the same port do not record each other's alerts.
GET <path> -> 200 (so `gameday doctor` and humans can see it listening). Anything else -> 404.
It never prints: the standard library's request log is switched off.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from gameday.errors import GamedayError, ServiceUnavailable
from gameday.loopback import is_loopback
from gameday.observe.alertmanager import PayloadError, ReceivedAlert, parse_webhook, same_url
from gameday.observe.receiver_defaults import DEFAULT_HOST, DEFAULT_PATH, DEFAULT_PORT

__all__ = ["DEFAULT_HOST", "DEFAULT_PATH", "DEFAULT_PORT", "MAX_BODY", "AlertReceiver"]

MAX_BODY = 5_000_000

OnAlerts = Callable[[list[ReceivedAlert]], None]
OnRejected = Callable[[str], None]
OnForeign = Callable[[str | None, list[ReceivedAlert]], None]
"""A refused payload's externalURL (None: it had none) and its alerts."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], path: str, on_alerts: OnAlerts, on_rejected: OnRejected,
                 accept_from: str | None, on_foreign: OnForeign) -> None:
        self.path = path
        self.on_alerts = on_alerts
        self.on_rejected = on_rejected
        self.accept_from = accept_from
        self.on_foreign = on_foreign
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
            webhook = parse_webhook(body)
        except PayloadError as exc:
            self._reject(400, str(exc))
            return
        accept = self.server.accept_from
        if accept is not None and (webhook.external_url is None or not same_url(webhook.external_url, accept)):
            # 4xx: Alertmanager gives up on this notification (until the group's next group_interval) and logs
            # this reason, where the other stack's owner looks.
            self.server.on_foreign(webhook.external_url, webhook.alerts)
            self._answer(403, {"status": "error", "error": f"this receiver takes the alerts of the Alertmanager at "
                                                           f"{accept} only, not {webhook.external_url or 'an unnamed one'}"})
            return
        self.server.on_alerts(webhook.alerts)
        self._answer(200, {"status": "ok", "alerts": len(webhook.alerts)})


class AlertReceiver:
    """Listen on ``http://host:port/path`` in a background thread until ``close()``.

    ``accept_from``: the external URL of the one Alertmanager whose webhooks are taken (any, when None);
    ``on_foreign`` hears what another one sent."""

    def __init__(
        self,
        on_alerts: OnAlerts,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        path: str = DEFAULT_PATH,
        on_rejected: OnRejected | None = None,
        accept_from: str | None = None,
        on_foreign: OnForeign | None = None,
    ) -> None:
        self.path = path if path.startswith("/") else "/" + path
        if not is_loopback(host):
            raise GamedayError(f"the alert receiver listens on loopback only, not {host}")
        self.accept_from = accept_from
        try:
            self._server = _Server((host, port), self.path, on_alerts, on_rejected or (lambda reason: None),
                                   accept_from, on_foreign or (lambda external_url, alerts: None))
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
