"""Run a facilitated drill: the engine in a background thread, the facilitator's prompts in the foreground.

Ctrl-C, SIGTERM or SIGHUP at a prompt stop the drill: ``drill.stopped`` is recorded, the engine is asked
to stop (it reverts every fault as usual) and the run ends as interrupted. If the process dies instead
(SIGKILL, a power cut), ``resume`` reverts what its journal left pending and continues the human side
from the last phase the timeline shows. The caller ends each with the one finish step (gameday.finish):
reports and history.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console

from gameday import events as ev
from gameday.clock import Clock, SystemClock, parse_iso
from gameday.contracts import Observer
from gameday.engine.cleanup import process_alive
from gameday.engine.journal import JOURNAL_NAME, Journal, pending_faults, read_records
from gameday.engine.run import Outcome, Runner, RunOptions, RunResult, StopRequest
from gameday.errors import GamedayError
from gameday.facilitator.clock import ScaledClock
from gameday.facilitator.core import DrillCore
from gameday.facilitator.events import DrillRecorder, Mode, fault_phase_offset
from gameday.facilitator.loop import DrillLoop
from gameday.facilitator.observer import FacilitatorObserver
from gameday.facilitator.pause import TabletopPause, pause_interjection
from gameday.facilitator.prompts import DrillStopped
from gameday.facilitator.scripted import ScriptedResponder, check_probes
from gameday.facilitator.session import FacilitatorSession, describe_event
from gameday.facilitator.state import drill_state
from gameday.facilitator.tabletop import tabletop_runner
from gameday.plugins import build_observers
from gameday.printable import markup_safe as safe
from gameday.scenario.model import Scenario
from gameday.scoring.expectations import judge
from gameday.timeline import Event, Timeline, read_timeline


@dataclass(frozen=True)
class DrillResult:
    run_id: str
    run_dir: Path
    exit_code: int
    outcome: str
    error: str | None = None


class _Stop(BaseException):
    """Raised in the main thread by SIGTERM / SIGHUP, as Ctrl-C raises KeyboardInterrupt."""

    def __init__(self, name: str) -> None:
        self.name = name


@contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP interrupt a prompt the way Ctrl-C does (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Stop(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    # Ctrl-C raises KeyboardInterrupt even when this process was started with SIGINT ignored (a job a
    # non-interactive shell put in the background inherits that, and Python then leaves it ignored).
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def _signals_noted(console: Console) -> Iterator[None]:
    """While the engine reverts, further signals are only noted: the revert is what was asked for."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        console.print("[yellow]reverting the faults; please wait[/]")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _printer(console: Console) -> Callable[[Event], None]:
    def listener(event: Event) -> None:
        line = describe_event(event)
        if line is not None:
            console.print(line, highlight=False)
    return listener


