"""The room: its seats and their links, the drill it hosts, and what each participant may see and do.

No web code here: app.py turns HTTP requests into calls on ``Room`` and its answers into JSON. A seat acts
only as its role, through the one drill core (gameday.facilitator.core); a refused action raises
``ActionRefused`` with a sentence for the screen and records nothing.

Events: the stream's event ids are positions in the run's timeline (1-based), so they are the same after
a restart (a resumed room reads the same timeline) and a reconnecting client gets exactly what it missed.
A seat sees what a responder would really see: alerts, released injects, probes turning red or green and
the team's own actions, never the fault itself nor an inject the facilitator withheld.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from gameday import events as ev
from gameday.clock import Clock, SystemClock
from gameday.errors import GamedayError
from gameday.facilitator.core import (
    ACTIONS,
    FACILITATOR,
    SEAT_ROLES,
    ActionRefused,
    Actor,
    DrillCore,
)
from gameday.facilitator.state import PHASES
from gameday.incident import AUDIENCES, ROLE_LABELS, SIGNALS
from gameday.room.guard import Limits, find_token, new_token
from gameday.scenario.model import Scenario
from gameday.timeline import Event, Timeline

NAME_LIMIT: Final = 60
OUTPUT_SHOWN: Final = 500
"""Characters of a step command's output a seat is shown after running it (its tail; the record keeps it all)."""
"""Characters of a seat's name."""
SYSTEM_ACTORS: Final = frozenset({"harness", "alertmanager", "load", "kubernetes", "abort", "cleanup", "responder",
                                  "runbook", "engine", "gameday", "system"})
"""Who the timeline says acted when no person did."""
RESERVED_NAMES: Final = frozenset(
    {FACILITATOR, "the facilitator", "ic", "commander", "comms", "subject matter expert", "expert"}
    | {role.replace("_", " ") for role in SEAT_ROLES} | {label.casefold() for label in ROLE_LABELS.values()}
    | SYSTEM_ACTORS)
"""Names a seat may not take: a timeline whose actor is "facilitator", "incident commander" or "harness" would
read as the facilitator, a role or the room itself having acted (compared by ``name_key``)."""
SEAT_NAME: Final = re.compile(r"seat ?\d+")
"""The feed says "(name, seat N)": a seat named "seat 3" would read as another seat."""


_LOOKALIKES: Final = str.maketrans({"\u0131": "i", "\u017f": "s", "\u0430": "a", "\u0441": "c", "\u0435": "e",
    "\u0456": "i", "\u043e": "o", "\u0440": "p", "\u0445": "x", "\u0443": "y", "\u0458": "j", "\u0455": "s",
    "\u0501": "d"})
"""Letters that look like a Latin one and that NFKC leaves as they are (dotless i, Cyrillic look-alikes)."""
NAME_PUNCTUATION: Final = frozenset(",()[]<>:;\"`")
"""Not in a seat's name: the feed reads "(name, seat N)", so "alex, seat 2" or "facilitator (seat 2)" would pass
for another seat's line."""


def name_key(name: str) -> str:
    """A name as compared: compatibility forms folded (full-width letters), invisible format characters (a
    zero-width space) dropped, look-alike letters mapped, case, underscores, hyphens and runs of spaces ignored
    ("Incident_Commander" is "incident commander"; a full-width "facilitator" with a zero-width space is
    "facilitator")."""
    folded = unicodedata.normalize("NFKC", name)
    visible = "".join(c for c in folded if unicodedata.category(c) not in ("Cf", "Cc", "Mn"))
    plain = visible.casefold().translate(_LOOKALIKES)
    return " ".join(plain.replace("_", " ").replace("-", " ").split())


def name_problem(name: str) -> str | None:
    """Why ``name`` (stripped) cannot be a seat's name, or None."""
    if not name or len(name) > NAME_LIMIT:
        return f"name: 1 to {NAME_LIMIT} characters"
    if any(c in NAME_PUNCTUATION or unicodedata.category(c) in ("Cf", "Cc") for c in name):
        return (f"name: {name!r} has punctuation or invisible characters the feed could misread (no , ( ) [ ] < > "
                ": ; double quotes, backticks or zero-width characters)")
    key = name_key(name)
    if key in RESERVED_NAMES or SEAT_NAME.fullmatch(key):
        return (f"the name '{name}' is reserved (the timeline would read as the facilitator, a role or the room "
                "acting): give your own name")
    return None

