"""What the Toxiproxy benchmarks share: a real toxiproxy server and real loopback upstreams.

Everything binds 127.0.0.1 and is stopped at the end. The server binary is found as in the tests:
$GAMEDAY_TOXIPROXY_BIN, `toxiproxy-server` on PATH, then /tmp/gobin/server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from gameday.testing import free_port

FALLBACK_BIN = "/tmp/gobin/server"


def toxiproxy_binary() -> str:
    found = os.environ.get("GAMEDAY_TOXIPROXY_BIN") or shutil.which("toxiproxy-server")
    if found:
        return found
    if os.access(FALLBACK_BIN, os.X_OK):
        return FALLBACK_BIN
    raise SystemExit("no toxiproxy server binary: set GAMEDAY_TOXIPROXY_BIN or put toxiproxy-server on PATH")


@contextlib.contextmanager
def toxiproxy_server() -> Iterator[str]:
    """A toxiproxy server on a free loopback port; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkdtemp(prefix="gameday-bench-toxiproxy-")) / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen([toxiproxy_binary(), "-host", "127.0.0.1", "-port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(f"{url}/version", timeout=0.5, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"toxiproxy did not start: {log.read_text()[-400:]}") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=5)


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while True:
            try:
                data = self.request.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.request.sendall(data)


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@dataclass
class Upstream:
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextlib.contextmanager
def echo_upstream() -> Iterator[Upstream]:
    server = _TCPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield Upstream(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def http_upstream() -> Iterator[Upstream]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield Upstream(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def round_trip(port: int, payload: bytes = b"ping\n", timeout: float = 10.0) -> float:
    """Seconds for one request/response over a NEW connection to 127.0.0.1:port."""
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        got = 0
        while got < len(payload):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the echo came back")
            got += len(chunk)
    return time.perf_counter() - start


def machine() -> str:
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=False).stdout.strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"`{uname}`, nproc {os.cpu_count()}, load average at start {load}"


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
