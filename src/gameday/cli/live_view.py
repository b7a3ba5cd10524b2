"""The console while a run goes: current phase, live faults, probe status, elapsed time."""

from __future__ import annotations

import threading
from typing import Any, Self

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gameday import events as ev
from gameday.timeline import Event

_NOTABLE_PREFIXES = ("run.", "phase.", "fault.", "revert.", "steady_state.", "recovery.", "expectation.",
                     ev.ALERT_FIRING, ev.ALERT_RESOLVED, "signal.", ev.LOAD_STARTED, ev.LOAD_FINISHED, "guard.",
                     # the people's side (a scripted team in `gameday run`), one short line each
                     "incident.", ev.SEVERITY_DECLARED, ev.ROLE_ASSIGNED, ev.HYPOTHESIS_NOTED, ev.STATUS_UPDATE_SENT,
                     ev.INJECT_RELEASED, ev.ESCALATION_PROMPTED, ev.RUNBOOK_STEP, ev.RUNBOOK_JUDGED, ev.RUNBOOK_MISSING,
                     ev.ALL_CLEAR_REFUSED, ev.REVIEW_RECORDED)


class LiveView:
    """Subscribes to the timeline. On a terminal it redraws a panel; elsewhere it prints notable lines."""

    def __init__(self, console: Console, scenario_name: str) -> None:
        self.console = console
        self.scenario_name = scenario_name
        self.phase = "starting"
        self.live_faults: dict[str, str] = {}
        self.probes: dict[str, dict[str, Any]] = {}
        self.last_offset = 0.0
        self.recent: list[str] = []
        self._lock = threading.Lock()
        self._live: Live | None = None

    def __enter__(self) -> Self:
        if self.console.is_terminal:
            self._live = Live(get_renderable=self._render, console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.last_offset = event.offset
            d = event.details
            if event.kind == ev.PHASE_CHANGED:
                self.phase = str(d.get("phase"))
            elif event.kind == ev.FAULT_INJECTED:
                self.live_faults[str(d.get("fault"))] = str(d.get("description"))
            elif event.kind in (ev.FAULT_REVERTED, ev.REVERT_FAILED):
                self.live_faults.pop(str(d.get("fault")), None)
            elif event.kind == ev.PROBE_CHECKED:
                previous = self.probes.get(str(d.get("probe")))
                self.probes[str(d.get("probe"))] = dict(d)
                if previous is not None and previous.get("ok") == d.get("ok"):
                    return
            line = _describe(event)
            if line is None:
                return
            self.recent = [*self.recent, line][-8:]
        if self._live is None:
            self.console.print(line, highlight=False, markup=False)

    def _render(self) -> Group:
        with self._lock:
            head = Text.assemble(("gameday ", "bold"), (self.scenario_name, "bold cyan"),
                                 "  phase: ", (self.phase, "bold yellow"), f"  T+{self.last_offset:6.1f}s")
            faults = Table(show_header=True, header_style="bold", box=None, expand=False)
            faults.add_column("live fault")
            for name, description in self.live_faults.items():
                faults.add_row(Text(f"{name}: {description}", style="red"))
            if not self.live_faults:
                faults.add_row(Text("none", style="dim"))
            probes = Table(show_header=True, header_style="bold", box=None)
            probes.add_column("probe")
            probes.add_column("status")
            probes.add_column("latency", justify="right")
            for name, d in sorted(self.probes.items()):
                ok = bool(d.get("ok"))
                probes.add_row(name, Text("green" if ok else f"red: {d.get('error', '')}", style="green" if ok else "red"),
                               f"{float(d.get('latency_ms', 0)):.0f} ms")
            recent = Text("\n".join(self.recent), style="dim")
            return Group(head, faults, probes, recent)


def _describe(event: Event) -> str | None:
    if not event.kind.startswith(_NOTABLE_PREFIXES) and event.kind != ev.PROBE_CHECKED:
        return None
    d = event.details
    prefix = f"T+{event.offset:7.2f}s  "
    match event.kind:
        case ev.PHASE_CHANGED:
            return f"{prefix}phase: {d.get('phase')}"
        case ev.PROBE_CHECKED:
            state = "green" if d.get("ok") else f"red ({d.get('error')})"
            return f"{prefix}probe {d.get('probe')} is {state}"
        case ev.FAULT_INJECTED:
            return f"{prefix}fault injected: {d.get('description')}"
        case ev.FAULT_EFFECTIVE:
            return f"{prefix}fault effective after {d.get('after_ms')} ms: {d.get('fault')}"
        case ev.FAULT_REVERTED:
            return f"{prefix}fault reverted after {d.get('duration_s')} s: {d.get('fault')}"
        case ev.REVERT_FAILED:
            return f"{prefix}REVERT FAILED: {d.get('fault')}: {d.get('error')}"
        case ev.EXPECTATION_MET | ev.EXPECTATION_FAILED:
            mark = "met" if event.kind == ev.EXPECTATION_MET else "NOT MET"
            return f"{prefix}expectation {mark}: {d.get('name')} ({d.get('detail')})"
        case ev.RUN_STARTED:
            return f"{prefix}run {d.get('run_id')} started"
        case ev.RUN_FINISHED:
            return f"{prefix}run finished: {d.get('outcome')}"
        case ev.ALERT_FIRING:
            severity = (d.get("labels") or {}).get("severity") if isinstance(d.get("labels"), dict) else None
            summary = f": {d.get('summary')}" if d.get("summary") else ""
            return f"{prefix}ALERT firing {d.get('alertname')}" + (f" ({severity})" if severity else "") + summary
        case ev.ALERT_RESOLVED:
            return f"{prefix}alert resolved {d.get('alertname')}"
    people = _describe_people(event)
    if people is not None:
        return prefix + people
    rest = ", ".join(f"{k}={v}" for k, v in d.items() if v not in (None, "", [], {}))
    return f"{prefix}{event.kind}" + (f": {rest}" if rest else "")


def _describe_people(event: Event) -> str | None:
    """The team's side in one line; never a command's output (that stays in the timeline and report)."""
    d, who = event.details, event.actor
    match event.kind:
        case ev.INCIDENT_DETECTED:
            via = f"{d.get('signal')}" + (f" {d.get('alert')}" if d.get("alert") else "")
            return f"{who} detected the incident (via {via})"
        case ev.INCIDENT_ACKNOWLEDGED:
            return f"{who} acknowledged"
        case ev.SEVERITY_DECLARED:
            return f"{who} declared {d.get('severity')}" + (f" (was {d.get('previous')})" if d.get("previous") else "")
        case ev.ROLE_ASSIGNED:
            return f"{d.get('person')} is {str(d.get('role')).replace('_', ' ')}"
        case ev.HYPOTHESIS_NOTED:
            return f"hypothesis ({who}): {_first_line(d.get('text'))}"
        case ev.STATUS_UPDATE_SENT:
            return f"status update to {d.get('audience')} ({who}): {_first_line(d.get('text'))}"
        case ev.INJECT_RELEASED:
            return f"inject from {d.get('source')}: {_first_line(d.get('text'))}"
        case ev.ESCALATION_PROMPTED:
            return f"ESCALATE: {d.get('reason')}"
        case ev.RUNBOOK_STEP:
            why = f" ({d.get('reason')})" if d.get("outcome") != "done" and d.get("reason") else ""
            return f"runbook step {d.get('step')} {d.get('outcome')}: {_first_line(d.get('title'))}{why}"
        case ev.RUNBOOK_JUDGED:
            if d.get("restored"):
                return f"runbook {d.get('runbook')} restored service after {d.get('time_to_restore_s')} s"
            return f"runbook {d.get('runbook')} did NOT restore service: {d.get('reason')}"
        case ev.INCIDENT_MITIGATED:
            return f"{who}: mitigated"
        case ev.ALL_CLEAR_REFUSED:
            return f"all-clear refused: {d.get('reason')}"
        case ev.INCIDENT_RESOLVED:
            return f"all-clear by {who}, confirmed by {d.get('confirmed_by')}"
        case ev.REVIEW_RECORDED:
            items = d.get("action_items") or []
            return f"review recorded by {who}: {len(items)} action item{'s' if len(items) != 1 else ''}"
    return None


def _first_line(text: object, limit: int = 120) -> str:
    line = str(text or "").strip().splitlines()[0] if str(text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."
