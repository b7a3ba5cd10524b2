"""Load with Locust while the fault is live, without Locust in the harness's process.

``import locust`` monkey-patches the whole interpreter with gevent. The harness therefore never
imports it: :class:`LoadObserver` starts ``python -m gameday.observe.locust_child`` (Locust used as a
library: Environment, a local runner and the ``request`` event hook) and reads the per-second stats
it streams back as JSON lines on a pipe. Locust's greenlets live and are scheduled only in that
child process, so they cannot delay the harness's threads, clock, probes or signal handling; the two
share only the CPU (keep ``users`` modest on small machines).

Timeline events (actor ``load``): ``load.started``, ``load.stats`` once a second, ``load.finished``
once after ``load.started``; their details are in the event catalogue, gameday/events.py.

Lifecycle: ``start`` (at the steady-state phase) launches the child and holds the run for ``warmup``
seconds so that there is a baseline before the fault; ``stop`` (after recovery) first lets the load run
until the recovery phase has lasted ``warmup`` seconds too (a baseline after the fault), then asks the
child to stop, waits for its totals, and escalates to SIGTERM and SIGKILL if it does not exit. The
child is bounded by a max run time, dies with its parent (PR_SET_PDEATHSIG, and EOF on its stdin),
and is stopped at interpreter exit if the harness is leaving without calling ``stop``.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from gameday import events as ev
from gameday.contracts import Role, RunContext
from gameday.errors import GamedayError, ScenarioError, ServiceUnavailable
from gameday.runfiles import open_new
from gameday.scenario.model import LoadSpec, Scenario
from gameday.scoring.expectations import Verdict
from gameday.timeline import Event

START_TIMEOUT = 30.0
"""How long the child may take to import Locust, load the locustfile and start its runner."""
STOP_GRACE = 10.0
"""How long a stopped child may take to flush its totals before it gets SIGTERM (then SIGKILL)."""
RUN_TIME_MARGIN = 120.0
"""Added to the planned length of the run to get the child's max run time."""
ACTOR = "load"


class LoadError(GamedayError):
    """The load could not be started (bad locustfile, Locust missing, child failed)."""


def redact_url(url: str) -> str:
    """The URL without a password in its user part, fit for the timeline and reports."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def max_run_time(scenario: Scenario, load: LoadSpec) -> float:
    """A bound on the child's life: everything the run may take, plus a margin."""
    faults = scenario.fault_phase_length + 10.0 * len(scenario.faults)  # 10 s: the engine's EFFECTIVE_TIMEOUT
    return (2 * load.warmup + scenario.steady_state.timeout + faults + scenario.expect.recovers_within
            + RUN_TIME_MARGIN)


