"""The one drill core: every action a team (or its facilitator) can take, checked and recorded.

Both front ends drive it: the terminal facilitator (session.py) asks its questions and calls these
methods as the facilitator at one screen; the drill room (gameday.room) calls them for each seat. Each
action is checked against the drill's phase and the actor's role, and is recorded as the one timeline
event ``gameday facilitate`` has always written for it, so scoring, reports and history see no
difference between the two. A refused action raises ``ActionRefused`` (one sentence, for the screen)
and records nothing.

Who may do what (the incident process, INCIDENT-PROCESS.md): ``facilitator`` may do everything (at one
screen the facilitator types for the whole team); an observer only watches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gameday import events as ev
from gameday.errors import GamedayError
from gameday.facilitator.checklist import (
    Checklist,
    ChecklistItem,
    CommandResult,
    load_checklist,
    resolve_runbook,
    run_command,
)
from gameday.facilitator.events import DrillRecorder
from gameday.facilitator.injects import InjectScheduler, inject_id
from gameday.facilitator.scripted import check_probes
from gameday.facilitator.severity import status_update_due
from gameday.facilitator.state import PHASES, DrillState, drill_state
from gameday.facilitator.templates import TemplateContext, draft
from gameday.incident import AUDIENCES, ROLES, SIGNALS
from gameday.scenario.durations import format_duration
from gameday.scenario.model import Scenario
from gameday.scoring.severity import SeverityTable, table_for
from gameday.timeline import Event

FACILITATOR: Final = "facilitator"
OBSERVER: Final = "observer"
SEAT_ROLES: Final[tuple[str, ...]] = (*ROLES, OBSERVER)
"""The roles a seat in the drill room can take: the incident roles, and observer (watches, never acts)."""

_RESPONDERS = ("incident_commander", "sme")
_ACTING = (*ROLES,)

ACTIONS: Final[Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    # action -> (roles that may take it besides the facilitator, phases it belongs to)
    "detect": (_ACTING, ("detect",)),
    "acknowledge": (_RESPONDERS, ("detect",)),
    "declare_severity": (("incident_commander",), ("triage", "investigate", "mitigate", "verify")),
    "assign_role": (("incident_commander",), ("triage", "investigate", "mitigate", "verify")),
    "status_update": (("communications",), ("triage", "investigate", "mitigate", "verify", "review")),
    "hypothesis": (("incident_commander", "sme", "scribe"), ("investigate", "mitigate", "verify")),
    "note_action": (("incident_commander", "sme", "scribe"), ("mitigate", "verify")),
    "runbook_step": (_RESPONDERS, ("mitigate", "verify")),
    "run_step": (_RESPONDERS, ("mitigate", "verify")),
    "mitigated": (("incident_commander",), ("mitigate",)),
    "request_all_clear": (("incident_commander",), ("verify",)),
    "confirm_all_clear": (_ACTING, ("verify",)),
    "record_review": (("incident_commander", "scribe"), ("review",)),
    "advance": (("incident_commander",), PHASES[:-1]),
    "release_inject": ((), PHASES[:-1]),
    "withhold_inject": ((), PHASES[:-1]),
}
"""Each action: who may take it and in which phases. Checked by ``DrillCore.check`` before anything is written."""

ACTION_LABELS: Final[Mapping[str, str]] = {
    "detect": "say who noticed", "acknowledge": "acknowledge the page", "declare_severity": "declare a severity",
    "assign_role": "assign roles", "status_update": "send a status update", "hypothesis": "note a hypothesis",
    "note_action": "note an action", "runbook_step": "record a runbook step", "run_step": "run a runbook command",
    "mitigated": "declare the impact halted", "request_all_clear": "ask for the all-clear",
    "confirm_all_clear": "confirm the all-clear", "record_review": "record the review",
    "advance": "move the drill on", "release_inject": "release an inject", "withhold_inject": "withhold an inject",
}
STEP_OUTCOMES: Final = ("done", "failed", "skipped")
TEXT_LIMIT: Final = 4000
"""Characters of one answer kept (a status update, a hypothesis); longer is refused, not cut."""

ProbeCheck = Callable[[Scenario], list[tuple[str, bool, str]]]


class ActionRefused(GamedayError):
    """An action the drill's phase or the actor's role does not allow; nothing was recorded."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a role (a seat's, or ``facilitator``) and the name the timeline gives them (None: by role)."""

    role: str
    name: str | None = None
    seat: int | None = None
    """A drill room's seat number: every event this actor causes then says which seat acted (SEAT_CONTEXT)."""


