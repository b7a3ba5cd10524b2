"""The load observer against a real HTTP server on loopback, with Locust in a real child process."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gameday import events as ev
from gameday.clock import SystemClock
from gameday.contracts import RunContext
from gameday.errors import GamedayError, ScenarioError
from gameday.observe.load import LoadError, LoadObserver
from gameday.scenario.model import Scenario
from gameday.testing import free_port
from gameday.timeline import Event, Timeline
from tests.conftest import wait_for

HERE = Path(__file__).parent
LOCUSTFILES = HERE / "locustfiles"
USERS = 4


class CountingServer:
    """A threaded HTTP server on 127.0.0.1 that counts the requests it answers; it can be killed and restarted."""

    def __init__(self) -> None:
        self.count = 0
        self.status = 200
        self._lock = threading.Lock()
        self.port = free_port()
        self._server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with owner._lock:
                    owner.count += 1
                body = b"ok\n"
                self.send_response(owner.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that went away mid-answer (Locust stopping its users) is not our test's business

        server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._server = server

    def kill(self) -> None:
        """Stop listening: new connections are refused, as when the process dies."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def make_scenario(host: str, locustfile: str = "steady.py", warmup: str = "1s") -> Scenario:
    return Scenario.model_validate({
        "version": 1,
        "name": "load-test",
        "faults": [{"kind": "container_kill", "target": "web", "duration": "2s"}],
        "load": {"locustfile": locustfile, "host": host, "users": USERS, "spawn_rate": 50.0, "warmup": warmup},
    })


@pytest.fixture
def make_ctx(tmp_path: Path) -> Iterator[Callable[[Scenario], RunContext]]:
    """Run contexts on a real clock and timeline in tmp_path; their timelines are closed afterwards."""
    made: list[RunContext] = []

    def make(scenario: Scenario) -> RunContext:
        clock = SystemClock()
        ctx = RunContext(scenario, Timeline(tmp_path / f"timeline-{len(made)}.jsonl", clock), clock, tmp_path,
                         LOCUSTFILES)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.timeline.close()

def kinds(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e.kind == kind]


