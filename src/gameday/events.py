"""The event catalogue: every kind of timeline event gameday writes, declared once, with its details.

A timeline (timeline.py) is one JSON event per line: ``at`` (UTC wall time), ``offset`` (monotonic
seconds since the run started), ``kind``, ``actor`` and ``details``. Each kind below is declared with
the actor that writes it and the meaning of each detail key, as locust's ``event.py`` documents each
event beside its declaration. Code compares and records kinds through these names
(``ev.FAULT_INJECTED``), never through free strings; the strings themselves are the on-disk format and
never change, so old timelines load and score as before. Import the module as ``ev``
(``from gameday import events as ev``): ``events`` is what the code calls a list of events.

Kinds a third-party plugin writes (a fault driver's ``observations``, an observer) need no entry here;
readers pass over kinds they do not know. ``tests/test_events.py`` checks that every kind written
anywhere in ``src/gameday`` is declared here, with only declared detail keys, and that every kind
declared here is written somewhere.

Events written through the facilitator's ``DrillRecorder`` (``human=True`` below) also carry the drill
context, ``DRILL_CONTEXT``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Reversible
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from gameday.timeline import Event


@dataclass(frozen=True)
class Kind:
    """One kind of timeline event: its on-disk name, who writes it, and what each detail key means."""

    name: str
    actor: str
    doc: str
    details: Mapping[str, str] = field(default_factory=dict)
    human: bool = False
    """The human side of a drill: written by the facilitator, its people or scripted responders."""
    writer: str = ""
    """The module that writes it (several: the first); documentation for people reading a timeline."""


_CATALOGUE: dict[str, Kind] = {}


def _declare(name: str, *, actor: str, writer: str, doc: str, details: Mapping[str, str] | None = None,
             human: bool = False) -> str:
    if name in _CATALOGUE:
        raise ValueError(f"event kind {name} declared twice")
    _CATALOGUE[name] = Kind(name=name, actor=actor, doc=doc, details=MappingProxyType(dict(details or {})),
                            human=human, writer=writer)
    return name


DRILL_CONTEXT: Final[Mapping[str, str]] = MappingProxyType({
    "drill": "True: this is an exercise, never a real incident",
    "t_s": "seconds since the fault phase began, in scenario time (in tabletop mode the clock is compressed: "
           "scenario seconds = real seconds x speed; run.started says so)",
    "mode": "live (a real fault), tabletop (no fault) or scripted (responses: in place of people)",
})
"""Details every human-side event carries besides its own (facilitator/events.py ``DrillRecorder``)."""
SEAT_CONTEXT: Final[Mapping[str, str]] = MappingProxyType({
    "seat": "the drill room's seat (its number) whose action caused this event",
    "seat_role": "that seat's role when it acted (the actor is the seat's name)",
})
"""Details a human-side event carries besides its own when a drill room's seat caused it (facilitator/core.py)."""

_FAULT = "the fault's label (its name, else kind@target)"
_PERSON_ACTOR = "a role, a person or a scripted responder's name"

# --- the run (engine/run.py; a tabletop writes the same kinds with simulated: true) ------------------

RUN_STARTED: Final = _declare(
    "run.started", actor="harness", writer="engine/run.py", doc="Always the first event of a run.",
    details={
        "run_id": "the run's folder name", "scenario": "scenario name", "description": "scenario description",
        "stack": "the stack's name", "environment": "staging, production, ...", "tags": "the scenario's tags",
        "scenario_file": "path of the scenario file", "drill": "always True", "pid": "the harness's process",
        "faults": "[{fault, kind, target, at_s, duration_s}] the faults planned",
        "expected_severity": "the severity the scenario expects the team to declare",
        "severities": "the scenario's severity table changes", "names_in_report": "show people's names",
        "recovers_within_s": "the recovery deadline", "mode": "tabletop (facilitate --speed)",
        "speed": "tabletop clock compression", "time": "scenario: offsets are scenario seconds",
        "note": "a sentence for people reading the timeline",
    })
PHASE_CHANGED: Final = _declare(
    "phase.changed", actor="harness", writer="engine/run.py",
    doc="The run entered a phase: preflight, steady_state, fault, recovery, evaluation, done.",
    details={"phase": "the phase entered"})