SEAT_KINDS: Final = (ev.HUMAN_KINDS - {ev.INJECT_WITHHELD}) | {ev.ALERT_FIRING, ev.ALERT_RESOLVED, ev.PROBE_CHECKED,
                                                                ev.RUN_FINISHED, ev.STEADY_STATE_FAILED}
"""What a responder would really see; the facilitator sees every kind but the unchanged probe checks."""
QUIET_KINDS: Final = frozenset({ev.LOAD_STATS, ev.GUARD_CHECKED})
"""Too frequent for a live feed (the report charts them)."""

ROLE_PROMPTS: Final[Mapping[str, Mapping[str, str]]] = {
    "incident_commander": {
        "detect": "Watch for the page. Whoever notices says so; the on-call acknowledges.",
        "triage": "Declare a severity (when unsure, the higher one), assign the roles, then move on.",
        "investigate": "Keep the team on hypotheses; re-declare the severity if the impact changed.",
        "mitigate": "Stop the bleeding first. Declare the impact halted when it is.",
        "verify": "Ask for the all-clear once monitoring is green; a second person confirms it.",
        "review": "Blameless: systems and processes, not people. Record what went well and poorly.",
    },
    "communications": {
        "triage": "Send the first notification as soon as a severity is declared.",
        "investigate": "Send updates at the severity's cadence; the template fills in what is known.",
        "mitigate": "Tell people what is being done and when the next update comes.",
        "verify": "Confirm recovery to your audiences once the all-clear is declared.",
    },
    "scribe": {
        "investigate": "Note each hypothesis as the team forms it.",
        "mitigate": "Note every action taken outside the runbook.",
        "review": "Record the review: went well, went poorly, lucky, root cause, action items.",
    },
    "sme": {
        "detect": "If you are on call: acknowledge the page.",
        "investigate": "Form hypotheses from what you see: alerts, logs, probes.",
        "mitigate": "Follow the runbook: tick each step, or run its command (you confirm first).",
    },
    "observer": dict.fromkeys(PHASES[:-1], "Watch and take notes for the review; an observer never acts."),
}


class Host(Protocol):
    """What the room needs of a drill: a new one (facilitator.drill.DrillHost) or a resumed one (ResumedHost)."""

    run_id: str
    tabletop: bool
    clock: Clock

    @property
    def timeline(self) -> Timeline: ...
    def start(self) -> None: ...
    def wait_begun(self, timeout: float | None = None) -> bool: ...
    def core(self) -> DrillCore | None: ...
    def stop(self, reason: str) -> None: ...
    def done(self) -> None: ...
    def join(self, timeout: float | None = None) -> Any: ...


HostFactory = Callable[[Callable[[Event], None]], Host]
"""Builds the drill when the facilitator starts it, subscribing the room's listener to its timeline."""
Finisher = Callable[[Path], Mapping[str, Any]]
"""The one finish step (reports, history) for a run folder; returns the scorecard to show."""


@dataclass
class Seat:
    number: int
    token: str
    csrf: str
    limits: Limits
    name: str = ""
    role: str | None = None
    joined: bool = False


@dataclass
class Identity:
    """Who a request is: the facilitator (``seat`` None) or one seat; each with its own CSRF value and limits."""

    csrf: str
    limits: Limits
    seat: Seat | None = None

    @property
    def is_facilitator(self) -> bool:
        return self.seat is None

    @property
    def role(self) -> str:
        return FACILITATOR if self.seat is None else (self.seat.role or "")

    def actor(self) -> Actor:
        if self.seat is None:
            return Actor(FACILITATOR)
        if not self.seat.role or not self.seat.name:
            raise ActionRefused("take a seat first: your name and your role")
        return Actor(self.seat.role, self.seat.name, self.seat.number)


@dataclass
class RoomStatus:
    phase: str = "waiting"
    """waiting (for the facilitator's start), starting (steady state), running, finishing, finished, failed."""
    paused: bool = False
    error: str | None = None
    run_id: str | None = None
    run_dir: Path | None = None
    outcome: str | None = None
    scorecard: Mapping[str, Any] | None = None
    problems: list[str] = field(default_factory=list)


