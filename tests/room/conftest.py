"""A drill room served by a real uvicorn on a free 127.0.0.1 port, and participants as HTTP clients."""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from gameday.clock import Clock
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]
DEMO_DRILL = ROOT / "scenarios" / "checkout-db-down-drill.yaml"


class Participant:
    """One browser's worth of a room: its cookies (set by its join link) and its CSRF header."""

    def __init__(self, base: str, link: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)
        joined = self.http.get(link[len(base):])
        assert joined.status_code == 303, joined.text
        self.page = joined.headers["location"]
        self.csrf = self.http.cookies["gameday_csrf"]

    def post(self, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
        return self.http.post(path, json=body, headers={"X-Gameday-CSRF": self.csrf, **headers})

    def act(self, action: str, **fields: Any) -> httpx.Response:
        return self.post("/api/action", {"action": action, **fields})

    def ok(self, action: str, **fields: Any) -> str:
        answer = self.act(action, **fields)
        assert answer.status_code == 200, f"{action}: {answer.text}"
        return str(answer.json()["message"])

    def control(self, op: str, **fields: Any) -> httpx.Response:
        return self.post("/api/control", {"op": op, **fields})

    def state(self) -> dict[str, Any]:
        answer = self.http.get("/api/state")
        if answer.status_code == 429:  # a test polling faster than a page does: wait as the room says, once
            time.sleep(float(answer.headers["retry-after"]))
            answer = self.http.get("/api/state")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def close(self) -> None:
        self.http.close()


class Served:
    def __init__(self, room: Any, base: str) -> None:
        self.room = room
        self.base = base
        facilitator, seats = room.links(base)
        self.facilitator_link = facilitator
        self.seat_links = seats
        self.clients: list[Participant] = []

    def join(self, link: str) -> Participant:
        client = Participant(self.base, link)
        self.clients.append(client)
        return client

    def facilitator(self) -> Participant:
        return self.join(self.facilitator_link)

    def seat(self, number: int, *, name: str | None = None, role: str | None = None) -> Participant:
        client = self.join(self.seat_links[number - 1])
        if name is not None and role is not None:
            answer = client.post("/api/seat", {"name": name, "role": role})
            assert answer.status_code == 200, answer.text
        return client


def room_args(tmp_path: Path, **changes: Any) -> argparse.Namespace:
    values: dict[str, Any] = {"scenario": str(DEMO_DRILL), "speed": 100.0, "tabletop": False, "resume": None,
                              "seats": 4, "reports": str(tmp_path / "reports"),
                              "history": str(tmp_path / "history.sqlite"), "run_id": None}
    values.update(changes)
    return argparse.Namespace(**values)


@contextmanager
def running_room(tmp_path: Path, *, clock: Clock | None = None, **changes: Any) -> Iterator[Served]:
    """A room built as ``gameday room`` builds it (its arguments as keywords; ``clock`` the room's own, for its
    request budgets), served by a real uvicorn on a free 127.0.0.1 port until the block ends; its participants'
    clients are closed and a running drill stopped."""
    import uvicorn

    from gameday.cli.room_commands import build_room
    from gameday.room.app import create_app

    args = room_args(tmp_path, **changes)
    room = build_room(args, {"PATH": "/usr/bin:/bin"}, clock=clock)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(room, reports_dir=Path(args.reports), history=args.history)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    served = Served(room, base)
    try:
        wait_for(lambda: server.started, timeout=30)
        yield served
    finally:
        for client in served.clients:
            client.close()
        app.state.close_streams()
        room.close()
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def serve_room(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Build a room as ``gameday room`` does (its arguments as keywords) and serve it; stopped at the end."""
    with ExitStack() as rooms:
        yield lambda **changes: rooms.enter_context(running_room(tmp_path, **changes))


def read_events(client: Participant, *, last_id: int | None = None, until: Callable[[list[dict[str, Any]]], bool],
                timeout: float = 60) -> list[dict[str, Any]]:
    """Timeline events from the stream (after ``last_id``) until ``until(events)``; then the connection drops."""
    headers = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    with client.http.stream("GET", "/api/events", headers=headers, timeout=timeout) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        kind, data, event_id = "", "", None
        for line in answer.iter_lines():
            if time.monotonic() > deadline:
                break
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line.startswith("id: "):
                event_id = int(line[4:])
            elif line == "" and data:
                if kind == "timeline":
                    payload = json.loads(data)
                    assert payload["id"] == event_id
                    events.append(payload)
                    if until(events):
                        return events
                kind, data, event_id = "", "", None
    raise AssertionError(f"not seen within {timeout}s; got {[e['kind'] for e in events]}")


LINK = re.compile(r"(Facilitator \(keep this one to yourself\)|Seat (\d+)): (http://[^/\s]+:\d+/join/\S+)")


def gameday(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """``gameday ARGS`` as a user runs it, its output (stdout and stderr) readable line by line."""
    return subprocess.Popen([sys.executable, "-m", "gameday", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def read_links(room: subprocess.Popen[str], lines: list[str], *, seats: int) -> dict[str, str]:
    """The links the room printed: "facilitator" and each seat's number."""
    assert room.stdout is not None
    links: dict[str, str] = {}
    deadline = time.monotonic() + 60
    while len(links) < seats + 1 and time.monotonic() < deadline:
        line = room.stdout.readline()
        if not line:
            break
        lines.append(line)
        if (found := LINK.search(line)) is not None:
            links[found[2] or "facilitator"] = found[3]
    return links