STEADY_STATE_MET: Final = _declare(
    "steady_state.met", actor="harness", writer="engine/run.py", doc="Enough green probe rounds before the fault.",
    details={"rounds": "green rounds in a row", "note": "why no probe was checked (none declared, tabletop)"})
STEADY_STATE_FAILED: Final = _declare(
    "steady_state.failed", actor="harness", writer="engine/run.py",
    doc="Not steady before the deadline: nothing is injected.", details={"reason": "the probes still red"})
PROBE_CHECKED: Final = _declare(
    "probe.checked", actor="probe:<name>", writer="engine/run.py", doc="One check of one steady-state probe.",
    details={"phase": "the run's phase", "probe": "probe name", "ok": "green", "status": "HTTP status",
             "latency_ms": "how long the check took", "error": "why it is red"})
FAULT_INTENDED: Final = _declare(
    "fault.intended", actor="harness", writer="engine/run.py", doc="Journalled and live, not yet applied.",
    details={"fault": _FAULT, "fault_id": "the journal's id", "kind": "fault kind", "target": "its target",
             "description": "what the fault does, from its handle", "simulated": "True in a tabletop"})
FAULT_INJECTED: Final = _declare(
    "fault.injected", actor="harness", writer="engine/run.py", doc="The driver applied the fault.",
    details={"fault": _FAULT, "fault_id": "the journal's id", "kind": "fault kind", "target": "its target",
             "description": "what the fault does", "duration_s": "how long it is meant to last",
             "simulated": "True in a tabletop: nothing was touched"})
FAULT_EFFECTIVE: Final = _declare(
    "fault.effective", actor="harness", writer="engine/run.py",
    doc="The harness saw the fault take effect (the incident's start for scoring).",
    details={"fault": _FAULT, "after_ms": "since inject", "simulated": "True in a tabletop"})
FAULT_FAILED: Final = _declare(
    "fault.failed", actor="harness", writer="engine/run.py", doc="The driver could not apply the fault.",
    details={"fault": _FAULT, "error": "why"})
FAULT_PHASE_ENDED: Final = _declare(
    "fault_phase.ended", actor="harness", writer="engine/run.py",
    doc="The fault phase ended before its faults' durations (the team mitigated, or a request).",
    details={"reason": "why"})
REVERT_STARTED: Final = _declare(
    "revert.started", actor="harness", writer="engine/run.py",
    doc="Written before the driver acts, so a judge never credits a harness revert to the runbook.",
    details={"fault": _FAULT, "fault_id": "the journal's id", "simulated": "True in a tabletop"})
REVERT_RETRYING: Final = _declare(
    "revert.retrying", actor="harness", writer="engine/run.py",
    doc="A revert met an environment problem and is tried again.", details={"fault": _FAULT, "error": "why"})
FAULT_REVERTED: Final = _declare(
    "fault.reverted", actor="harness", writer="engine/run.py",
    doc="The fault was undone (by the run, a resumed drill, the watchdog or `gameday cleanup`).",
    details={"fault": _FAULT, "fault_id": "the journal's id (watchdog, cleanup)",
             "duration_s": "how long it was live", "revert_ms": "how long the revert took",
             "simulated": "True in a tabletop", "reason": "why it ended early",
             "by": "who reverted it when not the run itself: resume, watchdog, cleanup, abort",
             "reverted_at": "when, for a revert copied from the journal"})
REVERT_FAILED: Final = _declare(
    "revert.failed", actor="harness", writer="engine/run.py",
    doc="A revert failed: a human is needed (exit 3). Also written by the watchdog and `gameday cleanup`.",
    details={"fault": _FAULT, "error": "why", "fault_id": "the journal's id (watchdog, cleanup)",
             "by": "watchdog, cleanup or abort, when not the run itself", "reason": "why the watchdog acted"})
OBSERVATION_FAILED: Final = _declare(
    "observation.failed", actor="harness", writer="engine/run.py",
    doc="A driver's optional observations(handle, phase) failed; the run goes on.",
    details={"fault": _FAULT, "phase": "before, during or after", "error": "why"})