class DrillHost:
    """A drill's engine in a background thread, and its core once the fault phase begins.

    Both front ends use it: the terminal (``facilitate``) runs its prompts in the foreground, the drill
    room serves its seats; either ends the human side with ``done()`` (or ``stop(reason)``) and then
    ``join()`` for the result. With ``tabletop`` (or a speed) no real fault is injected."""

    def __init__(self, scenario: Scenario, scenario_file: Path, *, reports_dir: Path, env: Mapping[str, str],
                 speed: float | None = None, tabletop: bool = False, clock: Clock | None = None,
                 run_id: str | None = None, listeners: Sequence[Callable[[Event], None]] = ()) -> None:
        base = clock or SystemClock()
        self.scenario = scenario
        self.scenario_file = scenario_file
        self.env = env
        self.tabletop = tabletop or speed is not None
        self.speed = speed or 1.0
        self.mode: Mode = "tabletop" if self.tabletop else "live"
        self.clock: Clock = ScaledClock(base, self.speed) if self.tabletop else base
        self.stop_request = StopRequest()
        self.facilitator = FacilitatorObserver(mode=self.mode)
        if self.tabletop:
            self.runner = tabletop_runner(scenario, clock=self.clock, speed=self.speed, reports_dir=reports_dir,
                                          observers=[self.facilitator], stop=self.stop_request,
                                          scenario_file=scenario_file, listeners=list(listeners), run_id=run_id)
        else:
            # The people respond and follow the runbook here: only the observers that watch (load, alerts, guards) stay.
            others: list[Observer] = build_observers(scenario, roles={"watches"})
            self.runner = Runner(scenario, RunOptions(
                reports_dir=reports_dir, run_id=run_id, clock=self.clock, scenario_file=scenario_file,
                listeners=list(listeners), handle_signals=False, observers=[self.facilitator, *others],
                stop=self.stop_request))
        self.run_id = self.runner.run_id
        self._holder: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._engine, name="gameday-engine", daemon=True)
        self._core: DrillCore | None = None
        self._pause: TabletopPause | None = None

    def _engine(self) -> None:
        try:
            self._holder["result"] = self.runner.run()
        except BaseException as exc:  # noqa: BLE001 - reported by the front end, never lost
            self._holder["crash"] = exc
            self.facilitator.fault_started.set()

    def start(self) -> None:
        self._thread.start()

    @property
    def timeline(self) -> Timeline:
        return self.runner.timeline

    @property
    def started(self) -> bool:
        return self._thread.is_alive() or bool(self._holder)

    def wait_begun(self, timeout: float | None = None) -> bool:
        """Wait for the fault phase (the drill has begun) or the engine's end; True when the drill began."""
        deadline = None if timeout is None else self.clock_real() + timeout
        while not self.facilitator.fault_started.wait(0.1):
            if not self._thread.is_alive() or (deadline is not None and self.clock_real() >= deadline):
                break
        return self.facilitator.recorder is not None and "crash" not in self._holder

    @staticmethod
    def clock_real() -> float:
        return SystemClock().monotonic()

    def core(self, *, end_fault: bool = True) -> DrillCore | None:
        """The drill core once the drill has begun (one per drill), else None."""
        recorder = self.facilitator.recorder
        if recorder is None:
            return None
        if self._core is None:
            self._core = DrillCore(self.scenario, recorder, env=self.env,
                                   scenario_dir=self.scenario_file.resolve().parent,
                                   end_fault=self.stop_request.end_fault_phase if end_fault else None)
        return self._core

    def pause(self) -> TabletopPause | None:
        """The tabletop's pause (one per drill) once the drill has begun; None for a live drill (its fault is
        real and keeps running) or before the fault phase. Both front ends pause and resume through it."""
        if self._pause is None:
            self._pause = _tabletop_pause(self.clock, self.facilitator.recorder)
        return self._pause

    def _unpause(self, reason: str) -> None:
        # A stopped clock would hold the engine's fault window, and its revert, forever.
        if self._pause is not None:
            self._pause.resume(reason=reason)

    @property
    def ended(self) -> bool:
        """The engine's run is over (it finished, crashed or ended before the drill began)."""
        return self.started and not self._thread.is_alive()

    def stop(self, reason: str) -> None:
        """Stop the drill (Ctrl-C, SIGTERM, the room's stop): recorded; the engine reverts as usual."""
        self._unpause("the drill stopped")
        _record_stop(self.facilitator, self.runner, reason)
        self.stop_request.interrupt(reason)
        self.done()

    def done(self) -> None:
        """The human side is over: the engine evaluates and writes run.finished."""
        self._unpause("the drill ended")
        self.facilitator.session_done.set()

    def join(self, timeout: float | None = None) -> DrillResult:
        """The drill's result once the engine has finished (re-raises an engine crash)."""
        self._thread.join(timeout)
        if "crash" in self._holder:
            raise self._holder["crash"]
        result: RunResult = self._holder["result"]
        # The engine's outcome is the one the timeline, the report and the history show: a stop at a prompt is
        # INTERRUPTED (130) there too, even after the fault window, and a failed revert (3) still outranks it.
        return DrillResult(result.run_id, result.run_dir, result.exit_code, result.outcome.name.lower(), result.error)


