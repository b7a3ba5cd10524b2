"""A scripted team: the scenario's ``responses:`` performed at T+at, for CI resilience checks and tests.

From the moment the fault phase starts, a background thread performs each step when its time comes
and releases the scenario's injects in the same thread (see loop.py). The run's observers' ``stop()``
waits for the remaining steps (an all-clear usually comes after the fault is reverted), unless the
run was aborted. Given the same scenario, the same events are written in the same order.

    acknowledge    incident.detected (if nobody detected it yet; the signal is read from the timeline)
                   + incident.acknowledged
    declare        severity.declared
    assign         role.assigned (person: the step's text, else its actor)
    hypothesis     hypothesis.noted;  note: note.recorded
    runbook_step   runbook.step: by the runbook executor when there is one, else recorded as scripted
    status_update  status_update.sent
    mitigated      incident.mitigated (in tabletop mode it also ends the simulated fault)
    all_clear      the steady-state probes are checked: incident.resolved, or all_clear.refused; a resolved
                   incident ends the fault window early where the engine offers ``end_fault_phase``
    review         review.recorded (the step's text is the root cause)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gameday import events as ev
from gameday.contracts import Role, RunContext
from gameday.errors import GamedayError
from gameday.facilitator.checklist import Checklist, load_checklist, resolve_runbook
from gameday.facilitator.events import DrillRecorder, Mode, fault_phase_offset
from gameday.facilitator.loop import DrillLoop, real_seconds
from gameday.facilitator.state import drill_state
from gameday.scenario.model import ResponseStep, Scenario
from gameday.scoring.expectations import Verdict
from gameday.timeline import Event

STOP_GRACE_S = 30.0
"""Real seconds ``stop()`` waits beyond the last step's time before giving up on the script."""


def detection_signal(events: list[Event]) -> tuple[str, str | None]:
    """How a scripted team noticed: an alert if one fired, else a customer report, else a red probe."""
    alert = ev.first(events, ev.ALERT_FIRING)
    if alert is not None:
        return "alert", str(alert.details.get("alertname"))
    if any(e.kind == ev.INJECT_RELEASED and e.details.get("kind") == "customer_report" for e in events):
        return "customer_report", None
    if any(e.kind == ev.PROBE_CHECKED and e.details.get("phase") == "fault" and not e.details.get("ok") for e in events):
        return "probe", None
    return "other", None