OBSERVER_FAILED: Final = _declare(
    "observer.failed", actor="harness", writer="engine/run.py",
    doc="An observer (alerts, load, runbook, responders) failed; the run and its reverts go on.",
    details={"observer": "its name", "during": "what it was doing", "error": "why"})
RECOVERY_MET: Final = _declare(
    "recovery.met", actor="harness", writer="engine/run.py", doc="Every probe green after the revert.",
    details={"after_s": "since recovery began", "note": "why nothing was checked", "by": "resume"})
RECOVERY_FAILED: Final = _declare(
    "recovery.failed", actor="harness", writer="engine/run.py", doc="Still red at the recovery deadline.",
    details={"after_s": "None", "waited_s": "how long the harness waited", "failing": "red probes",
             "by": "resume"})
EXPECTATION_MET: Final = _declare(
    "expectation.met", actor="harness", writer="engine/run.py", doc="A scenario expectation held.",
    details={"name": "the expectation", "detail": "what was seen"})
EXPECTATION_FAILED: Final = _declare(
    "expectation.failed", actor="harness", writer="engine/run.py", doc="A scenario expectation did not hold.",
    details={"name": "the expectation", "detail": "what was seen"})
SAFETY_OVERRIDE: Final = _declare(
    "safety.override", actor="harness", writer="engine/run.py",
    doc="A safety rule was lifted on request (--allow-production).", details={"what": "which rule"})
WATCHDOG_STARTED: Final = _declare(
    "watchdog.started", actor="harness", writer="engine/run.py",
    doc="The watchdog process that reverts if the harness dies.", details={"pid": "its process"})
ABORT_REQUESTED: Final = _declare(
    "abort.requested", actor="harness", writer="engine/run.py", doc="`gameday abort` asked this run to stop.",
    details={"by": "who asked"})
JOURNAL_FAILED: Final = _declare(
    "journal.failed", actor="harness", writer="engine/run.py", doc="The journal could not be closed.",
    details={"error": "why"})
GUARD_CHECKED: Final = _declare(
    "guard.checked", actor="guard:<name>", writer="engine/guards.py", doc="One check of a guard's probe.",
    details={"guard": "guard name", "probe": "probe name", "ok": "green", "status": "HTTP status",
             "latency_ms": "how long the check took", "error": "why it is red"})
GUARD_TRIPPED: Final = _declare(
    "guard.tripped", actor="harness", writer="engine/run.py", doc="A guard stopped the run.",
    details={"reason": "which guard and why"})
SIGNAL_RECEIVED: Final = _declare(
    "signal.received", actor="harness", writer="engine/run.py", doc="Ctrl-C or SIGTERM reached the run.",
    details={"signal": "its name"})
RUN_ABORTED: Final = _declare(
    "run.aborted", actor="harness", writer="engine/run.py", doc="The run stopped early; reverts still ran.",
    details={"reason": "why"})
RUN_FINISHED: Final = _declare(
    "run.finished", actor="harness", writer="engine/run.py", doc="Always the last event of a run.",
    details={"outcome": "passed, failed, aborted, interrupted, error, revert_failed", "exit_code": "the exit code",
             "error": "why it did not pass cleanly", "resumed": "True: written by a resumed drill"})

# --- alerts (observe/alerts.py; actor alertmanager for alerts, harness for the rest) ---------------

ALERTS_WATCHING: Final = _declare(
    "alerts.watching", actor="harness", writer="observe/alerts.py",
    doc="The alert observer started; what it expects is kept here so a timeline scores offline.",
    details={"receiver": "webhook URL", "accepts_from": "the one Alertmanager (external URL) whose webhooks count",
             "alertmanager": "API URL (redacted)", "poll_interval_s": "polling",
             "expected": "[{name, labels, matchers, within_s}]", "not_firing": "alerts that must stay quiet"})
_ALERT = {"alertname": "alert name", "labels": "its labels", "starts_at": "Alertmanager's startsAt",
          "ends_at": "Alertmanager's endsAt", "fingerprint": "Alertmanager's fingerprint",
          "via": "webhook or poll, whichever told the harness first", "summary": "annotation",
          "runbook_url": "annotation"}