def facilitate(scenario: Scenario, scenario_file: Path, *, reports_dir: Path, console: Console,
               env: Mapping[str, str], speed: float | None = None, tabletop: bool = False,
               clock: Clock | None = None, run_id: str | None = None,
               feed: Callable[[Event], None] | None = None) -> DrillResult:
    """A drill with people at one screen; with ``tabletop`` (or a speed) no real fault is injected.
    ``feed``: the timeline listener that shows what happens (default: a line on ``console`` per event)."""
    host = DrillHost(scenario, scenario_file, reports_dir=reports_dir, env=env, speed=speed, tabletop=tabletop,
                     clock=clock, run_id=run_id, listeners=[feed or _printer(console)])
    console.rule(f"[bold]gameday drill: {scenario.name}[/]")
    console.print("[bold yellow]THIS IS A DRILL[/] - " + ("a tabletop exercise: no real fault is injected; "
                  f"scenario time runs {host.speed:g}x" if host.tabletop else "a real fault is injected into "
                  f"the {scenario.stack.environment} stack and reverted at the end") + f"  (run {host.run_id})")
    stopped: str | None = None
    with _signals_raise():
        try:
            host.start()
            console.print("[dim]waiting for the system to be in steady state...[/]")
            if host.wait_begun() and host.facilitator.recorder is not None:
                console.print("[bold]The drill has begun.[/] Respond as you would to a real incident.")
                session = FacilitatorSession(
                    scenario, host.facilitator.recorder, console=console, env=env,
                    scenario_dir=scenario_file.resolve().parent, end_fault=host.stop_request.end_fault_phase,
                    interject=pause_interjection(host.pause(), console))
                session.run()
        except KeyboardInterrupt:
            stopped = "SIGINT"
        except _Stop as exc:
            stopped = exc.name
        except DrillStopped as exc:
            stopped = exc.reason
        finally:
            if stopped is not None:
                host.stop(stopped)
            host.done()
    with _signals_noted(console):
        return host.join()


def _record_stop(facilitator: FacilitatorObserver, runner: Runner, reason: str) -> None:
    timeline = runner.timeline
    if any(e.kind == ev.RUN_FINISHED for e in timeline.events):
        return  # the run ended before the drill began (steady state failed, a target was missing)
    phase = drill_state(list(timeline.events)).phase
    if facilitator.recorder is not None:
        facilitator.recorder.record(ev.DRILL_STOPPED, signal=reason, phase=phase)
    else:
        timeline.record(ev.DRILL_STOPPED, actor="facilitator", drill=True, signal=reason, phase=phase)


def tabletop_scripted(scenario: Scenario, scenario_file: Path, *, reports_dir: Path, speed: float,
                      clock: Clock | None = None, console: Console | None = None) -> DrillResult:
    """Replay the scenario's injects and responses with no human and no fault, on a compressed clock."""
    run_clock = ScaledClock(clock or SystemClock(), speed)
    stop = StopRequest()
    responder = ScriptedResponder(mode="tabletop", end_fault=stop.end_fault_phase)
    runner = tabletop_runner(scenario, clock=run_clock, speed=speed, reports_dir=reports_dir, observers=[responder],
                             stop=stop, scenario_file=scenario_file,
                             listeners=[_printer(console)] if console is not None else [])
    result = runner.run()
    return DrillResult(result.run_id, result.run_dir, result.exit_code, result.outcome.name.lower(), result.error)


# --- resume ------------------------------------------------------------------------------------


