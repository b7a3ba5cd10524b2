"""gameday.httpcall: one request over the standard library, and why it got no answer, as the HTTP probe and the
Toxiproxy client report it (each a real socket on 127.0.0.1)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from gameday.httpcall import HttpFailure, request
from gameday.observe.probes import Prober
from gameday.scenario.model import ProbeSpec


@contextmanager
def server(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """A one-connection-at-a-time server that hands each accepted connection to ``answer``; yields its URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    done = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                answer(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        done.set()
        thread.join(timeout=10)
        listener.close()


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def probe_of(url: str, timeout: str = "0.5s") -> ProbeSpec:
    return ProbeSpec.model_validate({"name": "web", "http": {"url": url, "timeout": timeout}})


def test_an_answer_carries_status_reason_and_the_whole_body() -> None:
    seen: list[bytes] = []

    def answer(conn: socket.socket) -> None:
        seen.append(read_request(conn))
        conn.sendall(b"HTTP/1.1 418 I'm a teapot\r\nContent-Length: 11\r\n\r\n{\"a\": [1]}\n")

    with server(answer) as url:
        response = request("POST", f"{url}/x?y=1", timeout=5, json_body={"k": 1}, headers={"User-Agent": "t"})
    assert (response.status, response.reason_phrase, response.json()) == (418, "I'm a teapot", {"a": [1]})
    assert not response.is_success
    head = seen[0].decode()
    assert head.startswith("POST /x?y=1 HTTP/1.1\r\n")
    assert "Connection: close" in head and "User-Agent: t" in head and "Content-Type: application/json" in head


def test_a_closed_port_is_refused() -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(HttpFailure) as failure:
        request("GET", url, timeout=2)
    assert failure.value.reason == "refused"
    result = Prober().check(probe_of(url))
    assert (result.ok, result.error) == (False, "connection refused")


def test_a_server_that_never_answers_times_out_after_the_probes_timeout() -> None:
    answered = threading.Event()

    def silent(conn: socket.socket) -> None:
        read_request(conn)
        answered.wait(10)  # holds the connection open, saying nothing, until the test is done

    with server(silent) as url:
        try:
            with pytest.raises(HttpFailure) as failure:
                request("GET", url, timeout=0.3)
            assert failure.value.reason == "timeout"
            result = Prober().check(probe_of(url, "0.3s"))
        finally:
            answered.set()
    assert (result.ok, result.error) == (False, "timed out after 0.3s")
    assert result.latency_ms >= 300


def test_a_server_that_closes_without_answering_is_disconnected() -> None:
    def hang_up(conn: socket.socket) -> None:
        read_request(conn)

    with server(hang_up) as url:
        with pytest.raises(HttpFailure) as failure:
            request("GET", url, timeout=5)
        result = Prober().check(probe_of(url))
    assert failure.value.reason == "disconnected"
    assert (result.ok, result.error) == (False, "server disconnected")


def test_a_probe_reads_status_and_latency_from_the_answer() -> None:
    def answer(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")

    with server(answer) as url:
        result = Prober().check(probe_of(url))
    assert (result.ok, result.status, result.error) == (False, 503, "status 503")


@pytest.mark.parametrize("url", ["http://[::1", "ftp://127.0.0.1/", "http:///nohost"])
def test_a_url_that_cannot_be_requested_is_a_url_failure(url: str) -> None:
    with pytest.raises(HttpFailure) as failure:
        request("GET", url, timeout=1)
    assert failure.value.reason == "url"