ALERT_FIRING: Final = _declare(
    "alert.firing", actor="alertmanager", writer="observe/alerts.py",
    doc="An alert started firing; one event per (fingerprint, startsAt).", details=_ALERT)
ALERT_RESOLVED: Final = _declare(
    "alert.resolved", actor="alertmanager", writer="observe/alerts.py", doc="A firing alert resolved.",
    details=_ALERT)
ALERTS_RECEIVER_FAILED: Final = _declare(
    "alerts.receiver_failed", actor="harness", writer="observe/alerts.py",
    doc="The webhook receiver could not listen; polling goes on.", details={"error": "why"})
ALERTS_PAYLOAD_REJECTED: Final = _declare(
    "alerts.payload_rejected", actor="harness", writer="observe/alerts.py",
    doc="A malformed webhook POST (answered 400).", details={"error": "why"})
ALERTS_FOREIGN_REFUSED: Final = _declare(
    "alerts.foreign_refused", actor="harness", writer="observe/alerts.py",
    doc="A webhook from an Alertmanager other than the stack's (its externalURL is not the stack file's "
        "alertmanager.external_url), answered 403 and not recorded; once per sender.",
    details={"sender": "the payload's externalURL (None: it had none)", "accepts_from": "the stack's",
             "alertnames": "the alerts of its first payload"})
ALERTS_UNREACHABLE: Final = _declare(
    "alerts.unreachable", actor="harness", writer="observe/alerts.py",
    doc="Polling Alertmanager failed (once per outage).", details={"alertmanager": "URL", "error": "why"})
ALERTS_REACHABLE: Final = _declare(
    "alerts.reachable", actor="harness", writer="observe/alerts.py", doc="Polling works again.",
    details={"alertmanager": "URL", "failures": "failed polls in the outage"})
ALERTS_WAITING: Final = _declare(
    "alerts.waiting", actor="harness", writer="observe/alerts.py",
    doc="After recovery: expected alerts still due, or resolutions awaited.",
    details={"reason": "what is awaited", "alerts": "which", "until_s": "the deadline"})
ALERTS_STOPPED: Final = _declare(
    "alerts.stopped", actor="harness", writer="observe/alerts.py", doc="The alert observer stopped listening.",
    details={"waited_s": "how long it waited after recovery", "still_firing": "alerts not resolved",
             "received": "{webhook: n, poll: n} alerts heard, repeats included",
             "refused": "alerts other Alertmanagers sent (alerts.foreign_refused)"})

# --- load (observe/load.py) -------------------------------------------------------------------------

LOAD_STARTED: Final = _declare(
    "load.started", actor="load", writer="observe/load.py", doc="The Locust child process started.",
    details={"locustfile": "path", "host": "target", "users": "simulated users", "spawn_rate": "users/s",
             "pid": "the child", "locust_version": "version", "user_classes": "Locust user classes",
             "max_run_time_s": "the child's bound"})
LOAD_STATS: Final = _declare(
    "load.stats", actor="load", writer="observe/load.py",
    doc="Once a second: the last second's requests, counted in the run's phase at its middle.",
    details={"phase": "the run's phase", "rps": "requests/s", "p50_ms": "median", "p95_ms": "95th percentile",
             "p99_ms": "99th percentile", "max_ms": "slowest", "error_rate": "failures/requests",
             "requests": "count", "failures": "count", "users": "active users", "interval_s": "seconds covered",
             "t": "child's clock", "hist": "rounded response time in ms -> count"})
LOAD_FINISHED: Final = _declare(
    "load.finished", actor="load", writer="observe/load.py", doc="Totals of the whole load; once after load.started.",
    details={"requests": "count", "failures": "count", "rps": "mean requests/s", "error_rate": "failures/requests",
             "p50_ms": "median", "p95_ms": "95th percentile", "p99_ms": "99th percentile",
             "duration_s": "how long it ran", "reason": "why it stopped", "complete": "totals arrived",
             "exit_code": "the child's", "locust_requests": "Locust's own count (a cross-check of requests)",
             "locust_failures": "Locust's own count (a cross-check of failures)"})