class ResumedHost:
    """A drill whose process died, continued: what ``facilitate --resume`` and ``room --resume`` share.

    Reading it checks that it can be resumed (GamedayError says why not); ``begin`` reverts what the dead
    process left live, records ``drill.resumed`` and restarts the injects; ``end`` evaluates and writes
    ``run.finished`` again. ``say`` gets each line worth showing (markup, as the terminal prints it)."""

    def __init__(self, run_dir: Path, *, env: Mapping[str, str], clock: Clock | None = None,
                 registry: Any | None = None, say: Callable[[str], None] = lambda line: None,
                 listeners: Sequence[Callable[[Event], None]] = ()) -> None:
        from gameday.scenario.loader import load_scenario

        events = read_timeline(run_dir / "timeline.jsonl")
        started = ev.first(events, ev.RUN_STARTED)
        if started is None:
            raise GamedayError(f"{run_dir}: the timeline has no run.started; nothing to resume")
        state = drill_state(events)
        if state.finished:
            raise GamedayError(f"drill {run_dir.name} already finished; nothing to resume")
        pid = started.details.get("pid")
        if isinstance(pid, int) and process_alive(pid):
            raise GamedayError(f"drill {run_dir.name} is still running (pid {pid}); stop it first")
        fault_start = fault_phase_offset(events)
        if fault_start is None:
            raise GamedayError(f"drill {run_dir.name} never reached the fault phase; start a new drill instead")
        scenario_path = run_dir / "scenario.yaml"
        if not scenario_path.is_file():
            raise GamedayError(f"{run_dir}: no scenario.yaml copy in the run folder; cannot resume")
        self.scenario = load_scenario(_same_scenario(started, scenario_path))
        self.run_dir = run_dir
        self.run_id = run_dir.name
        self.env = env
        self.say = say
        self.registry = registry
        self.events = events
        self.previous_pid = pid
        self.from_phase = state.phase or "detect"
        self.fault_start = fault_start
        self.scenario_dir = _scenario_dir(started, run_dir)
        self.mode: Mode = "tabletop" if started.details.get("mode") == "tabletop" else "live"
        self.tabletop = self.mode == "tabletop"
        self.speed = float(started.details.get("speed") or 1.0)
        base = clock or SystemClock()
        last = events[-1]
        if self.tabletop:
            # Scenario time continues from the last event: the time the process was dead is not replayed.
            self.clock: Clock = ScaledClock(base, self.speed, start_wall=parse_iso(last.at))
            origin = self.clock.monotonic() - last.offset
        else:
            self.clock = base
            origin = base.monotonic() - (base.wall() - parse_iso(started.at)).total_seconds()
        self.timeline = Timeline(run_dir / "timeline.jsonl", self.clock, origin=origin)
        self.timeline.events.extend(events)
        for listener in listeners:
            self.timeline.subscribe(listener)
        self.recorder: DrillRecorder | None = None
        self.loop: DrillLoop | None = None
        self._core: DrillCore | None = None
        self._pause: TabletopPause | None = None
        self._begun = threading.Event()
        self._ended = threading.Event()
        self._result: DrillResult | None = None
        self._crash: BaseException | None = None
        self._end_lock = threading.Lock()

    def begin(self) -> None:
        """Revert the leftovers, record drill.resumed, wait for recovery (live) and restart the injects."""
        try:
            from gameday.faults.base import FaultRegistry

            reverted = _revert_leftovers(self.run_dir, self.timeline, self.events, self.registry or FaultRegistry(),
                                         self.say, self.mode)
            recorder = DrillRecorder(self.timeline, fault_start=self.fault_start, mode=self.mode)
            recorder.record(ev.DRILL_RESUMED, from_phase=self.from_phase, previous_pid=self.previous_pid,
                            reverted=reverted)
            last_pause = ev.last(self.events, ev.TABLETOP_PAUSED, ev.TABLETOP_RESUMED)
            if last_pause is not None and last_pause.kind == ev.TABLETOP_PAUSED:
                # The process died while paused: this process's clock runs; the record closes the old pause.
                recorder.record(ev.TABLETOP_RESUMED, reason="the drill was resumed after its process died")
            if self.mode == "live" and not any(e.kind in (ev.RECOVERY_MET, ev.RECOVERY_FAILED) for e in self.events):
                _wait_recovery(self.scenario, self.timeline, self.clock, self.say)
            self.loop = DrillLoop(self.scenario, recorder, self.clock, name="facilitator-injects")
            self.loop.start()
            self.recorder = recorder
        except BaseException as exc:
            self._crash = exc
            raise
        finally:
            self._begun.set()

    # The room's interface (DrillHost's): begin in a thread, wait, act through the core, end.

    def start(self) -> None:
        def run() -> None:
            try:
                self.begin()
            except BaseException:  # noqa: BLE001 - kept in _crash, raised again by join()
                pass
        threading.Thread(target=run, name="gameday-resume", daemon=True).start()

    def wait_begun(self, timeout: float | None = None) -> bool:
        self._begun.wait(timeout)
        return self.recorder is not None

    def core(self) -> DrillCore | None:
        if self.recorder is None:
            return None
        if self._core is None:
            self._core = DrillCore(self.scenario, self.recorder, scenario_dir=self.scenario_dir, env=self.env)
        return self._core

    def pause(self) -> TabletopPause | None:
        """As DrillHost.pause: the resumed tabletop's pause once begun; None for a live drill."""
        if self._pause is None:
            self._pause = _tabletop_pause(self.clock, self.recorder)
        return self._pause

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def stop(self, reason: str) -> None:
        self.end(reason)

    def done(self) -> None:
        self.end(None)

    def end(self, stopped: str | None) -> DrillResult:
        """Stop the injects, evaluate (live) and write run.finished; ``stopped``: the reason it was stopped."""
        with self._end_lock:
            if self._result is not None:
                return self._result
            if self.loop is not None:
                self.loop.stop()
            if self._pause is not None:
                # Closed in the record before the stop or the evaluation, as DrillHost does.
                self._pause.resume(reason="the drill stopped" if stopped is not None else "the drill ended")
            timeline = self.timeline
            if stopped is not None:
                if self.recorder is not None:
                    self.recorder.record(ev.DRILL_STOPPED, signal=stopped, phase=drill_state(list(timeline.events)).phase)
                outcome, exit_code = Outcome.INTERRUPTED, 130
            else:
                timeline.record(ev.PHASE_CHANGED, phase="evaluation")
                verdicts = judge(self.scenario, list(timeline.events)) if self.mode == "live" else []
                for v in verdicts:
                    timeline.record(ev.EXPECTATION_MET if v.met else ev.EXPECTATION_FAILED, name=v.name, detail=v.detail)
                outcome = Outcome.PASSED if all(v.met for v in verdicts) else Outcome.FAILED
                exit_code = outcome.exit_code
            # The last event is a run.finished again (a drill stopped by Ctrl-C and resumed has had one before).
            timeline.record(ev.RUN_FINISHED, outcome=outcome.name.lower(), exit_code=outcome.exit_code, resumed=True)
            timeline.close()
            self._result = DrillResult(self.run_id, self.run_dir, exit_code, outcome.name.lower())
            self._ended.set()
            return self._result

    def join(self, timeout: float | None = None) -> DrillResult:
        self._ended.wait(timeout)
        if self._crash is not None:
            raise self._crash
        if self._result is None:
            raise GamedayError(f"drill {self.run_id} has not ended")
        return self._result