AT_THE_SCREEN: Final = Actor(FACILITATOR)
"""The terminal's actor: the facilitator typing for the whole team."""


@dataclass(frozen=True)
class AllClearRequest:
    by: str
    probes: tuple[tuple[str, bool, str], ...]


class DrillCore:
    """The drill's actions over one recorder; thread-safe (one action at a time)."""

    def __init__(self, scenario: Scenario, recorder: DrillRecorder, *, scenario_dir: Path, env: Mapping[str, str],
                 end_fault: Callable[[], None] | None = None, probe_check: ProbeCheck | None = None,
                 command_timeout: float = 60.0) -> None:
        self.scenario = scenario
        self.rec = recorder
        self.scenario_dir = scenario_dir
        self.env = env
        self.end_fault = end_fault
        self.probe_check = probe_check or check_probes
        self.command_timeout = command_timeout
        self.tabletop = recorder.mode == "tabletop"
        self.pending_all_clear: AllClearRequest | None = None
        self._lock = threading.RLock()
        self._checklist: Checklist | None = None
        self._checklist_error: str | None = None
        self._checklist_read = False

    # --- what the drill knows -----------------------------------------------------------------

    def events(self) -> list[Event]:
        return self.rec.events()

    @property
    def state(self) -> DrillState:
        return drill_state(self.rec.events())

    def severities(self) -> SeverityTable:
        """The run's table: the default with the scenario's changes, as run.started recorded them."""
        return table_for(self.rec.events())

    def person(self, role: str, fallback: str) -> str:
        people = self.state.roles.get(role)
        return people[0] if people else fallback

    def responder(self) -> str:
        """Who acknowledged: the one who acts until an incident commander is named."""
        acked = ev.first(self.rec.events(), ev.INCIDENT_ACKNOWLEDGED)
        return str(acked.details.get("person") or acked.actor) if acked is not None else "responder"

    def checklist(self) -> Checklist | None:
        """The scenario's runbook as a checklist (read once), or None; ``checklist_error`` says why not."""
        if not self._checklist_read:
            self._checklist_read = True
            if self.scenario.runbook:
                path = resolve_runbook(self.scenario.runbook, self.scenario_dir, Path.cwd())
                try:
                    self._checklist = load_checklist(path)
                except OSError as exc:
                    self._checklist_error = f"cannot read the runbook {path}: {exc.strerror or exc}"
        return self._checklist

    @property
    def checklist_error(self) -> str | None:
        self.checklist()
        return self._checklist_error

    def cadence(self) -> float | None:
        """Seconds to the next status update (the short end of the severity's cadence), or None."""
        level = self.severities().get(self.state.severity)
        return level.update_every_min_s if level else None

    def update_due(self) -> float | None:
        """Seconds a status update is overdue by the severity's cadence, or None."""
        return status_update_due(self.rec.events(), fault_start=self.rec.fault_start, now=self.rec.timeline.now(),
                                 table=self.severities())

    def status_word(self) -> str:
        state = self.state
        return "resolved" if state.resolved else "mitigating" if state.mitigated else \
            "identified" if state.phase_index >= PHASES.index("mitigate") else "investigating"

    def template(self, audience: str) -> str:
        """The status update template for ``audience`` with what the timeline knows filled in."""
        state = self.state
        cadence = self.cadence()
        next_update = f"T+{format_duration(self.rec.t() + cadence)}" if cadence else "<when it changes>"
        return draft(audience, TemplateContext(
            incident=self.scenario.name, severity=state.severity or "", status=self.status_word(),
            theory=state.hypotheses[-1] if state.hypotheses else "", next_update=next_update))

    def gate(self, phase: str) -> str | None:
        """Why the drill cannot leave ``phase`` yet, or None."""
        state = self.state
        match phase:
            case "detect":
                if not state.detected:
                    return "say who noticed first"
                if not state.acknowledged:
                    return "acknowledge the page first"
            case "triage":
                if state.severity is None:
                    return "declare a severity first"
                if not state.has_role("incident_commander"):
                    return "assign an incident commander first"
                level = self.severities().get(state.severity)
                if state.updates == 0 and level is not None and level.updates_required:
                    return "send the first status update first"
            case "mitigate":
                if not state.mitigated:
                    return "declare the impact halted (mitigated) first"
            case "verify":
                if not state.resolved:
                    return "the all-clear is not declared yet"
            case "review":
                if not state.reviewed:
                    return "record the review first"
        return None

    def allowed(self, action: str, role: str) -> bool:
        """May ``role`` take ``action`` at all (whatever the phase)?"""
        roles, _ = ACTIONS[action]
        return role == FACILITATOR or role in roles

    def check(self, action: str, actor: Actor) -> None:
        """Refuse (ActionRefused) an action the actor's role or the drill's phase does not allow."""
        if action not in ACTIONS:
            raise ActionRefused(f"unknown action '{action}'")
        roles, phases = ACTIONS[action]
        label = ACTION_LABELS[action]
        if not self.allowed(action, actor.role):
            who = " or ".join(r.replace("_", " ") for r in roles) or "facilitator"
            raise ActionRefused(f"only the {who} can {label}; you are the {actor.role.replace('_', ' ')}")
        state = self.state
        if state.finished:
            raise ActionRefused("the drill is over")
        phase = state.phase or "detect"
        if phase not in phases:
            raise ActionRefused(f"cannot {label} in the {phase} phase (only in: {', '.join(phases)})")

    def _actor(self, actor: Actor, default: str) -> str:
        return actor.name or default

    @staticmethod
    def _seat(actor: Actor | None) -> dict[str, int | str]:
        """The seat context of an event a drill room's seat caused (events.SEAT_CONTEXT); none otherwise."""
        if actor is None or actor.seat is None:
            return {}
        return {"seat": actor.seat, "seat_role": actor.role}

    @staticmethod
    def _text(value: str, what: str, *, allow_empty: bool = False, verbatim: bool = False) -> str:
        """The answer (stripped unless ``verbatim``); refused when empty or longer than TEXT_LIMIT."""
        if not value.strip() and not allow_empty:
            raise ActionRefused(f"{what}: an answer is needed here")
        if len(value) > TEXT_LIMIT:
            raise ActionRefused(f"{what}: at most {TEXT_LIMIT} characters")
        return value if verbatim else value.strip()

    # --- phases -------------------------------------------------------------------------------

    def enter(self, phase: str, *, by: str = "facilitator", actor: Actor | None = None) -> None:
        """Record the drill entering ``phase`` (nothing when it is already there), moved on by ``by``."""
        with self._lock:
            if self.state.phase != phase:
                self.rec.record(ev.DRILL_PHASE, actor=by, phase=phase, **self._seat(actor))

    def finish(self, actor: Actor | None = None) -> None:
        """The facilitator's last event (``actor``: the seat whose advance ended the drill)."""
        with self._lock:
            if not self.state.finished:
                self.enter("done", actor=actor)
                self.rec.record(ev.DRILL_FINISHED, actor=FACILITATOR, **self._seat(actor))

    def advance(self, actor: Actor) -> str:
        """Move to the next phase once this one's work is done; returns the phase entered."""
        with self._lock:
            self.check("advance", actor)
            phase = self.state.phase or "detect"
            why = self.gate(phase)
            if why is not None:
                raise ActionRefused(f"cannot leave the {phase} phase: {why}")
            nxt = PHASES[PHASES.index(phase) + 1]
            if nxt == "done":
                self.finish(actor)
            else:
                self.enter(nxt, by=self._actor(actor, "facilitator"), actor=actor)
            return nxt

    # --- the team's actions -------------------------------------------------------------------

    def detect(self, actor: Actor, *, person: str, signal: str, alert: str | None = None) -> Event:
        with self._lock:
            self.check("detect", actor)
            if self.state.detected:
                raise ActionRefused("the incident is already detected")
            if signal not in SIGNALS:
                raise ActionRefused(f"unknown signal '{signal}': choose one of {', '.join(SIGNALS)}")
            person = self._text(person, "who noticed")
            named = self._text(alert, "alert", allow_empty=True) if alert is not None and signal == "alert" else ""
            return self.rec.record(ev.INCIDENT_DETECTED, actor=person, signal=signal,
                                   alert=named or None, person=person, **self._seat(actor))

    def acknowledge(self, actor: Actor, *, person: str) -> Event:
        with self._lock:
            self.check("acknowledge", actor)
            state = self.state
            if not state.detected:
                raise ActionRefused("say who noticed before acknowledging")
            if state.acknowledged:
                raise ActionRefused("the page is already acknowledged")
            person = self._text(person, "who acknowledges")
            return self.rec.record(ev.INCIDENT_ACKNOWLEDGED, actor=person, person=person, **self._seat(actor))

    def declare_severity(self, actor: Actor, severity: str) -> Event:
        """A first declaration, or an upgrade or downgrade (``previous`` then names the one before)."""
        with self._lock:
            self.check("declare_severity", actor)
            table = self.severities()
            parsed = table.parse(severity)
            if parsed is None:
                raise ActionRefused(f"unknown severity '{severity}': choose {table.choices()}")
            by = self._actor(actor, self.person("incident_commander", self.responder()))
            previous = self.state.severity
            if previous is None:
                return self.rec.record(ev.SEVERITY_DECLARED, actor=by, severity=parsed, **self._seat(actor))
            return self.rec.record(ev.SEVERITY_DECLARED, actor=by, severity=parsed, previous=previous,
                                   **self._seat(actor))

    def assign_role(self, actor: Actor, *, role: str, person: str) -> Event:
        with self._lock:
            self.check("assign_role", actor)
            if role not in ROLES:
                raise ActionRefused(f"unknown role '{role}': choose one of {', '.join(ROLES)}")
            person = self._text(person, f"who is the {role}")
            return self.rec.record(ev.ROLE_ASSIGNED, actor=self._actor(actor, FACILITATOR), role=role, person=person,
                                   **self._seat(actor))

    def status_update(self, actor: Actor, *, audience: str, text: str) -> Event:
        with self._lock:
            self.check("status_update", actor)
            if audience not in AUDIENCES:
                raise ActionRefused(f"unknown audience '{audience}': choose one of {', '.join(AUDIENCES)}")
            if self.state.severity is None:
                raise ActionRefused("declare a severity before the first status update")
            text = self._text(text, "the update", verbatim=True)
            return self.rec.record(ev.STATUS_UPDATE_SENT, actor=self._actor(
                actor, self.person("communications", "communications")), audience=audience, text=text,
                **self._seat(actor))

    def hypothesis(self, actor: Actor, text: str) -> Event:
        with self._lock:
            self.check("hypothesis", actor)
            return self.rec.record(ev.HYPOTHESIS_NOTED, actor=self._actor(actor, self.person("incident_commander", "team")),
                                   text=self._text(text, "hypothesis"), **self._seat(actor))

    def note_action(self, actor: Actor, text: str) -> Event:
        with self._lock:
            self.check("note_action", actor)
            return self.rec.record(ev.ACTION_NOTED, actor=self._actor(actor, self.person("sme", "team")),
                                   text=self._text(text, "action"), **self._seat(actor))

    def _item(self, step: int) -> tuple[Checklist, ChecklistItem]:
        checklist = self.checklist()
        if checklist is None:
            raise ActionRefused(self.checklist_error or "this scenario has no runbook checklist")
        for item in checklist.items:
            if item.step == step:
                return checklist, item
        raise ActionRefused(f"the runbook has no step {step}")

    def _step_actor(self, actor: Actor) -> str:
        return self._actor(actor, self.person("sme", self.person("incident_commander", "team")))

    def runbook_step(self, actor: Actor, *, step: int, outcome: str) -> Event:
        """Tick a step: done, failed or skipped, as the team says (no command run)."""
        with self._lock:
            self.check("runbook_step", actor)
            checklist, item = self._item(step)
            if outcome not in STEP_OUTCOMES:
                raise ActionRefused(f"unknown outcome '{outcome}': choose one of {', '.join(STEP_OUTCOMES)}")
            return self.rec.record(ev.RUNBOOK_STEP, actor=self._step_actor(actor), step=item.step, title=item.title,
                                   outcome=outcome, command=item.command, exit_code=None, duration_s=None, output="",
                                   runbook=str(checklist.path), **self._seat(actor))

    def can_run_commands(self) -> bool:
        """A tabletop touches no real system: its runbook commands are ticked, never run."""
        return not self.tabletop

    def run_step(self, actor: Actor, *, step: int, confirmed: bool) -> tuple[Event, CommandResult]:
        """Run a step's command on this machine (only once confirmed); records its exit and output."""
        self.check("run_step", actor)
        checklist, item = self._item(step)
        if not self.can_run_commands():
            raise ActionRefused("a tabletop runs no commands: tick the step done, failed or skipped")
        if item.command is None:
            raise ActionRefused(f"step {step} has no command to run")
        if not confirmed:
            raise ActionRefused(f"confirm running step {step}'s command on this machine first")
        # Not under the lock: a command may take a minute, and the other seats go on meanwhile.
        result = run_command(item.command, env=self.env, cwd=self.scenario_dir, timeout=self.command_timeout)
        with self._lock:
            event = self.rec.record(ev.RUNBOOK_STEP, actor=self._step_actor(actor), step=item.step, title=item.title,
                                    outcome="done" if result.ok else "failed", command=item.command,
                                    exit_code=result.exit_code, duration_s=result.duration_s, output=result.output,
                                    runbook=str(checklist.path), ran=True, **self._seat(actor))
        return event, result

    def mitigated(self, actor: Actor) -> Event:
        with self._lock:
            self.check("mitigated", actor)
            if self.state.mitigated:
                raise ActionRefused("the impact is already declared halted")
            event = self.rec.record(ev.INCIDENT_MITIGATED, actor=self._actor(actor, self.person("incident_commander", "team")),
                                    **self._seat(actor))
            if self.tabletop and self.end_fault is not None:
                self.end_fault()  # in a tabletop, mitigating is what ends the simulated fault
            return event

    def probes_green(self, say: Callable[[str, bool, str], None] | None = None) -> tuple[bool, str]:
        """Are the steady-state probes green (a tabletop: is the simulated fault over)? A probe that errors is red."""
        if self.tabletop:
            live = self.state.fault_live
            if live and self.state.mitigated:
                # Mitigating ends the simulated fault; give the tabletop's loop a moment to record it.
                for _ in range(40):
                    threading.Event().wait(0.05)
                    if not (live := self.state.fault_live):
                        break
            if say is not None:
                say("simulated fault", not live, "still live" if live else "over")
            return (not live), ("the simulated fault is still live" if live else "")
        if not self.scenario.steady_state.probes:
            return True, ""
        try:
            results = self.probe_check(self.scenario)
        except Exception as exc:  # noqa: BLE001 - a probe failure must never end a drill
            return False, f"probes could not run: {exc}"
        for name, ok, why in results:
            if say is not None:
                say(name, ok, why)
        failing = [f"{name}: {why}" for name, ok, why in results if not ok]
        return (not failing), "; ".join(failing)

    def refuse_all_clear(self, reason: str, actor: Actor | None = None) -> Event:
        """The probes are not green: the all-clear is refused, for the record (``actor``: who asked for it)."""
        with self._lock:
            return self.rec.record(ev.ALL_CLEAR_REFUSED, actor=FACILITATOR, reason=reason, **self._seat(actor))

    def request_all_clear(self, actor: Actor, *, by: str | None = None,
                          say: Callable[[str, bool, str], None] | None = None) -> AllClearRequest | None:
        """Check the probes: red records ``all_clear.refused`` (None back); green waits for a second person."""
        self.check("request_all_clear", actor)
        if self.state.resolved:
            raise ActionRefused("the all-clear is already declared")
        seen: list[tuple[str, bool, str]] = []

        def note(name: str, ok: bool, why: str) -> None:
            seen.append((name, ok, why))
            if say is not None:
                say(name, ok, why)

        green, reason = self.probes_green(note)
        with self._lock:
            if not green:
                self.pending_all_clear = None
                self.refuse_all_clear(reason, actor)
                return None
            declared_by = self._text(by or actor.name or self.person("incident_commander", ""), "who declares",
                                     allow_empty=True)
            self.pending_all_clear = AllClearRequest(declared_by, tuple(seen))
            return self.pending_all_clear

    def confirm_all_clear(self, actor: Actor, *, second: str, by: str | None = None) -> Event:
        """A second person confirms the pending all-clear: ``incident.resolved``; the fault window ends.

        ``by`` names who declares it when the asker did not (the terminal asks after the probes are green)."""
        with self._lock:
            self.check("confirm_all_clear", actor)
            pending = self.pending_all_clear
            if pending is None:
                raise ActionRefused("nobody has asked for the all-clear (or the probes were red)")
            declared_by = self._text(by or pending.by, "who declares")
            second = self._text(second, "who confirms")
            if second.lower() == declared_by.lower():
                raise ActionRefused("the all-clear needs a second person to confirm it")
            self.pending_all_clear = None
            event = self.rec.record(ev.INCIDENT_RESOLVED, actor=declared_by, confirmed_by=second, **self._seat(actor))
        if self.end_fault is not None:
            self.end_fault()
        return event

    def record_review(self, actor: Actor, *, went_well: Sequence[str], went_poorly: Sequence[str],
                      got_lucky: Sequence[str], root_cause: str, action_items: Sequence[Mapping[str, str]]) -> Event:
        from gameday.facilitator.prompts import parse_date

        with self._lock:
            self.check("record_review", actor)
            if self.state.reviewed:
                raise ActionRefused("the review is already recorded")
            items: list[dict[str, str]] = []
            for n, item in enumerate(action_items, 1):
                text = self._text(str(item.get("text", "")), f"action item {n}")
                owner = self._text(str(item.get("owner", "")), f"action item {n} owner")
                due = parse_date(str(item.get("due", "")))
                if due is None:
                    raise ActionRefused(f"action item {n}: '{item.get('due', '')}' is not a date: write it as YYYY-MM-DD")
                items.append({"text": text, "owner": owner, "due": due})

            def lines(values: Sequence[str], what: str) -> list[str]:
                return [self._text(v, what) for v in values if v.strip()]

            return self.rec.record(ev.REVIEW_RECORDED, actor=self._actor(actor, "team"),
                                   went_well=lines(went_well, "went well"),
                                   went_poorly=lines(went_poorly, "went poorly"),
                                   got_lucky=lines(got_lucky, "got lucky"),
                                   root_cause=self._text(root_cause, "root cause"), action_items=items,
                                   **self._seat(actor))

    # --- the facilitator's injects --------------------------------------------------------------

    def injects(self) -> list[dict[str, object]]:
        """Every inject of the scenario with its state: pending, released or withheld."""
        decided = {str(e.details.get("inject")): e.kind for e in self.rec.events()
                   if e.kind in (ev.INJECT_RELEASED, ev.INJECT_WITHHELD)}
        out: list[dict[str, object]] = []
        for index, spec in enumerate(self.scenario.injects):
            iid = inject_id(index)
            state = {ev.INJECT_RELEASED: "released", ev.INJECT_WITHHELD: "withheld"}.get(decided.get(iid, ""), "pending")
            out.append({"inject": iid, "kind": spec.kind, "source": spec.source, "text": spec.text, "state": state})
        return out

    def _pending_inject(self, inject: str) -> int:
        scheduler = InjectScheduler(list(self.scenario.injects), fault_start=self.rec.fault_start)
        for index in range(len(self.scenario.injects)):
            if inject_id(index) == inject:
                if inject in scheduler.decided(self.rec.events()):
                    raise ActionRefused(f"{inject} is already released or withheld")
                return index
        raise ActionRefused(f"no inject '{inject}' in this scenario")

    def release_inject(self, actor: Actor, inject: str) -> Event:
        """Release an inject now, ahead of its time (the loop then never releases it again)."""
        with self._lock:
            self.check("release_inject", actor)
            index = self._pending_inject(inject)
            spec = self.scenario.injects[index]
            return self.rec.record(ev.INJECT_RELEASED, actor=spec.source, inject=inject, kind=spec.kind,
                                   source=spec.source, text=spec.text, condition=None, due_t_s=round(self.rec.t(), 3),
                                   by=FACILITATOR)

    def withhold_inject(self, actor: Actor, inject: str) -> Event:
        """Withhold an inject the team does not need (the facilitator's call)."""
        with self._lock:
            self.check("withhold_inject", actor)
            index = self._pending_inject(inject)
            spec = self.scenario.injects[index]
            return self.rec.record(ev.INJECT_WITHHELD, actor=FACILITATOR, inject=inject, kind=spec.kind,
                                   condition=None, reason="withheld by the facilitator")