# --- runbooks (runbooks/execute.py, runbooks/observer.py; actor the observer or responder) -----------

RUNBOOK_TRIGGERED: Final = _declare(
    "runbook.triggered", actor="the runbook observer", writer="runbooks/observer.py",
    doc="The unattended runbook observer starts following the runbook.",
    details={"runbook": "its name", "by": "alert, fault or timeout"})
RUNBOOK_MISSING: Final = _declare(
    "runbook.missing", actor="the runbook observer", writer="runbooks/observer.py",
    doc="The scenario's runbook could not be loaded.", details={"runbook": "as referenced", "reason": "why"})
RUNBOOK_STARTED: Final = _declare(
    "runbook.started", actor=_PERSON_ACTOR, writer="runbooks/execute.py", doc="A runbook began to be followed.",
    details={"runbook": "its name", "path": "its file", "steps": "numbered steps",
             "total_steps": "steps plus Verify blocks"})
RUNBOOK_STEP: Final = _declare(
    "runbook.step", actor=_PERSON_ACTOR, writer="runbooks/execute.py", human=True,
    doc="One runbook step done, failed or skipped (run by the executor, or reported by a person).",
    details={"runbook": "its name", "step": "1-based", "title": "the step's heading",
             "outcome": "done, failed or skipped", "command": "what ran", "exit_code": "of the command",
             "duration_s": "how long", "output": "truncated, redacted", "section": "steps or verify",
             "idle": "changed nothing users could see", "reason": "why skipped or idle",
             "total_steps": "steps plus Verify blocks", "scripted": "a scripted responder reported it",
             "ran": "the facilitator ran the command"})
RUNBOOK_JUDGED: Final = _declare(
    "runbook.judged", actor=_PERSON_ACTOR, writer="runbooks/execute.py",
    doc="The harness's verdict on a runbook (probes and Verify blocks), not an act of a person.",
    details={"runbook": "its name", "restored": "service restored by the runbook",
             "time_to_restore_s": "from the fault taking effect", "failing_steps": "step numbers",
             "idle_steps": "step numbers", "restored_by": "runbook or harness revert", "reason": "the verdict's why",
             "steps_run": "count", "total_steps": "steps plus Verify blocks"})

# --- the human side of a drill (facilitator/, via DrillRecorder: DRILL_CONTEXT on each) --------------

INJECT_RELEASED: Final = _declare(
    "inject.released", actor="the inject's source", writer="facilitator/loop.py", human=True,
    doc="A scenario inject (a message, a customer report) reached the team.",
    details={"inject": "its name", "kind": "inject kind", "source": "who sends it", "text": "what it says",
             "condition": "what it waited for", "due_t_s": "when it was due",
             "by": "facilitator: released by hand ahead of its time (drill room)"})
INJECT_WITHHELD: Final = _declare(
    "inject.withheld", actor="facilitator", writer="facilitator/loop.py", human=True,
    doc="An inject's condition did happen in time, so it was not needed.",
    details={"inject": "its name", "kind": "inject kind", "condition": "what it waited for",
             "reason": "what happened in time (e.g. alert.firing at T+12.0s)"})
INCIDENT_DETECTED: Final = _declare(
    "incident.detected", actor=_PERSON_ACTOR, writer="facilitator/core.py", human=True,
    doc="Someone noticed the incident.",
    details={"signal": "alert, customer_report, dashboard, probe or other", "alert": "which alert",
             "person": "who"})
INCIDENT_ACKNOWLEDGED: Final = _declare(
    "incident.acknowledged", actor=_PERSON_ACTOR, writer="facilitator/core.py", human=True,
    doc="The page was acknowledged.", details={"person": "who"})
SEVERITY_DECLARED: Final = _declare(
    "severity.declared", actor=_PERSON_ACTOR, writer="facilitator/core.py", human=True,
    doc="A severity was declared; may come again (an upgrade or downgrade).",
    details={"severity": "SEV1..SEV4", "previous": "the one before"})
ROLE_ASSIGNED: Final = _declare(
    "role.assigned", actor=_PERSON_ACTOR, writer="facilitator/core.py", human=True,
    doc="A person took an incident role.",
    details={"role": "incident_commander, communications, scribe or sme", "person": "who"})