class ScriptedResponder:
    """An Observer; ``end_fault`` (tabletop) is called when the script says the impact is halted."""

    name = "scripted-responder"
    role: Role = "responds"
    order = 40

    @staticmethod
    def wanted(scenario: Scenario) -> bool:
        return bool(scenario.responses or scenario.injects)

    def __init__(self, *, mode: Mode = "scripted", end_fault: Callable[[], None] | None = None,
                 probe_check: Callable[[Scenario], list[tuple[str, bool, str]]] | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.mode = mode
        self.end_fault = end_fault
        self.probe_check = probe_check or check_probes
        # The environment is taken here, where the run is assembled; runbook commands get it without secrets.
        self.env = dict(os.environ if env is None else env)
        self._runbook: Any = None
        self._judged = False
        self._judge_thread: threading.Thread | None = None
        self.ctx: RunContext | None = None
        self.loop: DrillLoop | None = None
        self.steps: list[tuple[int, ResponseStep]] = []
        self._next = 0
        self._done = threading.Event()
        self._checklist: Checklist | None = None

    # --- Observer ---------------------------------------------------------------------------

    def start(self, ctx: RunContext) -> None:
        self.ctx = ctx
        if self.end_fault is None:  # an accepted all-clear ends the fault window early (RunContext's hook)
            self.end_fault = ctx.end_fault_phase
        self.steps = sorted(enumerate(ctx.scenario.responses), key=lambda item: (item[1].at, item[0]))

    def on_phase(self, phase: str) -> None:
        if phase != "fault" or self.ctx is None or self.loop is not None:
            return
        timeline = self.ctx.timeline
        fault_start = fault_phase_offset(list(timeline.events))
        recorder = DrillRecorder(timeline, fault_start=timeline.now() if fault_start is None else fault_start,
                                 mode=self.mode)
        self.loop = DrillLoop(self.ctx.scenario, recorder, self.ctx.clock, name="scripted-responder", script=self)
        if not self.steps:
            self._done.set()
        self.loop.start()

    def stop(self) -> None:
        if self.loop is None:
            return
        aborted = any(e.kind == ev.RUN_ABORTED for e in self.ctx.timeline.events) if self.ctx else True
        if not aborted and self.steps and self.ctx is not None:
            remaining = self.steps[-1][1].at - self.loop.recorder.t()
            self._done.wait(real_seconds(self.ctx.clock, max(0.0, remaining)) + STOP_GRACE_S)
        self.loop.stop()
        if self._runbook is not None:
            if not aborted and not self._judged:
                self._judge(self.loop.recorder)
            if self._judge_thread is not None:
                self._judge_thread.join(timeout=self.ctx.scenario.expect.recovers_within + 10 if self.ctx else 10)
            self._runbook.close()

    def verdicts(self, scenario: Scenario, events: list[Event]) -> list[Verdict]:
        return []

    # --- the script ---------------------------------------------------------------------------

    def next_due(self) -> float | None:
        return self.steps[self._next][1].at if self._next < len(self.steps) else None

    def perform_next(self) -> None:
        _, step = self.steps[self._next]
        self._next += 1
        assert self.loop is not None
        self._perform(step, self.loop.recorder)
        if self._next >= len(self.steps):
            self._done.set()

    def _perform(self, step: ResponseStep, rec: DrillRecorder) -> None:
        actor = step.actor
        match step.action:
            case "acknowledge":
                events = rec.events()
                if not any(e.kind == ev.INCIDENT_DETECTED for e in events):
                    signal, alert = detection_signal(events)
                    rec.record(ev.INCIDENT_DETECTED, actor=actor, signal=signal, alert=alert, person=actor)
                rec.record(ev.INCIDENT_ACKNOWLEDGED, actor=actor, person=actor)
            case "declare":
                severity = step.severity or (self.ctx.scenario.severity if self.ctx else None)
                if severity is None:
                    rec.record(ev.NOTE_RECORDED, actor=actor, text="declare step without a severity: nothing declared")
                else:
                    rec.record(ev.SEVERITY_DECLARED, actor=actor, severity=severity)
            case "assign":
                rec.record(ev.ROLE_ASSIGNED, actor=actor, role=step.role or "incident_commander",
                           person=step.text or actor)
            case "hypothesis":
                rec.record(ev.HYPOTHESIS_NOTED, actor=actor, text=step.text)
            case "note":
                rec.record(ev.NOTE_RECORDED, actor=actor, text=step.text)
            case "runbook_step":
                self._runbook_step(step, rec)
            case "status_update":
                rec.record(ev.STATUS_UPDATE_SENT, actor=actor, audience=step.audience or "internal", text=step.text)
            case "mitigated":
                rec.record(ev.INCIDENT_MITIGATED, actor=actor)
                if self._runbook is not None and not self._judged:
                    # Judged beside the script, not in its way: the judge waits for the probes to turn green.
                    self._judged = True
                    self._judge_thread = threading.Thread(target=self._judge, args=(rec,), name="runbook-judge",
                                                          daemon=True)
                    self._judge_thread.start()
                if self.mode == "tabletop" and self.end_fault is not None:
                    self.end_fault()  # the team's word is all a tabletop has; a live fault stays to be checked
            case "all_clear":
                self._all_clear(step, rec)
            case "review":
                rec.record(ev.REVIEW_RECORDED, actor=actor, went_well=list(step.went_well),
                           went_poorly=list(step.went_poorly), got_lucky=list(step.got_lucky), root_cause=step.text,
                           action_items=[item.model_dump() for item in step.action_items], scripted=True)

    def _runbook_step(self, step: ResponseStep, rec: DrillRecorder) -> None:
        number = step.step or 1
        session = self._runbook_session(step.actor, rec)
        if session is not None:
            session.run_step(number)  # the runbook executor runs the step's command and records it
            return
        item = None
        checklist = self._load_checklist()
        if checklist is not None:
            item = next((i for i in checklist.items if i.step == number), None)
        rec.record(ev.RUNBOOK_STEP, actor=step.actor, step=number,
                   title=item.title if item else (step.text or f"step {number}"),
                   outcome=step.outcome or "done", command=item.command if item else None, exit_code=None,
                   duration_s=None, output="", scripted=True,
                   runbook=str(checklist.path) if checklist else self.ctx.scenario.runbook if self.ctx else None)

    def _runbook_session(self, actor: str, rec: DrillRecorder) -> Any:
        """The runbook executor (gameday.runbooks) for a live run, when it and the runbook file exist."""
        if self._runbook is not None or self.mode == "tabletop" or self.ctx is None or not self.ctx.scenario.runbook:
            return self._runbook
        from gameday.runbooks.execute import RunbookSession
        from gameday.runbooks.observer import resolve_runbook
        path = resolve_runbook(self.ctx.scenario.runbook, self.ctx.scenario_dir)
        if path is None:
            return None
        self._runbook = RunbookSession(path, scenario=self.ctx.scenario, timeline=rec.timeline, env=self.env,
                                       clock=self.ctx.clock, actor=actor, stop_on_failure=False)
        return self._runbook

    def _judge(self, rec: DrillRecorder) -> None:
        """Has the runbook restored service? Its Verify blocks run first (a responder checks before saying
        so), unless a scripted step ran them; the executor records runbook.judged."""
        self._judged = True
        try:
            if not any(r.section == "verify" for r in self._runbook.results):
                self._runbook.verify()
            self._runbook.judge()
        except (GamedayError, OSError) as exc:
            rec.record(ev.OBSERVER_FAILED, observer=self.name, during="runbook judge", error=str(exc))

    def _load_checklist(self) -> Checklist | None:
        if self._checklist is None and self.ctx is not None and self.ctx.scenario.runbook:
            path = resolve_runbook(self.ctx.scenario.runbook, self.ctx.scenario_dir, Path.cwd())
            try:
                self._checklist = load_checklist(path)
            except OSError:
                return None
        return self._checklist

    def _all_clear(self, step: ResponseStep, rec: DrillRecorder) -> None:
        assert self.ctx is not None
        if self.mode == "tabletop":
            state = drill_state(rec.events())
            results = [("simulated fault", not state.fault_live,
                        "the simulated fault is still live" if state.fault_live else "")]
        else:
            results = self.probe_check(self.ctx.scenario)
        failing = [f"{name}: {why}" for name, ok, why in results if not ok]
        if failing:
            rec.record(ev.ALL_CLEAR_REFUSED, actor=step.actor, reason="; ".join(failing))
            return
        rec.record(ev.INCIDENT_RESOLVED, actor=step.actor, confirmed_by=step.text or step.actor,
                   probes=[name for name, _, _ in results])
        if self.end_fault is not None:
            self.end_fault()


def check_probes(scenario: Scenario) -> list[tuple[str, bool, str]]:
    """One check of each steady-state probe: (name, ok, why not). A probe that errors counts as red."""
    from gameday.observe.probes import Prober

    prober = Prober(scenario.stack)
    out: list[tuple[str, bool, str]] = []
    try:
        for probe in scenario.steady_state.probes:
            try:
                result = prober.check(probe)
            except (GamedayError, OSError) as exc:
                out.append((probe.name, False, str(exc)))
                continue
            out.append((probe.name, result.ok, result.error or ""))
    finally:
        prober.close()
    return out
