"""Run one scenario: preflight -> steady state -> inject -> observe -> revert (in finally) -> recovery -> evaluate.

The engine prints nothing; it writes the timeline and the journal, and listeners (the CLI's live view)
subscribe to timeline events. A tabletop is this same run with ``RunOptions.simulation`` (engine/simulate.py):
simulated faults and probes on scenario time, nothing journalled, no watchdog, no lock.
"""

from __future__ import annotations

import enum
import functools
import os
import secrets
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gameday import events as ev
from gameday.clock import Clock, SystemClock
from gameday.contracts import Observer, Observes, RunContext
from gameday.engine.abort import aborted_since
from gameday.engine.journal import JOURNAL_NAME, Journal
from gameday.engine.safety import TargetLocks, check_allowed, holder, resource_key, shared_target_problems
from gameday.engine.signals import NoGuard, SignalGuard
from gameday.engine.simulate import NullJournal, SimulatedRegistry, Simulation
from gameday.engine.watchdog import HEARTBEAT_EVERY, start_watchdog
from gameday.errors import EnvironmentProblem, GamedayError, RunAborted, RunInterrupted, TargetError
from gameday.faults.base import FaultDriver, FaultHandle, FaultRegistry
from gameday.observe.probes import Prober, ProbeResult
from gameday.plugins import build_observers
from gameday.runfiles import write_file
from gameday.scenario.model import FaultSpec, ProbeSpec, Scenario, StackSpec
from gameday.scoring.expectations import Verdict, judge
from gameday.timeline import Listener, Timeline

REVERT_RETRY_SECONDS = 30.0
"""How long a revert keeps trying while Docker or Toxiproxy is unreachable (say, restarting)."""

EFFECTIVE_TIMEOUT = 10.0
"""How long to wait for a fault to show in the target's state before going on without a fault.effective."""


class Outcome(enum.Enum):
    """The closed set of ways a run ends, each with its exit code."""

    PASSED = 0
    FAILED = 1  # an expectation did not hold
    STEADY_STATE_FAILED = 11  # the system was not healthy before we began; nothing was injected
    ERROR = 2  # environment or target problem
    REVERT_FAILED = 3  # a fault could not be reverted: needs a human now
    ABORTED = 4  # a guard (abort condition) tripped, or `gameday abort` was asked; faults reverted at once
    INTERRUPTED = 130

    @property
    def exit_code(self) -> int:
        return {Outcome.STEADY_STATE_FAILED: 1}.get(self, self.value)


class StopRequest:
    """Asks a run, from another thread, to end its fault phase early (a drill's all-clear) or to stop as if
    interrupted (Ctrl-C at a facilitator's prompt). Either way faults are reverted as usual."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name: str | None = None

    def end_fault_phase(self) -> None:
        self._event.set()

    def interrupt(self, signal_name: str) -> None:
        self.signal_name = self.signal_name or signal_name
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


@dataclass
class RunOptions:
    reports_dir: Path = Path("reports")
    run_id: str | None = None
    clock: Clock = field(default_factory=SystemClock)
    registry: FaultRegistry | None = None
    state_dir: Path | None = None
    listeners: list[Listener] = field(default_factory=list)
    scenario_file: Path | None = None
    handle_signals: bool = True
    observers: list[Observer] | None = None
    """None: the observers the scenario wants, from the gameday.observers entry points (load, alerts, ...)."""
    allow_production: bool = False
    watchdog: bool = True
    """Start the dead-man's switch process (off only for tests on a fake clock)."""
    stop: StopRequest | None = None
    """Set from another thread (a facilitated drill) to end the fault phase early or to stop the run."""
    simulation: Simulation | None = None
    """A tabletop: nothing is injected, probed, journalled or locked; the clock is scenario time."""


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    outcome: Outcome
    verdicts: list[Verdict]
    error: str | None = None

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    @property
    def expectations_met(self) -> bool:
        return self.outcome is Outcome.PASSED


def new_run_id(scenario: Scenario, clock: Clock) -> str:
    return f"{clock.wall().strftime('%Y%m%dT%H%M%SZ')}-{scenario.name}-{secrets.token_hex(2)}"


@dataclass
class _LiveFault:
    fault_id: str
    spec: FaultSpec
    driver: FaultDriver
    handle: FaultHandle
    injected_at: float