HYPOTHESIS_NOTED: Final = _declare(
    "hypothesis.noted", actor=_PERSON_ACTOR, writer="facilitator/core.py", human=True,
    doc="A hypothesis about the cause.", details={"text": "the hypothesis"})
NOTE_RECORDED: Final = _declare(
    "note.recorded", actor=_PERSON_ACTOR, writer="facilitator/scripted.py", human=True,
    doc="A note for the record.", details={"text": "the note"})
ACTION_NOTED: Final = _declare(
    "action.noted", actor=_PERSON_ACTOR, writer="facilitator/core.py", human=True,
    doc="A mitigation action taken outside a runbook.", details={"text": "what was done"})
STATUS_UPDATE_SENT: Final = _declare(
    "status_update.sent", actor=_PERSON_ACTOR, writer="facilitator/core.py", human=True,
    doc="A status update went out.", details={"audience": "internal, customer or executive", "text": "its text"})
ESCALATION_PROMPTED: Final = _declare(
    "escalation.prompted", actor="facilitator", writer="facilitator/loop.py", human=True,
    doc="The facilitator prompted an escalation (a severity's rule was due).",
    details={"reason": "why", "rule": "which rule", "due_t_s": "when it was due"})
INCIDENT_MITIGATED: Final = _declare(
    "incident.mitigated", actor=_PERSON_ACTOR, writer="facilitator/core.py", human=True,
    doc="Impact halted.")
ALL_CLEAR_REFUSED: Final = _declare(
    "all_clear.refused", actor=_PERSON_ACTOR, writer="facilitator/core.py", human=True,
    doc="An all-clear was refused: probes not green (or the simulated fault still live).",
    details={"reason": "what is still red"})
INCIDENT_RESOLVED: Final = _declare(
    "incident.resolved", actor=_PERSON_ACTOR, writer="facilitator/core.py", human=True,
    doc="The all-clear was accepted.", details={"confirmed_by": "who", "probes": "the probes checked"})
REVIEW_RECORDED: Final = _declare(
    "review.recorded", actor=_PERSON_ACTOR, writer="facilitator/core.py", human=True,
    doc="The post-incident review.",
    details={"went_well": "text", "went_poorly": "text", "got_lucky": "text", "root_cause": "text",
             "action_items": "[{text, owner, due}]", "scripted": "a scripted responder wrote it"})
DRILL_PHASE: Final = _declare(
    "drill.phase", actor="facilitator", writer="facilitator/core.py", human=True,
    doc="The facilitator entered a phase (detect, triage, investigate, mitigate, verify, review, done); "
        "a resumed drill starts from the last one.", details={"phase": "the phase"})
DRILL_STOPPED: Final = _declare(
    "drill.stopped", actor="facilitator", writer="facilitator/drill.py", human=True,
    doc="Ctrl-C or SIGTERM at the facilitator.", details={"signal": "its name", "phase": "the drill's phase"})
DRILL_RESUMED: Final = _declare(
    "drill.resumed", actor="facilitator", writer="facilitator/drill.py", human=True,
    doc="A drill continued after its process died.",
    details={"from_phase": "where it resumes", "previous_pid": "the process that died",
             "reverted": "faults reverted on resume"})
DRILL_FINISHED: Final = _declare(
    "drill.finished", actor="facilitator", writer="facilitator/core.py", human=True,
    doc="The facilitator's last event.")
TABLETOP_PAUSED: Final = _declare(
    "tabletop.paused", actor="who paused it (the facilitator, or a seat of a drill room)",
    writer="facilitator/pause.py", human=True,
    doc="The tabletop's scenario clock stopped (/pause): injects, escalations and the simulated fault window "
        "hold, and nothing is recorded until it resumes. A pause takes no scenario time: the tabletop.resumed "
        "that ends it has the same offset, so no duration in the score includes it.",
    details={"phase": "the drill's phase when paused"})
