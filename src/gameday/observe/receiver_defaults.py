"""Where the harness's Alertmanager webhook receiver listens unless told otherwise.

A leaf module: ``gameday --help`` shows these defaults without importing the HTTP server (http.server
pulls in http.client, email and ssl, about a third of the CLI's start-up)."""

from __future__ import annotations

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 19099
DEFAULT_PATH = "/alerts"