def process_gone(pid: int) -> bool:
    """True when the pid no longer runs (a zombie left for a non-reaping init counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


@pytest.fixture
def server() -> Iterator[CountingServer]:
    srv = CountingServer()
    yield srv
    srv.kill()


def test_stats_arrive_every_second_and_errors_rise_when_the_server_dies(make_ctx: Callable[[Scenario], RunContext], server: CountingServer) -> None:
    """One load.stats a second, phased; the error rate jumps while the server is down; totals match the server."""
    assert "locust" not in sys.modules
    ctx = make_ctx(make_scenario(server.url))
    observer = LoadObserver()
    observer.start(ctx)  # holds for the 1 s warmup
    # Each change waits for the seconds it needs to have arrived, so a busy machine only makes it longer: the
    # stats reach the timeline while the load runs, a second at a time.
    wait_for(lambda: kinds(ctx.timeline.events, "load.stats"))
    fault_at = ctx.timeline.now()
    observer.on_phase("fault")
    server.kill()
    served_before_kill = server.count
    wait_for(lambda: any(e.offset > fault_at and e.details["error_rate"] > 0.5
                         for e in kinds(ctx.timeline.events, "load.stats")))
    server.start()
    observer.on_phase("recovery")
    observer.stop()  # lets the recovery phase run for the warmup (1 s) first
    events = ctx.timeline.events

    assert ev.undocumented(events) == []  # load.started/stats/finished carry what gameday/events.py says
    assert len(kinds(events, "load.started")) == 1
    finished = kinds(events, "load.finished")
    assert len(finished) == 1 and finished[0].details["complete"] is True
    stats = kinds(events, "load.stats")
    # One line a second on the child's own clock: the k-th full line ends in the k-th second of its run (a
    # line late by a whole second would show as a skipped one), and together the lines cover the whole run.
    full = stats[:-1]
    assert [math.floor(e.details["t"]) for e in full] == list(range(1, len(full) + 1)), [e.details for e in full]
    assert sum(e.details["interval_s"] for e in stats) == pytest.approx(stats[-1].details["t"], abs=0.01 * len(stats))
    assert stats[-1].details["t"] == pytest.approx(finished[0].details["duration_s"], abs=0.2)

    by_phase = {p: [e for e in stats if e.details["phase"] == p] for p in ("steady_state", "fault", "recovery")}
    assert all(by_phase.values()), {p: len(v) for p, v in by_phase.items()}
    # Every second recorded before the kill was clean (the second the kill falls in is counted where most of it
    # was, so the last steady_state second may hold the kill's first errors).
    before = [e for e in stats if e.offset <= fault_at]
    assert before and all(e.details["error_rate"] == 0.0 for e in before), before
    assert max(e.details["error_rate"] for e in by_phase["fault"]) > 0.5
    assert by_phase["recovery"][-1].details["error_rate"] < 0.5
    assert by_phase["steady_state"][0].details["p50_ms"] is not None

    totals = finished[0].details
    assert totals["requests"] == sum(e.details["requests"] for e in stats)
    assert totals["failures"] == sum(e.details["failures"] for e in stats)
    assert totals["locust_requests"] == totals["requests"]
    successes = totals["requests"] - totals["failures"]
    # Requests in flight when Locust stops its users are answered but never reported: at most one per user.
    assert abs(server.count - successes) <= USERS, (server.count, successes)
    assert served_before_kill > 0 and totals["failures"] > 0


def test_the_harness_never_imports_locust_nor_gets_patched(make_ctx: Callable[[Scenario], RunContext], server: CountingServer) -> None:
    ctx = make_ctx(make_scenario(server.url, warmup="500ms"))
    observer = LoadObserver()
    observer.start(ctx)
    observer.stop()
    assert kinds(ctx.timeline.events, "load.stats"), "the child ran"
    assert "locust" not in sys.modules
    if "gevent.monkey" in sys.modules:
        import gevent.monkey

        assert not gevent.monkey.is_anything_patched()
    assert socket.socket.__module__ == "socket"
    assert threading.Thread.__module__ == "threading"


def test_stop_leaves_no_child_and_is_idempotent(make_ctx: Callable[[Scenario], RunContext], server: CountingServer) -> None:
    LoadObserver().stop()  # before start: nothing to do
    ctx = make_ctx(make_scenario(server.url, warmup="500ms"))
    observer = LoadObserver()
    observer.start(ctx)
    assert observer.proc is not None
    pid = observer.proc.pid
    assert not process_gone(pid)
    observer.stop()
    observer.stop()
    assert observer.proc.returncode == 0
    assert process_gone(pid)
    assert len(kinds(ctx.timeline.events, "load.finished")) == 1


def test_a_child_that_does_not_stop_is_killed(make_ctx: Callable[[Scenario], RunContext], server: CountingServer) -> None:
    """A frozen child (SIGSTOP) ignores the stop line and SIGTERM; stop() ends it with SIGKILL."""
    ctx = make_ctx(make_scenario(server.url, warmup="500ms"))
    observer = LoadObserver(stop_grace=0.5)
    observer.start(ctx)
    assert observer.proc is not None
    os.kill(observer.proc.pid, signal.SIGSTOP)
    observer.stop()
    assert observer.proc.returncode == -signal.SIGKILL
    assert process_gone(observer.proc.pid)
    finished = kinds(ctx.timeline.events, "load.finished")
    assert len(finished) == 1 and finished[0].details["complete"] is False
    assert finished[0].details["requests"] == sum(e.details["requests"] for e in kinds(ctx.timeline.events, "load.stats"))


def test_the_child_dies_with_a_killed_harness(tmp_path: Path, server: CountingServer) -> None:
    """SIGKILL of the harness (no finally, no atexit) still ends Locust."""
    script = textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        from gameday.clock import SystemClock
        from gameday.contracts import RunContext
        from gameday.observe.load import LoadObserver
        from gameday.scenario.model import Scenario
        from gameday.timeline import Timeline
        scenario = Scenario.model_validate({{"version": 1, "name": "orphan",
            "faults": [{{"kind": "container_kill", "target": "web", "duration": "1s"}}],
            "load": {{"locustfile": "steady.py", "host": "{server.url}", "users": 2, "warmup": "200ms"}}}})
        tmp = Path({str(tmp_path)!r})
        ctx = RunContext(scenario, Timeline(tmp / "t.jsonl", SystemClock()), SystemClock(), tmp, Path({str(LOCUSTFILES)!r}))
        observer = LoadObserver()
        observer.start(ctx)
        print(observer.proc.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    harness = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60)
    assert harness.returncode == -signal.SIGKILL, harness.stderr
    child = int(harness.stdout.split()[0])
    deadline = time.monotonic() + 60  # about a second; generous for a busy machine
    while not process_gone(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process_gone(child)


def test_the_child_stops_itself_at_its_max_run_time(server: CountingServer) -> None:
    """With stdin held open and no stop line, the max run time alone ends the child."""
    began = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "gameday.observe.locust_child", "--locustfile", str(LOCUSTFILES / "steady.py"),
         "--host", server.url, "--users", "2", "--spawn-rate", "10", "--max-run-time", "1.5"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert child.wait(timeout=120) == 0  # Locust's import alone took 25 s on a busy machine
        lived = time.monotonic() - began
        assert child.stdout is not None
        output = child.stdout.read()
    finally:
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()
        if child.poll() is None:
            child.kill()
            child.wait()
    lines = [json.loads(line) for line in output.splitlines()]
    assert lines[0]["type"] == "started" and lines[-1]["type"] == "finished"
    assert lines[-1]["reason"] == "max run time reached"
    # The bound counts from the child's own start (Locust's import included), not from its first user.
    # The child's own record says when it stopped: at the bound, plus the timer's lateness and the users'
    # stop on a busy machine (2.1 s seen at load 110), never an EOF or the 120 s wait; the wall clock only
    # shows it was not cut short.
    assert lived >= 1.5 and 0 < lines[-1]["duration_s"] < 1.5 + 10
    # Its totals add up (none at all when a busy machine spent the 1.5 s importing Locust: seen at load 60).
    assert lines[-1]["requests"] == sum(x["requests"] for x in lines if x["type"] == "stats")


def test_a_missing_locustfile_is_a_scenario_error(make_ctx: Callable[[Scenario], RunContext]) -> None:
    ctx = make_ctx(make_scenario("http://127.0.0.1:9", locustfile="nope.py"))
    with pytest.raises(ScenarioError, match=r"load.locustfile: locustfile .*nope.py does not exist"):
        LoadObserver().start(ctx)


@pytest.mark.parametrize(("locustfile", "message"), [
    ("no_users.py", "defines no User class"),
    ("broken.py", "cannot load locustfile .*broken.py: ImportError"),
])
def test_a_bad_locustfile_is_one_clear_error_and_no_child_is_left(make_ctx: Callable[[Scenario], RunContext], locustfile: str,
                                                                  message: str) -> None:
    ctx = make_ctx(make_scenario("http://127.0.0.1:9", locustfile=locustfile))
    observer = LoadObserver()
    with pytest.raises(LoadError, match=message) as caught:
        observer.start(ctx)
    assert isinstance(caught.value, GamedayError) and "\n" not in str(caught.value)
    assert observer.proc is not None and observer.proc.returncode == 2
    assert not kinds(ctx.timeline.events, "load.finished")



def test_a_password_in_the_host_never_reaches_the_timeline(make_ctx: Callable[[Scenario], RunContext],
                                                            server: CountingServer) -> None:
    ctx = make_ctx(make_scenario(server.url.replace("http://", "http://shop:s3cret-pw@"), warmup="500ms"))
    observer = LoadObserver()
    observer.start(ctx)
    observer.stop()
    started = kinds(ctx.timeline.events, "load.started")[0]
    assert started.details["host"] == server.url.replace("http://", "http://shop:***@")
    assert "s3cret-pw" not in ctx.timeline.path.read_text()
    assert kinds(ctx.timeline.events, "load.stats")