TABLETOP_RESUMED: Final = _declare(
    "tabletop.resumed", actor="who resumed it", writer="facilitator/pause.py", human=True,
    doc="The tabletop's scenario clock runs again (/resume, or the drill ending while paused).",
    details={"paused_real_s": "real (wall-clock) seconds the pause lasted; scenario time did not advance",
             "reason": "why, when it was not asked for (the drill stopped or ended while paused)"})

# --- fault drivers' own observations (through the engine's observations hook) -----------------------

DISK_USAGE: Final = _declare(
    "disk.usage", actor="harness", writer="faults/disk.py",
    doc="The filesystem a disk_fill fault fills, before, during and after it.",
    details={"fault": _FAULT, "target": "host path or container", "where": "host or container",
             "path": "the directory", "phase": "before, during or after", "used_bytes": "bytes used",
             "size_bytes": "filesystem size", "free_bytes": "bytes free", "percent_used": "percent",
             "fill_bytes": "bytes the fault added"})

KUBERNETES_CONTAINER: Final = _declare(
    "kubernetes.container", actor="harness", writer="kubernetes/faults/containers.py",
    doc="The container a container_kill fault kills on Kubernetes, as its pod's status says: before inject, right "
        "after it (the pod's status may not show the kill yet: the kubelet notices within a second) and after "
        "revert (the kubelet's new container, running and ready).",
    details={"fault": _FAULT, "target": "the scenario's target", "phase": "before, during or after",
             "pod": "namespace/name", "container": "its name", "state": "running, waiting (reason) or terminated",
             "ready": "the container is ready", "restarts": "its restartCount",
             "last_state": "how the previous container ended (reason, exit code), if one did",
             "container_id": "the runtime's id of the container now (12 characters)",
             "killed_id": "the id of the container the fault kills (12 characters)"})

KUBERNETES_WORKLOAD: Final = _declare(
    "kubernetes.workload", actor="harness", writer="kubernetes/faults/pods.py",
    doc="The workload a pod_delete or scale fault acts on, right after inject (during) and after the fault "
        "window (after: once it is ready again, or after a minute).",
    details={"fault": _FAULT, "target": "the scenario's target", "phase": "during or after",
             "workload": "Kind namespace/name", "deleted": "pod_delete: the pods it deleted",
             "replicas": "scale: the count it set",
             "desired": "replicas the workload wants", "ready": "replicas ready",
             "pods": "its pods now (not terminating)", "removed_left": "removed pods that still exist",
             "recovered": "the removed pods are gone and as many replicas are ready as it wants",
             "waited_s": "after: seconds waited for it to recover"})


KUBERNETES_ROLLOUT: Final = _declare(
    "kubernetes.rollout", actor="harness", writer="kubernetes/faults/rollout.py",
    doc="The workload a rollout_break fault deploys badly, right after inject (during) and after its revert "
        "(after: once the rollback has rolled out, or after a minute).",
    details={"fault": _FAULT, "target": "the scenario's target", "phase": "during or after",
             "workload": "Kind namespace/name", "template": "recorded, bad deploy, or another (someone else's)",
             "revision": "a Deployment's revision now (its annotation), a StatefulSet's updateRevision; none for a "
                         "DaemonSet",
             "complete": "the rollout is complete", "state": "what kubectl rollout status would say",
             "waited_s": "after: seconds waited for the rollback to roll out"})

# --- the cluster's own Events (kubernetes/events.py: a scenario with a fault on a Kubernetes target) ---------

KUBERNETES_EVENTS_WATCHING: Final = _declare(
    "kubernetes.events_watching", actor="kubernetes", writer="kubernetes/events.py",
    doc="The cluster events recorder started: it watches the Events about each Kubernetes fault target, the "
        "ReplicaSets of a Deployment and the target's pods.",
    details={"targets": "[{target, selector}] the targets watched", "namespaces": "the namespaces watched "
             "(default for a Node target: Events of cluster-scoped objects are there)", "limit": "at most this many kubernetes.event lines a run",
             "per_reason": "at most this many lines of one reason; the rest are counted"})