def resume(run_dir: Path, *, console: Console, env: Mapping[str, str], clock: Clock | None = None,
           registry: Any | None = None, feed: Callable[[Event], None] | None = None) -> DrillResult:
    """Continue a drill whose process died: revert what it left, then ask what the timeline has not answered."""
    host = ResumedHost(run_dir, env=env, clock=clock, registry=registry, listeners=[feed or _printer(console)],
                       say=lambda line: console.print(line))
    if feed is not None:
        for event in host.events:
            feed(event)  # the screen's status line starts from what the record already says
    console.rule(f"[bold]gameday drill: {host.scenario.name} (resumed)[/]")
    console.print(f"[bold yellow]THIS IS A DRILL[/] - resuming run {safe(run_dir.name)} from phase "
                  f"{safe(host.from_phase)}")
    host.begin()
    assert host.recorder is not None
    stopped: str | None = None
    with _signals_raise():
        try:
            session = FacilitatorSession(host.scenario, host.recorder, console=console, env=env,
                                         scenario_dir=host.scenario_dir,
                                         interject=pause_interjection(host.pause(), console))
            session.run()
        except KeyboardInterrupt:
            stopped = "SIGINT"
        except _Stop as exc:
            stopped = exc.name
        except DrillStopped as exc:
            stopped = exc.reason
        finally:
            if host.loop is not None:
                host.loop.stop()
    return host.end(stopped)