class LoadObserver:
    """Runs the scenario's Locust load in a child process and records its per-second stats."""

    name = "load"
    role: Role = "watches"
    order = 20

    @staticmethod
    def wanted(scenario: Scenario) -> bool:
        return scenario.load is not None

    def __init__(self, *, python: str | None = None, interval: float = 1.0, stop_grace: float = STOP_GRACE) -> None:
        self.python = python or sys.executable
        self.interval = interval
        self.stop_grace = stop_grace
        self.phase = "steady_state"
        self._phases: list[tuple[float, str]] = []  # (timeline offset, phase) of each change
        self.proc: subprocess.Popen[str] | None = None
        self._ctx: RunContext | None = None
        self._reader: threading.Thread | None = None
        self._started = threading.Event()  # the child said started, or failed to start
        self._load_ran = False  # the child said started: a load.finished is owed
        self._start_error: str | None = None
        self._finished_recorded = False
        self._recovery_since: float | None = None
        self._seen: dict[str, float] = {"requests": 0, "failures": 0, "seconds": 0.0}
        self._lock = threading.Lock()
        self._stopped = False
        self._log: IO[str] | None = None

    # --- Observer protocol ----------------------------------------------------------------------

    def start(self, ctx: RunContext) -> None:
        """Launch the child, wait until its users are spawning, then hold for the warmup."""
        load = ctx.scenario.load
        if load is None:
            return
        self._ctx = ctx
        locustfile = (ctx.scenario_dir / load.locustfile).resolve()
        if not locustfile.is_file():
            raise ScenarioError(f"locustfile {locustfile} does not exist", field="load.locustfile")
        bound = max_run_time(ctx.scenario, load)
        command = [
            self.python, "-m", "gameday.observe.locust_child",
            "--locustfile", str(locustfile), "--host", load.host, "--users", str(load.users),
            "--spawn-rate", str(load.spawn_rate), "--max-run-time", str(bound),
            "--interval", str(self.interval), "--parent-pid", str(os.getpid()),
        ]
        try:
            self._log = os.fdopen(open_new(ctx.run_dir / "locust.log"), "w", encoding="utf-8")
            self.proc = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True,
                # Own session: a Ctrl-C at the terminal goes to the harness, which stops the child in order.
                start_new_session=True, env=self._child_env(),
            )
        except OSError as exc:
            raise LoadError(f"cannot start the Locust child process: {exc.strerror}") from exc
        atexit.register(self._stop_at_exit)
        self._reader = threading.Thread(target=self._read, args=(self.proc, locustfile, load, bound),
                                        name="load-reader", daemon=True)
        self._reader.start()
        try:
            if not self._started.wait(START_TIMEOUT) and self._start_error is None:
                raise ServiceUnavailable(f"Locust did not start within {START_TIMEOUT:.0f}s (see locust.log)")
            if self._start_error is not None:
                raise LoadError(self._start_error)
            ctx.clock.sleep(load.warmup)
        except BaseException:
            self._stop(cooldown=False)  # never leave a child behind, also on Ctrl-C during the warmup
            raise

    def on_phase(self, phase: str) -> None:
        self.phase = phase
        if self._ctx is not None:
            self._phases.append((self._ctx.timeline.now(), phase))
        if phase == "recovery" and self._ctx is not None:
            self._recovery_since = self._ctx.clock.monotonic()

    def stop(self) -> None:
        """Stop the load (after a baseline in recovery); idempotent, safe before start and at exit."""
        self._stop(cooldown=True)

    def _stop_at_exit(self) -> None:
        self._stop(cooldown=False)

    def verdicts(self, scenario: Scenario, events: list[Event]) -> list[Verdict]:
        return []

    # --- internals --------------------------------------------------------------------------------

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        # The child must import this very gameday, even when it runs from a source tree.
        src = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _stop(self, *, cooldown: bool) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        proc, ctx = self.proc, self._ctx
        if proc is None or ctx is None:
            return
        try:
            if cooldown and self._wants_cooldown(ctx):
                assert self._recovery_since is not None and ctx.scenario.load is not None
                remaining = ctx.scenario.load.warmup - (ctx.clock.monotonic() - self._recovery_since)
                if remaining > 0 and proc.poll() is None:
                    ctx.clock.sleep(remaining)
        finally:
            self._end_child(proc)
            atexit.unregister(self._stop_at_exit)
            if self._reader is not None:
                self._reader.join(timeout=self.stop_grace)
            if proc.stdout is not None and not (self._reader and self._reader.is_alive()):
                proc.stdout.close()
            if self._log is not None:
                self._log.close()
            if not self._finished_recorded and self._load_ran:
                self._record_finished({}, complete=False, exit_code=proc.returncode)

    def _wants_cooldown(self, ctx: RunContext) -> bool:
        """Only a run that reached recovery normally gets a baseline after the fault; an aborted one stops now."""
        if self.phase != "recovery" or self._recovery_since is None:
            return False
        return not any(e.kind == ev.RUN_ABORTED for e in ctx.timeline.events)

    def _end_child(self, proc: subprocess.Popen[str]) -> None:
        """Ask nicely (a line on stdin, then EOF), then SIGTERM, then SIGKILL; always reap it."""
        if proc.poll() is None:
            try:
                assert proc.stdin is not None
                proc.stdin.write("stop\n")
                proc.stdin.close()
            except (BrokenPipeError, OSError, ValueError):
                pass
            try:
                proc.wait(timeout=self.stop_grace)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=3.0)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        elif proc.stdin is not None and not proc.stdin.closed:
            try:
                proc.stdin.close()
            except OSError:
                pass

    def _read(self, proc: subprocess.Popen[str], locustfile: Path, load: LoadSpec, bound: float) -> None:
        """The reader thread: every line of the child's stream becomes a timeline event."""
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                message: dict[str, Any] = json.loads(line)
            except ValueError:
                continue  # not ours: the stream is only JSON lines
            kind = message.pop("type", None)
            if kind == "started":
                message.update(locustfile=str(locustfile), host=redact_url(load.host), users=load.users,
                               spawn_rate=load.spawn_rate, max_run_time_s=round(bound, 1))
                self._emit(ev.LOAD_STARTED, **message)
                self._load_ran = True
                self._started.set()
            elif kind == "stats":
                self._seen["requests"] += message.get("requests", 0)
                self._seen["failures"] += message.get("failures", 0)
                self._seen["seconds"] += message.get("interval_s", 0.0)
                message["phase"] = self._phase_at(message.get("interval_s", 0.0))
                self._emit(ev.LOAD_STATS, **message)
            elif kind == "finished":
                self._record_finished(message, complete=True, exit_code=None)
            elif kind == "error":
                self._start_error = str(message.get("message", "the Locust child failed"))
                self._started.set()
        if not self._started.is_set():
            code = proc.wait()
            self._start_error = f"the Locust child exited with code {code} before starting (see locust.log)"
            self._started.set()

    def _phase_at(self, interval: float) -> str:
        """The phase in the middle of the second that just ended: a second is counted where most of it was."""
        assert self._ctx is not None
        middle = self._ctx.timeline.now() - interval / 2
        phase = "steady_state"
        for offset, name in list(self._phases):
            if offset <= middle:
                phase = name
        return phase

    def _emit(self, kind: str, **details: Any) -> None:
        assert self._ctx is not None
        try:
            self._ctx.timeline.record(kind, actor=ACTOR, **details)
        except ValueError:
            pass  # the timeline is already closed: a stop at interpreter exit, after the run ended

    def _record_finished(self, totals: dict[str, Any], *, complete: bool, exit_code: int | None) -> None:
        with self._lock:
            if self._finished_recorded or self._ctx is None:
                return
            self._finished_recorded = True
        if not totals:
            # The child died without its totals: sum what it streamed before it went.
            requests, failures, seconds = self._seen["requests"], self._seen["failures"], self._seen["seconds"]
            totals = {"requests": int(requests), "failures": int(failures), "duration_s": round(seconds, 3),
                      "rps": round(requests / seconds, 2) if seconds else 0.0,
                      "error_rate": round(failures / requests, 4) if requests else 0.0}
        self._emit(ev.LOAD_FINISHED, complete=complete, exit_code=exit_code, **totals)
