"""`gameday room` as a user runs it, and the room's safety checks on their own."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gameday import events as ev
from gameday.cli.room_commands import link_host
from gameday.room.guard import Bucket, find_token, origin_ok
from gameday.timeline import read_timeline
from tests.conftest import wait_for
from tests.room.conftest import DEMO_DRILL, ROOT, gameday, read_links


def test_the_room_prints_one_link_per_seat_serves_them_and_closes_on_sigterm(tmp_path: Path) -> None:
    room = gameday("room", "--speed", "50", "--seats", "3", "--reports", str(tmp_path / "reports"),
                   "--history", str(tmp_path / "h.sqlite"), str(DEMO_DRILL), cwd=tmp_path)
    lines: list[str] = []
    links = read_links(room, lines, seats=3)
    try:
        assert sorted(links) == ["1", "2", "3", "facilitator"], "".join(lines)
        assert len(set(links.values())) == 4  # a token per seat
        with httpx.Client(follow_redirects=True) as client:
            joined = client.get(links["2"])
            assert joined.status_code == 200 and 'data-testid="join-form"' in joined.text  # after the redirect
        assert "warning" not in "".join(lines)  # loopback: nothing shared
    finally:
        room.send_signal(signal.SIGTERM)
        rest = room.communicate(timeout=60)[0]
    assert room.returncode == 0, rest  # closed before a drill started: nothing happened
    assert "Traceback" not in rest


def test_a_room_on_every_interface_prints_links_with_this_machines_name(tmp_path: Path) -> None:
    room = gameday("room", "--host", "0.0.0.0", "--port", "0", "--speed", "50", "--seats", "1",
                   "--reports", str(tmp_path / "reports"), "--history", str(tmp_path / "h.sqlite"), str(DEMO_DRILL),
                   cwd=tmp_path)
    lines: list[str] = []
    try:
        links = read_links(room, lines, seats=1)
        assert sorted(links) == ["1", "facilitator"], "".join(lines)
        assert all(link.startswith(f"http://{socket.gethostname()}:") for link in links.values()), links
        assert "0.0.0.0" not in "".join(lines).replace("--host 0.0.0.0", "")  # only in the warning's quote
        port_and_path = links["1"].split(":", 2)[2]
        with httpx.Client(follow_redirects=True) as client:  # serving (and so handling SIGTERM) on loopback too
            joined = client.get(f"http://127.0.0.1:{port_and_path}")
            assert joined.status_code == 200 and 'data-testid="join-form"' in joined.text
    finally:
        room.send_signal(signal.SIGTERM)
        rest = room.communicate(timeout=60)[0]
    assert room.returncode == 0, rest


def test_sigterm_during_a_drill_stops_it_and_the_room_exits_as_interrupted(tmp_path: Path) -> None:
    room = gameday("room", "--speed", "50", "--seats", "1", "--reports", str(tmp_path / "reports"),
                   "--history", str(tmp_path / "h.sqlite"), str(DEMO_DRILL), cwd=tmp_path)
    lines: list[str] = []
    links = read_links(room, lines, seats=1)
    try:
        with httpx.Client(follow_redirects=True, timeout=60) as client:
            assert client.get(links["facilitator"]).status_code == 200, "".join(lines)
            started = client.post(links["facilitator"].split("/join/")[0] + "/api/control", json={"op": "start"},
                                  headers={"X-Gameday-CSRF": client.cookies["gameday_csrf"]})
            assert started.status_code == 200, started.text
            wait_for(lambda: client.get(started.url.copy_with(path="/api/state")).json()["room"]["status"]
                     == "running", timeout=60)
    finally:
        room.send_signal(signal.SIGTERM)
        rest = room.communicate(timeout=120)[0]
    assert room.returncode == 130, rest
    assert "interrupted" in rest and "Traceback" not in rest
    [run_dir] = (tmp_path / "reports").iterdir()
    events = read_timeline(run_dir / "timeline.jsonl")
    stopped = ev.first(events, ev.DRILL_STOPPED)
    assert stopped is not None and stopped.details["signal"] == "room closed"
    assert events[-1].kind == ev.RUN_FINISHED and events[-1].details["outcome"] == "interrupted"


@pytest.mark.parametrize(("args", "message"), [
    (["room", "missing.yaml"], "missing.yaml"),
    (["room", "--seats", "30", str(DEMO_DRILL)], "seats: 30 is not between 1 and 20"),
    (["room", "--resume", "nope", str(DEMO_DRILL)], "--resume takes a run id only"),
    (["room", "--port", "70000", str(DEMO_DRILL)], "is not a port"),
])
def test_bad_input_is_one_line_and_no_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "gameday", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_a_token_is_found_only_whole_and_compared_with_every_candidate() -> None:
    candidates = [("alpha-token", 1), ("beta-token", 2)]
    assert find_token("beta-token", candidates) == 2
    assert find_token("beta-toke", candidates) is None
    assert find_token("", candidates) is None and find_token(None, candidates) is None


def test_only_the_rooms_own_origin_passes() -> None:
    assert origin_ok(None, "127.0.0.1:8000")  # a client that is not a browser sends none
    assert origin_ok("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert not origin_ok("http://127.0.0.1:8001", "127.0.0.1:8000")
    assert not origin_ok("null", "127.0.0.1:8000")


def test_links_for_every_interface_name_this_machine_never_0_0_0_0(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: "drillhost")
    assert link_host("0.0.0.0") == "drillhost" and link_host("::") == "drillhost"
    assert link_host("127.0.0.1") == "127.0.0.1" and link_host("::1") == "[::1]"
    assert link_host("192.0.2.7") == "192.0.2.7" and link_host("localhost") == "localhost"


def test_a_bucket_refuses_past_its_burst_and_refills_with_time() -> None:
    now = [0.0]
    bucket = Bucket(clock=lambda: now[0], burst=3, per_s=1.0)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] += 1.0
    assert bucket.take() and not bucket.take()