def record_check(timeline: Timeline, result: ProbeResult, phase: str) -> None:
    timeline.record(ev.PROBE_CHECKED, actor=f"probe:{result.probe}", phase=phase, **result.details())


class ProbeLoop:
    """Runs each probe on its own interval in a background thread, recording ``probe.checked``."""

    def __init__(self, probes: list[ProbeSpec], timeline: Timeline, *, phase: str,
                 stack: StackSpec | None = None) -> None:
        self.probes = probes
        self.stack = stack
        self.timeline = timeline
        self.phase = phase
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for probe in self.probes:
            thread = threading.Thread(target=self._loop, args=(probe,), name=f"probe-{probe.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _loop(self, probe: ProbeSpec) -> None:
        prober = Prober(self.stack)  # one client per thread: httpx clients are not shared across threads here
        try:
            while not self._stop.is_set():
                started = self.timeline.now()
                result = prober.check(probe)
                if self._stop.is_set():
                    break
                record_check(self.timeline, result, self.phase)
                self._stop.wait(max(0.0, probe.interval - (self.timeline.now() - started)))
        finally:
            prober.close()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)


class Runner:
    def __init__(self, scenario: Scenario, options: RunOptions) -> None:
        self.scenario = scenario
        self.options = options
        self.clock = options.clock
        self.simulation = options.simulation
        self.registry: FaultRegistry | SimulatedRegistry = (
            SimulatedRegistry() if self.simulation else options.registry or FaultRegistry())
        # Made before the run folder exists: a broken observer plugin is one line, and nothing was started.
        self.observers: list[Observer] = (
            list(options.observers) if options.observers is not None else build_observers(scenario)
        )
        self.run_id = options.run_id or new_run_id(scenario, self.clock)
        self.run_dir = options.reports_dir / self.run_id
        if (self.run_dir / "timeline.jsonl").exists():
            # Two runs in one timeline and journal would corrupt both records.
            raise GamedayError(f"run id {self.run_id} is taken: {self.run_dir} already holds a run; choose another")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.timeline = Timeline(self.run_dir / "timeline.jsonl", self.clock)
        for listener in options.listeners:
            self.timeline.subscribe(listener)
        self.journal: Journal | NullJournal = NullJournal() if self.simulation else Journal(
            self.run_dir / JOURNAL_NAME, run_id=self.run_id, clock=self.clock, state_dir=options.state_dir)
        self._sim: dict[str, Any] = {"simulated": True} if self.simulation else {}
        """Added to the fault events of a tabletop, so no reader takes them for real ones."""
        self.prober = Prober(scenario.stack)
        self.live: list[_LiveFault] = []
        self.guard = SignalGuard() if options.handle_signals else NoGuard()
        self.revert_failed = False
        self._running: list[Observer] = []
        """The observers started so far: only these hear phases and are stopped."""
        self._observers_stopped = False
        self.locks = TargetLocks(run_id=self.run_id, scenario=scenario.name, state_dir=options.state_dir)
        self._abort_reason: str | None = None
        self._revert_reason: str | None = None
        self._stop = options.stop or StopRequest()
        self._heartbeat_stop = threading.Event()
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._wake_watchdog: int | None = None
        """Our end of the watchdog's wake pipe: closing it (or dying) wakes the watchdog at once."""

    def request_abort(self, reason: str) -> None:
        """Ask the run to stop injecting and revert at once (from a guard, in any thread)."""
        if self._abort_reason is None:
            self._abort_reason = reason
            self.timeline.record(ev.GUARD_TRIPPED, reason=reason)

    # --- phases -----------------------------------------------------------------------------

    def _copy_stack_file(self, source: Path) -> None:
        """The stack file beside the scenario's copy, where ``stack: <name>`` finds it when a drill is resumed."""
        from gameday.errors import UnreadableFile
        from gameday.scenario.yaml_source import MAX_FILE_BYTES
        from gameday.userfiles import read_regular_file

        try:
            text = read_regular_file(source, limit=MAX_FILE_BYTES)
        except UnreadableFile:
            return  # gone since it was read: the run goes on with the stack it loaded, a resume will say so
        (self.run_dir / "stacks").mkdir(exist_ok=True)
        write_file(self.run_dir / "stacks" / source.name, text)

    def run(self) -> RunResult:
        if self.options.scenario_file is not None:
            write_file(self.run_dir / "scenario.yaml", self.options.scenario_file.read_bytes())  # never through a link
        if self.scenario.stack.source:
            self._copy_stack_file(Path(self.scenario.stack.source))
        self.timeline.record(
            ev.RUN_STARTED,
            run_id=self.run_id,
            scenario=self.scenario.name,
            description=self.scenario.description,
            stack=self.scenario.stack.name,
            environment=self.scenario.stack.environment,
            tags=list(self.scenario.tags),
            scenario_file=str(self.options.scenario_file or ""),
            drill=True,
            pid=os.getpid(),
            faults=[
                {"fault": f.label, "kind": f.kind, "target": f.target, "at_s": f.at, "duration_s": f.duration}
                for f in self.scenario.faults
            ],
            expected_severity=self.scenario.severity,
            severities=self.scenario.severity_changes(),
            names_in_report=self.scenario.names_in_report,
            recovers_within_s=self.scenario.expect.recovers_within,
            **(self.simulation.started_details() if self.simulation else {}),
        )
        outcome, error = Outcome.ERROR, None
        verdicts: list[Verdict] = []
        with self.guard:
            try:
                outcome, verdicts = self._phases()
            except GamedayError as exc:
                outcome = (Outcome.INTERRUPTED if isinstance(exc, RunInterrupted)
                           else Outcome.ABORTED if isinstance(exc, RunAborted) else Outcome.ERROR)
                error = str(exc)
                self.timeline.record(ev.RUN_ABORTED, reason=error)
            finally:
                self.guard.disarm()
                self._revert_all()
                self._stop_observers()
                self._finish_safety()
        if self.guard.received:
            self.timeline.record(ev.SIGNAL_RECEIVED, signal=self.guard.received)
        if self.revert_failed:
            outcome = Outcome.REVERT_FAILED
            error = error or "a fault could not be reverted; run `gameday cleanup`"
        self.timeline.record(ev.RUN_FINISHED, outcome=outcome.name.lower(), exit_code=outcome.exit_code, error=error)
        self.timeline.close()
        self.prober.close()
        return RunResult(self.run_id, self.run_dir, outcome, verdicts, error)

    def _phases(self) -> tuple[Outcome, list[Verdict]]:
        self._phase("preflight")
        prepared = [(spec, *self._prepare(spec)) for spec in self.scenario.faults]
        for index, (problem, _note) in shared_target_problems(prepared).items():
            if problem:
                spec = prepared[index][0]
                raise TargetError(f"fault {spec.label} {problem}", target=spec.target)
        if self.simulation is None:  # a tabletop touches nothing: no allowlist, lock or watchdog to keep
            for _spec, _driver, handle in prepared:
                check_allowed(handle, self.scenario.stack, allow_production=self.options.allow_production)
            if self.scenario.stack.environment == "production":
                self.timeline.record(ev.SAFETY_OVERRIDE, what="production faults allowed by --allow-production")
            for _spec, _driver, handle in prepared:
                self.locks.acquire(resource_key(handle))
            self._start_safety()

        self._phase("steady_state")
        self._start_observers()
        if not self._wait_steady_state():
            return Outcome.STEADY_STATE_FAILED, []

        self._phase("fault")
        probes = ProbeLoop([] if self.simulation else self.scenario.steady_state.probes, self.timeline, phase="fault",
                           stack=self.scenario.stack)
        probes.start()
        try:
            self._fault_schedule(prepared)
        finally:
            probes.stop()
            self._revert_all()

        self._phase("recovery")
        self._wait_recovery()

        self._stop_observers()
        # A stop asked for while the observers held the run open (Ctrl-C at a drill's prompt after the
        # fault window) is an interruption too, not a pass: the faults are already reverted.
        self._stop_requested()
        self._phase("evaluation")
        # A tabletop's system was never touched: only its observers (the team's response) are judged.
        verdicts = [] if self.simulation else judge(self.scenario, self.timeline.events)
        for observer in self.observers:
            verdicts.extend(observer.verdicts(self.scenario, self.timeline.events))
        for v in verdicts:
            self.timeline.record(ev.EXPECTATION_MET if v.met else ev.EXPECTATION_FAILED, name=v.name, detail=v.detail)
        return (Outcome.PASSED if all(v.met for v in verdicts) else Outcome.FAILED), verdicts

    def _stop_requested(self) -> bool:
        """True when asked to end the fault phase early; raises RunInterrupted when asked to stop."""
        stop = self._stop
        if not stop.is_set():
            return False
        if stop.signal_name:
            raise RunInterrupted(stop.signal_name)
        return True

    def _start_safety(self) -> None:
        heartbeat = self.run_dir / "heartbeat"
        heartbeat.touch()

        started = self.clock.wall().timestamp()

        def beat() -> None:
            while not self._heartbeat_stop.wait(HEARTBEAT_EVERY):
                heartbeat.touch()
                if aborted_since(started, self.options.state_dir) and not self._stop.is_set():
                    # As the SIGTERM `gameday abort` sends a run with live faults: interrupted, reverted, 130.
                    self.timeline.record(ev.ABORT_REQUESTED, by="gameday abort")
                    self._stop.interrupt("gameday abort")

        threading.Thread(target=beat, name="heartbeat", daemon=True).start()
        if self.options.watchdog:
            wake_read, self._wake_watchdog = os.pipe()
            try:
                self._watchdog = start_watchdog(self.run_dir / JOURNAL_NAME, heartbeat, harness_pid=os.getpid(),
                                                state_dir=self.options.state_dir,
                                                heartbeat_timeout=self.scenario.safety.heartbeat_timeout,
                                                wake_fd=wake_read)
            finally:
                os.close(wake_read)
            self.timeline.record(ev.WATCHDOG_STARTED, pid=self._watchdog.pid)

    def _finish_safety(self) -> None:
        self._heartbeat_stop.set()
        try:
            self.journal.close()
        except GamedayError as exc:
            self.timeline.record(ev.JOURNAL_FAILED, error=str(exc))
        self.locks.release_all()
        if self._wake_watchdog is not None:  # the journal is closed: the watchdog may look now, not at its next poll
            os.close(self._wake_watchdog)
            self._wake_watchdog = None
        if self._watchdog is not None:
            try:
                self._watchdog.wait(timeout=5)  # it leaves once the journal is closed and nothing is pending
            except subprocess.TimeoutExpired:
                # It stays only if the journal could not be closed; nothing is pending, so it may go.
                self._watchdog.terminate()
                self._watchdog.wait(timeout=5)

    def _phase(self, name: str) -> None:
        self.timeline.record(ev.PHASE_CHANGED, phase=name)
        for observer in self._running:
            self._observer_call(observer, "on_phase", functools.partial(observer.on_phase, name))

    def _observer_call(self, observer: Observer, what: str, call: Callable[[], None]) -> None:
        # An observer that fails is recorded; it never stops the run or its reverts.
        try:
            call()
        except RunInterrupted:
            raise  # Ctrl-C inside an observer (the load's warmup) is the user's, not the observer's failure
        except GamedayError as exc:
            self.timeline.record(ev.OBSERVER_FAILED, observer=observer.name, during=what, error=str(exc))

    def _start_observers(self) -> None:
        scenario_dir = (self.options.scenario_file or Path("x")).resolve().parent
        ctx = RunContext(self.scenario, self.timeline, self.clock, self.run_dir, scenario_dir, self.request_abort,
                         self._stop.end_fault_phase, simulated=self.simulation is not None)
        for observer in self.observers:
            self._running.append(observer)
            self._observer_call(observer, "start", functools.partial(observer.start, ctx))

    def _stop_observers(self) -> None:
        if self._observers_stopped:
            return
        self._observers_stopped = True
        interrupted: RunInterrupted | None = None
        for observer in self._running:
            try:
                self._observer_call(observer, "stop", observer.stop)
            except RunInterrupted as exc:
                interrupted = interrupted or exc  # the other observers are still stopped
        if interrupted is not None:
            raise interrupted

    def _prepare(self, spec: FaultSpec) -> tuple[FaultDriver, FaultHandle]:
        driver = self.registry.create(spec.kind)
        try:
            return driver, driver.prepare(spec, self.scenario.stack)
        except TargetError as exc:
            # A target another run is breaking right now looks "not ready"; name the run instead.
            target = self.scenario.stack.targets.get(spec.target)
            held_by = holder(exc.resource, self.locks, platform=target.platform if target else "") \
                if exc.resource else None
            if held_by is not None:
                raise TargetError(f"{exc.resource} is in use by run {held_by}; one run per target",
                                  target=exc.target) from exc
            raise

    def _probe_round(self, phase: str) -> list[ProbeResult]:
        results = []
        for probe in self.scenario.steady_state.probes:
            result = self.prober.check(probe)
            record_check(self.timeline, result, phase)
            results.append(result)
        return results

    def _round_interval(self) -> float:
        return min((p.interval for p in self.scenario.steady_state.probes), default=1.0)

    def _wait_steady_state(self) -> bool:
        spec = self.scenario.steady_state
        if self.simulation:
            self.timeline.record(ev.STEADY_STATE_MET, rounds=0, note=self.simulation.steady_state_note)
            return True
        if not spec.probes:
            self.timeline.record(ev.STEADY_STATE_MET, rounds=0, note="no probes declared")
            return True
        start = self.clock.monotonic()
        green = 0
        last_failure = ""
        while True:
            self._stop_requested()
            results = self._probe_round("steady_state")
            if all(r.ok for r in results):
                green += 1
                if green >= spec.healthy_checks:
                    self.timeline.record(ev.STEADY_STATE_MET, rounds=green)
                    return True
            else:
                green = 0
                last_failure = "; ".join(f"{r.probe}: {r.error}" for r in results if not r.ok)
            if self.clock.monotonic() - start >= spec.timeout:
                self.timeline.record(ev.STEADY_STATE_FAILED, reason=last_failure or "not enough green rounds")
                return False
            self.clock.sleep(self._round_interval())

    def _fault_schedule(self, prepared: list[tuple[FaultSpec, FaultDriver, FaultHandle]]) -> None:
        pending = sorted(enumerate(prepared), key=lambda item: item[1][0].at)
        phase_start = self.clock.monotonic()
        while pending or self.live:
            if self._abort_reason is not None:
                raise RunAborted(self._abort_reason)
            if self._stop_requested():
                self.timeline.record(ev.FAULT_PHASE_ENDED, reason="ended early on request")
                if self.simulation:
                    self._revert_reason = self.simulation.ended_early_reason
                break
            now = self.clock.monotonic() - phase_start
            while pending and pending[0][1][0].at <= now:
                index, (spec, driver, handle) = pending.pop(0)
                self._inject(f"f{index}", spec, driver, handle)
            for live in list(self.live):
                if now >= live.spec.at + live.spec.duration:
                    self._revert(live)
            upcoming = [item[1][0].at for item in pending] + [lf.spec.at + lf.spec.duration for lf in self.live]
            if upcoming:
                tick = self.simulation.tick_s if self.simulation else 0.25
                self.clock.sleep(min(tick, max(0.0, min(upcoming) - (self.clock.monotonic() - phase_start))))

    def _inject(self, fault_id: str, spec: FaultSpec, driver: FaultDriver, handle: FaultHandle) -> None:
        # Stamped before the journal sees it, so a driver marks what it changes as this run's and fault's, and a
        # revert from the journal (cleanup, watchdog) knows the same marks.
        handle = replace(handle, run_id=self.run_id, fault_id=fault_id)
        details: dict[str, Any] = {"fault": spec.label, "fault_id": fault_id, "kind": spec.kind, "target": spec.target,
                   "description": handle.description, **self._sim}
        live = _LiveFault(fault_id, spec, driver, handle, self.timeline.now())
        self._observe(driver, spec, handle, "before")
        with self.guard.shield():
            # Journalled, then registered as live, before inject: if inject half-succeeds or a signal
            # lands inside it, revert still runs (here, or from the journal by `gameday cleanup`).
            ttl = spec.duration + self.scenario.safety.ttl_margin
            self.journal.intend(fault_id, handle, deadline_monotonic=self.clock.monotonic() + ttl)
            self.live.append(live)
            self.timeline.record(ev.FAULT_INTENDED, **details)
        start = self.clock.monotonic()
        try:
            # Shielded: a signal waits until the call returns, so the revert never races an inject still
            # in flight at the daemon (a stop landing after our start would leave the target broken).
            with self.guard.shield():
                driver.inject(handle)
        except GamedayError as exc:
            self.timeline.record(ev.FAULT_FAILED, fault=spec.label, error=str(exc))
            raise
        self.journal.injected(fault_id)
        self.timeline.record(ev.FAULT_INJECTED, duration_s=spec.duration, **details)
        # The wait is counted from inject's return: an inject slower than the timeout (100 pods deleted one by
        # one on a busy cluster) is still checked, and after_ms still counts from the inject call.
        injected = self.clock.monotonic()
        while True:
            if driver.check(handle):
                self.timeline.record(ev.FAULT_EFFECTIVE, fault=spec.label,
                                     after_ms=round((self.clock.monotonic() - start) * 1000, 1), **self._sim)
                break
            if self.clock.monotonic() - injected >= EFFECTIVE_TIMEOUT:
                break
            self.clock.sleep(0.02)
        self._observe(driver, spec, handle, "during")

    def _observe(self, driver: FaultDriver, spec: FaultSpec, handle: FaultHandle, phase: str) -> None:
        """Record what a driver reports about its target (optional ``observations(handle, phase)``, e.g.
        disk.usage) before inject, after inject and after revert; a failure is recorded, never raised."""
        if not isinstance(driver, Observes):
            return
        try:
            for kind, details in driver.observations(handle, phase):
                self.timeline.record(kind, **{"fault": spec.label, **details})
        except GamedayError as exc:
            self.timeline.record(ev.OBSERVATION_FAILED, fault=spec.label, phase=phase, error=str(exc))

    def _revert(self, live: _LiveFault) -> None:
        """Revert one live fault; a failure is recorded loudly and the others are still reverted."""
        with self.guard.shield():
            start = self.clock.monotonic()
            if live in self.live:
                self.live.remove(live)
            # Before the driver acts: whoever judges "restored by whom" must know the harness began undoing it.
            self.timeline.record(ev.REVERT_STARTED, fault=live.spec.label, fault_id=live.fault_id, **self._sim)
            try:
                self._revert_with_retry(live)
            except GamedayError as exc:
                self.revert_failed = True
                self.journal.revert_failed(live.fault_id, str(exc))
                self.timeline.record(ev.REVERT_FAILED, fault=live.spec.label, error=str(exc))
                return
            self.journal.reverted(live.fault_id)
            self.timeline.record(
                ev.FAULT_REVERTED,
                fault=live.spec.label,
                duration_s=round(self.timeline.now() - live.injected_at, 3),
                revert_ms=round((self.clock.monotonic() - start) * 1000, 1),
                **self._sim,
                **({"reason": self._revert_reason} if self._revert_reason else {}),
            )
        self._observe(live.driver, live.spec, live.handle, "after")

    def _revert_with_retry(self, live: _LiveFault) -> None:
        """A daemon or proxy that is restarting gets REVERT_RETRY_SECONDS to come back; other errors fail at once."""
        deadline = self.clock.monotonic() + REVERT_RETRY_SECONDS
        delay = 0.2
        while True:
            try:
                live.driver.revert(live.handle)
                return
            except EnvironmentProblem as exc:
                if self.clock.monotonic() + delay > deadline:
                    raise
                self.timeline.record(ev.REVERT_RETRYING, fault=live.spec.label, error=str(exc))
                self.clock.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _revert_all(self) -> None:
        for live in reversed(list(self.live)):
            self._revert(live)

    def _wait_recovery(self) -> None:
        if self.simulation:
            self.timeline.record(ev.RECOVERY_MET, after_s=0.0, note=self.simulation.recovery_note)
            return
        if not self.scenario.steady_state.probes:
            self.timeline.record(ev.RECOVERY_MET, after_s=0.0, note="no probes declared")
            return
        start = self.clock.monotonic()
        limit = self.scenario.expect.recovers_within
        while True:
            self._stop_requested()
            results = self._probe_round("recovery")
            elapsed = self.clock.monotonic() - start
            if all(r.ok for r in results):
                self.timeline.record(ev.RECOVERY_MET, after_s=round(elapsed, 3))
                return
            if elapsed >= limit:
                self.timeline.record(ev.RECOVERY_FAILED, after_s=None, waited_s=round(elapsed, 3),
                                     failing=[r.probe for r in results if not r.ok])
                return
            self.clock.sleep(self._round_interval())


def run_scenario(scenario: Scenario, options: RunOptions | None = None) -> RunResult:
    """Run a checked scenario end to end; never leaves a fault behind it when it returns."""
    return Runner(scenario, options or RunOptions()).run()