KUBERNETES_EVENT: Final = _declare(
    "kubernetes.event", actor="kubernetes", writer="kubernetes/events.py",
    doc="One Event of the cluster about a target or its pods (Killing, FailedScheduling, BackOff, Evicted, "
        "SuccessfulCreate, ScalingReplicaSet, ...), recorded once; its repeats are counted in the summary.",
    details={"target": "the scenario's target it is about", "object": "Kind/name of the object, e.g. Pod/web-7d9-x2x",
             "namespace": "the object's namespace ('' for a Node)", "reason": "the Event's reason",
             "type": "Normal or Warning", "message": "the Event's message (at most 300 characters)",
             "count": "how many times it had happened when first seen", "source": "the component that reported it",
             "event_at": "the Event's own time, UTC (its eventTime, last or first timestamp, else its creation)"})
KUBERNETES_EVENTS_SUMMARY: Final = _declare(
    "kubernetes.events_summary", actor="kubernetes", writer="kubernetes/events.py",
    doc="The recorder stopped: what it saw beyond the lines it wrote, so a flood is counted, not written.",
    details={"recorded": "kubernetes.event lines written", "summarised": "{reason: n} Events past the limits, not "
             "written one by one", "repeated": "{reason: n} further occurrences of Events already written",
             "errors": "the first watch errors, if any (the recorder retries)"})

# --- OOM kills of the scenario's containers (observe/oom.py: expect.oom_kills, memory_pressure targets) --------

OOM_WATCHING: Final = _declare(
    "oom.watching", actor="harness", writer="observe/oom.py",
    doc="The OOM watcher started: from here until after recovery it reads each container's OOM kills, through its "
        "runtime (State.OOMKilled with its exit) and the kernel (oom_kill in its memory cgroup).",
    details={"targets": "[{target, container, kernel}] the containers watched; kernel: the memory cgroup's oom_kill "
                        "count is readable on this machine",
             "interval_s": "seconds between two reads"})
CONTAINER_OOM_KILLED: Final = _declare(
    "container.oom_killed", actor="harness", writer="observe/oom.py",
    doc="The kernel's OOM killer ended a process of a watched container, seen once per kill.",
    details={"target": "the scenario's target", "container": "the container's name",
             "source": "runtime: its main process exited OOM-killed (State.OOMKilled); kernel: the oom_kill count "
                       "of its memory cgroup went up (also a kill of another process, the container running on)",
             "kills": "kernel: by how much the count went up", "exit_code": "runtime: the exit code (137)",
             "finished_at": "runtime: when it exited, as the runtime says (UTC)",
             "status": "the container's status when seen"})
OOM_WATCH_FAILED: Final = _declare(
    "oom.watch_failed", actor="harness", writer="observe/oom.py",
    doc="A container could not be read (its runtime refused or was away); the watcher goes on trying, and records "
        "each distinct error once.",
    details={"target": "the scenario's target", "error": "what went wrong"})

CATALOGUE: Final[Mapping[str, Kind]] = MappingProxyType(_CATALOGUE)
"""Every kind gameday writes, by its on-disk name."""

HUMAN_KINDS: Final[frozenset[str]] = frozenset(k.name for k in _CATALOGUE.values() if k.human)
"""The human side of a drill. ``runbook.judged`` is not one: it is the harness's verdict on a runbook."""


def first(events: Iterable[Event], *kinds: str) -> Event | None:
    """The first event of one of ``kinds``, or None."""
    return next((e for e in events if e.kind in kinds), None)


def last(events: Reversible[Event], *kinds: str) -> Event | None:
    """The last event of one of ``kinds``, or None."""
    return next((e for e in reversed(events) if e.kind in kinds), None)


def undocumented(events: Iterable[Event]) -> list[str]:
    """What in ``events`` the catalogue does not declare: an unknown kind, or a detail key not documented
    with its kind (nor drill or seat context). For tests of code that writes timelines; empty when all is declared."""
    out = []
    for e in events:
        kind = _CATALOGUE.get(e.kind)
        if kind is None:
            out.append(f"{e.kind}: not in the catalogue")
            continue
        extra = sorted(set(e.details) - set(kind.details) - set(DRILL_CONTEXT) - set(SEAT_CONTEXT))
        if extra:
            out.append(f"{e.kind}: details {', '.join(extra)} not documented")
    return sorted(set(out))