def _tabletop_pause(clock: Clock, recorder: DrillRecorder | None) -> TabletopPause | None:
    """A pause for a tabletop's clock once its drill has begun; None for a live drill or before."""
    if recorder is None or not isinstance(clock, ScaledClock):
        return None
    return TabletopPause(clock, recorder)


def _same_scenario(started: Event, copy: Path) -> Path:
    """The original scenario file when it still reads exactly as the run's copy, else the copy: paths in a
    scenario (a stack file, a locustfile) are relative to where it was, not to the run folder."""
    original = Path(str(started.details.get("scenario_file") or ""))
    try:
        if original.name and original.is_file() and original.read_bytes() == copy.read_bytes():
            return original
    except OSError:
        pass
    return copy


def _scenario_dir(started: Event, run_dir: Path) -> Path:
    original = str(started.details.get("scenario_file") or "")
    if original and Path(original).parent.is_dir():
        return Path(original).resolve().parent
    return run_dir


def _revert_leftovers(run_dir: Path, timeline: Timeline, events: list[Event], registry: Any,
                      say: Callable[[str], None], mode: Mode) -> list[str]:
    """Revert the faults the dead process left live (from its journal); simulated ones are just ended."""
    reverted: list[str] = []
    labels = {str(e.details.get("fault_id")): str(e.details.get("fault")) for e in events if e.kind == ev.FAULT_INTENDED}
    journal_path = run_dir / JOURNAL_NAME
    pending = pending_faults(journal_path)
    if pending:
        journal = Journal(journal_path, run_id=pending[0].run_id, clock=timeline.clock)
        for fault in reversed(pending):
            label = labels.get(fault.fault_id, fault.fault_id)
            say(f"reverting the fault left live: {safe(fault.handle.description)}")
            try:
                registry.create(fault.handle.kind).revert(fault.handle)
            except GamedayError as exc:
                journal.revert_failed(fault.fault_id, str(exc))
                timeline.record(ev.REVERT_FAILED, fault=label, error=str(exc))
                continue
            journal.reverted(fault.fault_id, by="resume")
            timeline.record(ev.FAULT_REVERTED, fault=label, by="resume")
            reverted.append(label)
    # Faults reverted meanwhile by someone else (the watchdog, `gameday cleanup`) go into the timeline too.
    in_timeline = {str(e.details.get("fault")) for e in events if e.kind == ev.FAULT_REVERTED} | set(reverted)
    for record in read_records(journal_path):
        label = labels.get(str(record.get("fault_id")), str(record.get("fault_id")))
        if record.get("op") == "reverted" and label not in in_timeline:
            timeline.record(ev.FAULT_REVERTED, fault=label, by=record.get("by"), reverted_at=record.get("at"))
            in_timeline.add(label)
    if mode == "tabletop" and drill_state(events).fault_live:
        live = {str(e.details.get("fault")) for e in events if e.kind == ev.FAULT_INJECTED} - \
            {str(e.details.get("fault")) for e in events if e.kind == ev.FAULT_REVERTED}
        for label in sorted(live):
            timeline.record(ev.FAULT_REVERTED, fault=label, simulated=True, by="resume")
            reverted.append(label)
    return reverted


def _wait_recovery(scenario: Scenario, timeline: Timeline, clock: Clock, say: Callable[[str], None]) -> None:
    """After reverting on resume, wait (bounded) for the steady-state probes, as the engine would have."""
    if not scenario.steady_state.probes:
        return
    say("[dim]waiting for the system to recover...[/]")
    start = clock.monotonic()
    limit = scenario.expect.recovers_within
    while True:
        results = check_probes(scenario)
        elapsed = clock.monotonic() - start
        if all(ok for _, ok, _ in results):
            timeline.record(ev.RECOVERY_MET, after_s=round(elapsed, 3), by="resume")
            return
        if elapsed >= limit:
            timeline.record(ev.RECOVERY_FAILED, after_s=None, waited_s=round(elapsed, 3), by="resume",
                            failing=[name for name, ok, _ in results if not ok])
            return
        clock.sleep(0.5)
