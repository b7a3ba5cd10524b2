"""A real Toxiproxy server and real loopback upstreams for the network fault tests.

The server binary is found through $GAMEDAY_TOXIPROXY_BIN, then `toxiproxy-server` on PATH, then
/tmp/gobin/server (where `go install github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0` puts it
with GOBIN=/tmp/gobin). It listens on a free 127.0.0.1 port for the whole session.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import socketserver
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from gameday.errors import TargetError
from gameday.faults.toxiproxy_client import Proxy, ToxiproxyClient
from gameday.testing import free_port
from gameday.testing.services import PostgresServer, RedisServer, postgres_server, redis_server


def toxiproxy_binary() -> str | None:
    """The toxiproxy server binary, found (or built once with Go) exactly as the demo stack finds it:
    $GAMEDAY_TOXIPROXY_BIN, else ~/.cache/gameday/toxiproxy/<version>/server."""
    from gameday.errors import GamedayError
    from gameday.stack.config import StackConfig
    from gameday.stack.images import toxiproxy_binary as find_or_build

    try:
        return str(find_or_build(StackConfig.from_env(os.environ), os.environ))
    except GamedayError:
        return shutil.which("toxiproxy-server")


@dataclass
class ToxiproxyServer:
    url: str
    port: int
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_toxiproxy(log_path: Path) -> ToxiproxyServer:
    """Start one toxiproxy server on a free loopback port; wait until its API answers."""
    binary = toxiproxy_binary()
    if binary is None:
        pytest.fail("no toxiproxy server binary: set GAMEDAY_TOXIPROXY_BIN or put toxiproxy-server on PATH")
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen([binary, "-host", "127.0.0.1", "-port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    server = ToxiproxyServer(f"http://127.0.0.1:{port}", port, process)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"toxiproxy server exited with {process.returncode}: {log_path.read_text()[-500:]}")
        try:
            if httpx.get(f"{server.url}/version", timeout=0.5, trust_env=False).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.05)
    server.stop()
    pytest.fail(f"toxiproxy server did not answer on {server.url} within 10s")


@pytest.fixture(scope="session")
def toxiproxy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToxiproxyServer]:
    server = start_toxiproxy(tmp_path_factory.mktemp("toxiproxy") / "server.log")
    yield server
    server.stop()


@pytest.fixture
def toxiproxy(toxiproxy_server: ToxiproxyServer) -> Iterator[ToxiproxyClient]:
    with ToxiproxyClient(toxiproxy_server.url) as client:
        yield client


# --- real upstreams on loopback -------------------------------------------------------------


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            sock.sendall(data)


class _ThreadingTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@dataclass
class Upstream:
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@pytest.fixture(scope="session")
def echo_upstream() -> Iterator[Upstream]:
    """A TCP echo server: what the client sends comes straight back."""
    server = _ThreadingTCPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield Upstream("127.0.0.1", server.server_address[1])
    server.shutdown()
    server.server_close()


class _OkHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass


@pytest.fixture(scope="session")
def http_upstream() -> Iterator[Upstream]:
    """A tiny HTTP server answering 200 to every GET."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OkHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield Upstream("127.0.0.1", server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_proxy(toxiproxy: ToxiproxyClient) -> Iterator[Callable[[Upstream], Proxy]]:
    """Create proxies with unique names in front of an upstream; deleted after the test."""
    made: list[str] = []

    def make(upstream: Upstream) -> Proxy:
        name = f"test-{uuid.uuid4().hex[:8]}"
        proxy = toxiproxy.create_proxy(name, listen="127.0.0.1:0", upstream=upstream.address)
        made.append(name)
        return proxy

    yield make
    for name in made:
        with contextlib.suppress(TargetError):  # a test may have deleted it on purpose
            toxiproxy.delete_proxy(name)


# --- measuring at the client -----------------------------------------------------------------


def echo_round_trip(port: int, payload: bytes = b"ping\n", timeout: float = 5.0) -> float:
    """Seconds for one request/response through a new connection to 127.0.0.1:port."""
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        received = b""
        while len(received) < len(payload):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before the echo came back")
            received += chunk
    return time.perf_counter() - start


def median_round_trip(port: int, samples: int = 5) -> float:
    times = sorted(echo_round_trip(port) for _ in range(samples))
    return times[len(times) // 2]


# --- real PostgreSQL and Redis for revoke_credentials (servers from gameday.testing.services) ----------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the session, with a database ``checkout``."""
    with postgres_server(database="checkout") as server:
        yield server


@pytest.fixture(scope="session")
def redis_acl_server() -> Iterator[RedisServer]:
    """One redis-server for the session: ACL user ``admin`` (all rights); tests add their own users."""
    with redis_server() as server:
        yield server
