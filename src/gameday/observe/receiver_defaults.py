"""Where the harness's Alertmanager webhook receiver listens unless told otherwise.

A leaf module: ``gameday --help`` shows these defaults without importing the HTTP server (http.server
pulls in http.client, email and ssl, about a third of the CLI's start-up)."""

from __future__ import annotations

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 19099
DEFAULT_PATH = "/alerts"


def listen_address(webhook_url: str | None, *, host: str | None = None, port: int | None = None,
                   path: str | None = None) -> tuple[str, int, str]:
    """Where a receiver listens: each of host, port and path as given, else from the stack's
    ``alertmanager.webhook_url`` (the url its Alertmanager posts to), else the default."""
    from urllib.parse import urlsplit

    parts = urlsplit(webhook_url) if webhook_url else None
    if port is None:  # 0 is a port: the kernel's choice
        port = (parts.port or 80) if parts else DEFAULT_PORT
    return (host or (parts.hostname if parts else None) or DEFAULT_HOST, port,
            path or (parts.path if parts else None) or DEFAULT_PATH)