class Room:
    def __init__(self, scenario: Scenario, *, make_host: HostFactory, finish: Finisher, seats: int, mode: str,
                 speed: float | None = None, clock: Clock | None = None) -> None:
        if not 1 <= seats <= 20:
            raise GamedayError(f"seats: {seats} is not between 1 and 20")
        self.scenario = scenario
        self.mode = mode
        self.speed = speed
        self._make_host = make_host
        self._finish = finish
        self._clock = clock or SystemClock()
        self.facilitator = Identity(csrf=new_token(), limits=self._limits())
        self.facilitator_token = new_token()
        self.seats = [Seat(n, new_token(), new_token(), self._limits()) for n in range(1, seats + 1)]
        self.status = RoomStatus()
        self.host: Host | None = None
        self.version = 0
        self._lock = threading.RLock()
        self._human_done = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._listeners: list[Callable[[], None]] = []
        self._probe_turns: dict[int, bool] = {}
        self._probe_seen = 0
        self._probe_last: dict[str, bool] = {}

    def _limits(self) -> Limits:
        return Limits.new(self._clock.monotonic)

    # --- who is asking -------------------------------------------------------------------------

    def identify(self, token: str | None) -> Identity | None:
        """The identity a link's token names, compared in constant time with every token of the room."""
        candidates: list[tuple[str, Identity | None]] = [(self.facilitator_token, self.facilitator)]
        candidates += [(seat.token, Identity(csrf=seat.csrf, limits=seat.limits, seat=seat)) for seat in self.seats]
        return find_token(token, candidates)

    def links(self, base: str) -> tuple[str, list[str]]:
        """The facilitator's link and one join link per seat."""
        return f"{base}/join/{self.facilitator_token}", [f"{base}/join/{seat.token}" for seat in self.seats]

    # --- change notices (the event streams wait on these) --------------------------------------

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def changed(self) -> None:
        """Something a participant may want to see changed (an event, a seat, the room's status)."""
        with self._lock:
            self.version += 1
        for listener in list(self._listeners):
            listener()

    def _on_event(self, event: Event) -> None:
        self.changed()

    # --- the room's life -----------------------------------------------------------------------

    def take_seat(self, identity: Identity, *, name: str, role: str) -> None:
        """A seat says who it is and takes a role (once; the facilitator can change it later)."""
        seat = identity.seat
        if seat is None:
            raise ActionRefused("the facilitator does not take a seat")
        name = name.strip()
        problem = name_problem(name)
        if problem is not None:
            raise ActionRefused(problem)
        if role not in SEAT_ROLES:
            raise ActionRefused(f"unknown role '{role}': choose one of {', '.join(SEAT_ROLES)}")
        with self._lock:
            if seat.role is not None and seat.role != role:
                raise ActionRefused("your role is set; ask the facilitator to change it")
            self._one_commander(seat, role)
            # A seat's name is who the timeline says acted: two seats with one name would be one person.
            taken = next((s for s in self.seats if s is not seat and name_key(s.name) == name_key(name)), None)
            if taken is not None:
                raise ActionRefused(f"the name '{name}' is taken by seat {taken.number}: choose another")
            seat.name, seat.role, seat.joined = name, role, True
        self.changed()

    def set_role(self, identity: Identity, *, seat_number: int, role: str) -> None:
        """The facilitator moves a seat to another role."""
        if not identity.is_facilitator:
            raise ActionRefused("only the facilitator can change another seat's role")
        if role not in SEAT_ROLES:
            raise ActionRefused(f"unknown role '{role}': choose one of {', '.join(SEAT_ROLES)}")
        seat = next((s for s in self.seats if s.number == seat_number), None)
        if seat is None:
            raise ActionRefused(f"no seat {seat_number}")
        with self._lock:
            if not seat.joined:
                # A role set before anyone joins would refuse the joiner every other role.
                raise ActionRefused(f"seat {seat_number} has not joined yet: its person chooses a role on joining")
            self._one_commander(seat, role)
            seat.role = role
        self.changed()

    def _one_commander(self, seat: Seat, role: str) -> None:
        """One incident commander per room: refuse ``seat`` taking that role while another seat has it."""
        if role == "incident_commander" and any(s.role == role and s is not seat for s in self.seats):
            raise ActionRefused("another seat is the incident commander")

    def start(self, identity: Identity) -> None:
        """The facilitator starts the drill: the engine runs to the fault phase, then the team acts."""
        self._facilitator_only(identity, "start the drill")
        with self._lock:
            if self.status.phase != "waiting":
                raise ActionRefused(f"the drill is {self.status.phase}, not waiting to start")
            self.status.phase = "starting"
        try:
            host = self._make_host(self._on_event)
            self.host = host
            self.status.run_id = host.run_id
            host.start()
        except GamedayError as exc:
            self.status.phase, self.status.error = "failed", str(exc)
            self.changed()
            raise ActionRefused(f"the drill could not start: {exc}") from exc
        self._supervisor = threading.Thread(target=self._supervise, args=(host,), name="room-drill", daemon=True)
        self._supervisor.start()
        self.changed()

    def _supervise(self, host: Host) -> None:
        try:
            if host.wait_begun():
                self.status.phase = "running"
                self.changed()
                self._human_done.wait()
            host.done()
            result = host.join()
            self.status.phase = "finishing"
            self.status.outcome = str(result.outcome)
            self.status.run_dir = Path(result.run_dir)
            self.changed()
            self.status.scorecard = self._finish(Path(result.run_dir))
            self.status.phase = "finished"
        except Exception as exc:  # noqa: BLE001 - shown in the room; the timeline holds what happened
            self.status.phase, self.status.error = "failed", f"{type(exc).__name__}: {exc}"
        self.changed()

    def _facilitator_only(self, identity: Identity, what: str) -> None:
        if not identity.is_facilitator:
            raise ActionRefused(f"only the facilitator can {what}")

    def stop(self, identity: Identity) -> None:
        self._facilitator_only(identity, "stop the drill")
        host = self.host
        if host is None or self.status.phase not in ("starting", "running"):
            raise ActionRefused("the drill is not running")
        host.stop("stopped in the room")  # the host resumes a paused clock first: the revert must not wait
        self.status.paused = False
        self._human_done.set()
        self.changed()

    def pause(self, identity: Identity, *, paused: bool) -> None:
        """Pause or resume a tabletop's scenario clock, recorded on the timeline (tabletop.paused/resumed) by
        the host's TabletopPause, as the terminal's /pause does; a live fault's clock is real: never paused."""
        self._facilitator_only(identity, "pause the drill")
        host = self.host
        pauser = getattr(host, "pause", None) if host is not None and self.status.phase == "running" else None
        pause = pauser() if callable(pauser) else None
        if pause is None:
            raise ActionRefused("only a running tabletop's clock can be paused")
        if paused:
            if not pause.pause(by=FACILITATOR):
                raise ActionRefused("the drill is already paused")
        elif pause.resume(by=FACILITATOR) is None:
            raise ActionRefused("the drill is not paused")
        self.status.paused = paused
        self.changed()

    def close(self, timeout: float = 300) -> None:
        """The room is shutting down: a drill still running is stopped (its faults are reverted) and its run is
        finished (reports, history) before this returns."""
        host = self.host
        if host is not None and self.status.phase in ("starting", "running"):
            host.stop("room closed")
            self.status.paused = False
            self._human_done.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout)
        self.changed()

    # --- actions -------------------------------------------------------------------------------

    def core(self) -> DrillCore:
        host = self.host
        core = host.core() if host is not None else None
        if core is None or self.status.phase != "running":
            raise ActionRefused("the drill has not begun" if self.status.phase in ("waiting", "starting")
                                else "the drill is over")
        return core

    def act(self, identity: Identity, action: str, args: Mapping[str, Any]) -> str:
        """Take one action for ``identity``; returns what to say, or raises ActionRefused."""
        if action not in ACTIONS:
            raise ActionRefused(f"unknown action '{action}'")
        actor = identity.actor()
        core = self.core()
        if self.status.paused:
            # Nothing is recorded at a frozen time: it would be response time the score never sees.
            raise ActionRefused("the drill is paused: the facilitator resumes it")
        a = _Args(args)
        message = "done"
        match action:
            case "detect":
                core.detect(actor, person=self._person(identity, a), signal=a.text("signal"),
                            alert=a.optional("alert"))
            case "acknowledge":
                core.acknowledge(actor, person=self._person(identity, a))
            case "declare_severity":
                event = core.declare_severity(actor, a.text("severity"))
                message = f"declared {event.details['severity']}"
            case "assign_role":
                core.assign_role(actor, role=a.text("role"), person=a.text("person"))
            case "status_update":
                core.status_update(actor, audience=a.text("audience"), text=a.text("text"))
            case "hypothesis":
                core.hypothesis(actor, a.text("text"))
            case "note_action":
                core.note_action(actor, a.text("text"))
            case "runbook_step":
                core.runbook_step(actor, step=a.number("step"), outcome=a.text("outcome"))
            case "run_step":
                _, result = core.run_step(actor, step=a.number("step"), confirmed=a.flag("confirmed"))
                # What the terminal prints after a step's command: its exit and its output (the tail, bounded).
                output = result.output.strip()
                message = f"exit {result.exit_code} in {result.duration_s:.1f}s" + (
                    f": {output[-OUTPUT_SHOWN:]}" if output else "")
            case "mitigated":
                core.mitigated(actor)
            case "request_all_clear":
                pending = core.request_all_clear(actor)
                message = ("all-clear refused: the probes are not green" if pending is None
                           else "the probes are green: a second person confirms the all-clear")
            case "confirm_all_clear":
                core.confirm_all_clear(actor, second=actor.name or a.text("second"))
            case "record_review":
                core.record_review(actor, went_well=a.lines("went_well"), went_poorly=a.lines("went_poorly"),
                                   got_lucky=a.lines("got_lucky"), root_cause=a.text("root_cause"),
                                   action_items=a.items("action_items"))
            case "advance":
                message = f"now in {core.advance(actor)}"
            case "release_inject":
                core.release_inject(actor, a.text("inject"))
            case "withhold_inject":
                core.withhold_inject(actor, a.text("inject"))
        if core.state.finished:
            self._human_done.set()
        self.changed()
        return message

    @staticmethod
    def _person(identity: Identity, a: _Args) -> str:
        """Who noticed or acknowledged: a seat is always its own person (its name); only the facilitator,
        typing for the team, names someone else."""
        if identity.seat is not None:
            return identity.seat.name
        return a.text("person")

    # --- what each participant sees ------------------------------------------------------------

    def events(self) -> list[Event]:
        host = self.host
        return list(host.timeline.events) if host is not None else []

    def _probe_turned(self, events: list[Event], index: int) -> bool:
        """Did the probe checked at ``index`` change colour (or is it the probe's first check)?"""
        with self._lock:
            while self._probe_seen < len(events):
                e = events[self._probe_seen]
                if e.kind == ev.PROBE_CHECKED:
                    name, ok = str(e.details.get("probe")), bool(e.details.get("ok"))
                    self._probe_turns[self._probe_seen] = self._probe_last.get(name) != ok
                    self._probe_last[name] = ok
                self._probe_seen += 1
            return self._probe_turns.get(index, False)

    def visible(self, events: list[Event], index: int, *, facilitator: bool) -> bool:
        """Is the ``index``-th event of the timeline shown to this audience?"""
        kind = events[index].kind
        if kind in QUIET_KINDS:
            return False
        if kind == ev.PROBE_CHECKED:
            return self._probe_turned(events, index)
        return facilitator or kind in SEAT_KINDS

    def probes(self, events: list[Event]) -> dict[str, bool]:
        latest: dict[str, bool] = {}
        for e in events:
            if e.kind == ev.PROBE_CHECKED:
                latest[str(e.details.get("probe"))] = bool(e.details.get("ok"))
        return latest

    def state_for(self, identity: Identity) -> dict[str, Any]:
        """Everything a page shows, for this identity (a seat never sees the fault or withheld injects)."""
        events = self.events()
        status = self.status
        facilitator = identity.is_facilitator
        out: dict[str, Any] = {
            "room": {"status": status.phase, "paused": status.paused, "error": status.error, "mode": self.mode,
                     "speed": self.speed, "scenario": self.scenario.name, "run_id": status.run_id,
                     "outcome": status.outcome, "scorecard": status.scorecard,
                     "report": f"/reports/{status.run_id}/" if status.phase == "finished" else None},
            "you": {"facilitator": facilitator, "seat": identity.seat.number if identity.seat else None,
                    "name": identity.seat.name if identity.seat else "facilitator", "role": identity.role,
                    "actions": {a: list(phases) for a, (roles, phases) in sorted(ACTIONS.items())
                                if identity.role == FACILITATOR or identity.role in roles}},
            "seats": [{"number": s.number, "name": s.name, "role": s.role, "joined": s.joined} for s in self.seats],
            "roles": [{"id": r, "label": ROLE_LABELS.get(r, r)} for r in SEAT_ROLES],
            "signals": list(SIGNALS), "audiences": list(AUDIENCES),
            "alerts": sorted({str(e.details.get("alertname")) for e in events if e.kind == ev.ALERT_FIRING}
                             - {str(e.details.get("alertname")) for e in events if e.kind == ev.ALERT_RESOLVED}),
            "probes": [{"name": k, "ok": v} for k, v in self.probes(events).items()],
            "last_event_id": len(events),
        }
        host = self.host
        core = host.core() if host is not None and status.phase in ("running", "finishing", "finished") else None
        if core is None:
            out["drill"] = None
            return out
        state = core.state
        phase = state.phase or "detect"
        checklist = core.checklist()
        out["drill"] = {
            "phase": phase, "phases": list(PHASES), "t_s": round(core.rec.t(), 1), "detected": state.detected,
            "acknowledged": state.acknowledged, "severity": state.severity, "roles": state.roles,
            "hypotheses": state.hypotheses, "updates": state.updates, "mitigated": state.mitigated,
            "resolved": state.resolved, "reviewed": state.reviewed, "finished": state.finished,
            "gate": core.gate(phase) if phase != "done" else None,
            "pending_all_clear": core.pending_all_clear.by if core.pending_all_clear else None,
            "update_due": core.update_due() is not None,
            "severities": [{"id": lv.id, "name": lv.name, "title": lv.title} for lv in core.severities()],
            "checklist": [{"step": i.step, "title": i.title, "command": i.command,
                           "status": state.steps_recorded.get(i.step, "open")} for i in checklist.items]
            if checklist else [],
            "can_run_commands": core.can_run_commands(),
            "prompt": ROLE_PROMPTS.get(identity.role, {}).get(phase, "") if not facilitator else "",
            "templates": {a: core.template(a) for a in AUDIENCES}
            if identity.role in (FACILITATOR, "communications") else {},
        }
        if facilitator:
            out["drill"]["injects"] = core.injects()
            out["drill"]["fault_live"] = state.fault_live
            windows = [(e.kind, e.offset) for e in events if e.kind in (ev.FAULT_INJECTED, ev.FAULT_REVERTED)]
            out["drill"]["fault_window"] = [{"kind": k, "t_s": round(o - core.rec.fault_start, 1)} for k, o in windows]
        return out


class _Args:
    """A JSON action's arguments, each checked for its type with a sentence naming the field."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    def text(self, key: str, default: str | None = None) -> str:
        value = self.raw.get(key, default)
        if value is None and default is not None:
            value = default
        if not isinstance(value, str):
            raise ActionRefused(f"field '{key}': text is needed")
        return value

    def optional(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is None or value == "":
            return None
        return self.text(key)

    def number(self, key: str) -> int:
        value = self.raw.get(key)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ActionRefused(f"field '{key}': a whole number is needed")
        return value

    def flag(self, key: str) -> bool:
        return self.raw.get(key) is True

    def lines(self, key: str) -> list[str]:
        value = self.raw.get(key, [])
        if isinstance(value, str):
            value = value.splitlines()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ActionRefused(f"field '{key}': a list of lines is needed")
        return value

    def items(self, key: str) -> list[Mapping[str, str]]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(
                isinstance(v, dict) and all(isinstance(x, str) for x in v.values()) for v in value):
            raise ActionRefused(f"field '{key}': a list of {{text, owner, due}} is needed")
        return value
