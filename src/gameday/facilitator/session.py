"""The facilitator's script: walk a team through the incident process and record every answer.

Phases (state.PHASES): detect & acknowledge, triage (severity, roles, first notification), investigate
(hypotheses; injects appear as they are released), mitigate (the runbook as a checklist), verify and
all-clear (probes must be green), review. Status updates are prompted between questions whenever the
severity's cadence says one is due. What is already in the timeline is not asked again, so a resumed
drill picks up where it stopped.

The console, the environment and the clock are passed in; nothing here exits the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gameday import events as ev
from gameday.facilitator.checklist import (
    Checklist,
    ChecklistItem,
    load_checklist,
    resolve_runbook,
    run_command,
)
from gameday.facilitator.events import DrillRecorder
from gameday.facilitator.prompts import Asker, parse_date
from gameday.facilitator.scripted import check_probes
from gameday.facilitator.severity import status_update_due
from gameday.facilitator.state import PHASES, DrillState, drill_state
from gameday.facilitator.templates import STATUSES, TemplateContext, draft
from gameday.incident import AUDIENCES, ROLE_LABELS, ROLES, SIGNALS
from gameday.scenario.durations import format_duration
from gameday.scenario.model import Scenario
from gameday.scoring.severity import SeverityTable, table_for
from gameday.timeline import Event

ROLE_ALIASES = {r: r for r in ROLES} | {
    "ic": "incident_commander", "commander": "incident_commander", "incident commander": "incident_commander",
    "comms": "communications", "communications lead": "communications",
    "smes": "sme", "expert": "sme",
    "done": "done",
}
ROLE_PROMPTS = {**ROLE_LABELS, "sme": "subject-matter expert (SME)"}
SIGNAL_ALIASES = {s: s for s in SIGNALS} | {"customer": "customer_report", "report": "customer_report",
                                             "graph": "dashboard", "metrics": "dashboard"}
OUTCOMES = {"done": "done", "d": "done", "failed": "failed", "f": "failed", "skipped": "skipped", "s": "skipped",
            "skip": "skipped", "run": "run", "r": "run"}

ProbeCheck = Callable[[Scenario], list[tuple[str, bool, str]]]


class FacilitatorSession:
    def __init__(self, scenario: Scenario, recorder: DrillRecorder, *, console: Console, env: Mapping[str, str],
                 scenario_dir: Path, end_fault: Callable[[], None] | None = None,
                 probe_check: ProbeCheck | None = None, command_timeout: float = 60.0) -> None:
        self.scenario = scenario
        self.rec = recorder
        self.console = console
        self.ask = Asker(console)
        self.env = env
        self.scenario_dir = scenario_dir
        self.end_fault = end_fault
        self.probe_check = probe_check or check_probes
        self.command_timeout = command_timeout
        self.tabletop = recorder.mode == "tabletop"

    # --- helpers ----------------------------------------------------------------------------

    @property
    def state(self) -> DrillState:
        return drill_state(self.rec.events())

    def _person(self, role: str, fallback: str) -> str:
        people = self.state.roles.get(role)
        return people[0] if people else fallback

    def _responder(self) -> str:
        """Who acknowledged: the one who acts until an incident commander is named."""
        acked = ev.first(self.rec.events(), ev.INCIDENT_ACKNOWLEDGED)
        return str(acked.details.get("person") or acked.actor) if acked is not None else "responder"

    def _say(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def _heading(self, title: str, hint: str) -> None:
        self.console.rule(f"[bold]{title}[/]  T+{format_duration(max(0.0, self.rec.t()))}")
        self._say(f"[dim]{escape(hint)}[/]")

    def _enter(self, phase: str) -> None:
        if self.state.phase != phase:
            self.rec.record(ev.DRILL_PHASE, phase=phase)

    # --- the script -------------------------------------------------------------------------

    def run(self) -> None:
        """Walk the phases from the last one reached to the end."""
        start = self.state.phase_index
        for phase in PHASES[start:]:
            self._enter(phase)
            if phase == "done":
                break
            getattr(self, f"_phase_{phase}")()
        self.rec.record(ev.DRILL_FINISHED)
        self._say("[bold green]Drill finished.[/] Thank you, everyone.")

    def _phase_detect(self) -> None:
        state = self.state
        if not state.detected:
            self._heading("DETECT", "When someone on the team notices something wrong, say who. "
                                    "Injects and alerts appear on this screen as they arrive.")
            person = self.ask.text("Who noticed?")
            signal = self.ask.choice("Through which signal? (alert, customer_report, dashboard, probe, other)",
                                     SIGNAL_ALIASES, what="signal")
            alert = None
            if signal == "alert":
                fired = self.state.alerts_fired
                alert = self.ask.text("Which alert?" + (f" (fired: {escape(', '.join(fired))})" if fired else ""),
                                      default=fired[0] if fired else None)
            self.rec.record(ev.INCIDENT_DETECTED, actor=person, signal=signal, alert=alert, person=person)
        if not self.state.acknowledged:
            person = self.ask.text("Who acknowledges and responds (the on-call engineer)?")
            self.rec.record(ev.INCIDENT_ACKNOWLEDGED, actor=person, person=person)

    def _severities(self) -> SeverityTable:
        """The run's table: the default with the scenario's changes, as run.started recorded them."""
        return table_for(self.rec.events())

    def _severity_table(self) -> Table:
        table = Table(title="Severity", show_lines=False)
        for column in ("level", "meaning", "respond within", "status updates", "postmortem"):
            table.add_column(column)
        for level in self._severities():
            # A team's own names and meanings (severities: in the scenario) are text, never markup.
            table.add_row(escape(f"{level.name} {level.title}"), escape(level.description), escape(level.respond_text),
                          escape(level.cadence_text), escape(level.postmortem_text))
        return table

    def _phase_triage(self) -> None:
        self._heading("TRIAGE", "What broke, who is affected, is it getting worse? Declare a severity "
                                "(when unsure, the higher one; downgrade later) and assign roles.")
        if self.state.severity is None:
            self.console.print(self._severity_table())
            table = self._severities()
            severity = self.ask.parsed(
                f"Severity ({table.choices()})", table.parse,
                lambda a: f"unknown severity '{a}': choose {table.choices()}")
            self.rec.record(ev.SEVERITY_DECLARED, actor=self._person("incident_commander", self._responder()),
                            severity=severity)
            self._say(f"Open the incident channel: [bold]#inc-{self.rec.timeline.clock.wall():%Y-%m-%d}-"
                      f"{escape(self.scenario.name)}[/]")
        self._assign_roles()
        level = self._severities().get(self.state.severity)
        if self.state.updates == 0 and level is not None and level.updates_required:
            self._say("[bold]COMMUNICATE[/] the first notification (minutes 5-10 of an incident).")
            self._status_update()

    def _assign_roles(self) -> None:
        self._say("Assign roles: incident commander (ic), communications lead (comms), scribe, SMEs (sme).")
        while True:
            has_ic = self.state.has_role("incident_commander")
            hint = "ic first" if not has_ic else "'done' to move on"
            role = self.ask.choice(f"Role to assign (ic, comms, scribe, sme; {hint})", ROLE_ALIASES, what="role")
            if role == "done":
                if has_ic:
                    return
                self.console.print("[red]assign an incident commander before moving on[/]")
                continue
            person = self.ask.text(f"Who is the {ROLE_PROMPTS[role]}?")
            self.rec.record(ev.ROLE_ASSIGNED, actor="facilitator", role=role, person=person)

    def _cadence(self) -> float | None:
        """Seconds to the next status update (the short end of the severity's cadence), or None."""
        level = self._severities().get(self.state.severity)
        return level.update_every_min_s if level else None

    def _status_update(self) -> None:
        state = self.state
        audience = self.ask.choice("Audience (internal, customer, executive)", {a: a for a in AUDIENCES}
                                   | {"exec": "executive", "customers": "customer"}, default="internal",
                                   what="audience")
        cadence = self._cadence()
        next_update = f"T+{format_duration(self.rec.t() + cadence)}" if cadence else "<when it changes>"
        status = "resolved" if state.resolved else "mitigating" if state.mitigated else \
            "identified" if state.phase_index >= PHASES.index("mitigate") else "investigating"
        template = draft(audience, TemplateContext(
            incident=self.scenario.name, severity=state.severity or "", status=status,
            theory=state.hypotheses[-1] if state.hypotheses else "", next_update=next_update))
        self._say(f"[dim]Template ({audience}; statuses: {', '.join(STATUSES)}):[/]")
        self._say(f"[dim]{escape(template)}[/]")
        text = self.ask.paragraph("Type the update as sent")
        self.rec.record(ev.STATUS_UPDATE_SENT, actor=self._person("communications", "communications"),
                        audience=audience, text=text)

    def _maybe_update(self) -> None:
        """Prompt a status update when the severity's cadence says one is due."""
        table = self._severities()
        overdue = status_update_due(self.rec.events(), fault_start=self.rec.fault_start, now=self.rec.timeline.now(),
                                    table=table)
        level = table.get(self.state.severity)
        if overdue is None or level is None:
            return
        self._say(f"[bold yellow]A status update is due[/] ({level.name}: {level.cadence_text}).")
        self._status_update()

    def _phase_investigate(self) -> None:
        self._heading("INVESTIGATE", "Note each hypothesis as the team forms it. Injects appear when released. "
                                     "Also: /sev SEVn to re-declare, /update for a status update, /roles.")
        while True:
            self._maybe_update()
            text = self.ask.text("Hypothesis (empty when the team moves on to mitigation)", allow_empty=True)
            if not text:
                return
            if text.startswith("/"):
                self._command(text)
                continue
            self.rec.record(ev.HYPOTHESIS_NOTED, actor=self._person("incident_commander", "team"), text=text)

    def _command(self, text: str) -> None:
        """``/sev SEVn`` (upgrade or downgrade), ``/update``, ``/roles``; anything else is said and ignored."""
        word, _, rest = text[1:].strip().partition(" ")
        match word.lower():
            case "sev" | "severity":
                table = self._severities()
                severity = table.parse(rest)
                if severity is None:
                    self.console.print(f"[red]unknown severity '{escape(rest)}': choose {escape(table.choices())}[/]")
                    return
                self.rec.record(ev.SEVERITY_DECLARED, actor=self._person("incident_commander", self._responder()),
                                severity=severity, previous=self.state.severity)
            case "update":
                self._status_update()
            case "roles":
                self._assign_roles()
            case _:
                self.console.print(f"[red]unknown command '/{escape(word)}': use /sev SEVn, /update or /roles[/]")

    def _checklist(self) -> Checklist | None:
        if not self.scenario.runbook:
            return None
        path = resolve_runbook(self.scenario.runbook, self.scenario_dir, Path.cwd())
        try:
            return load_checklist(path)
        except OSError as exc:
            self._say(f"[red]cannot read the runbook {escape(str(path))}: {escape(exc.strerror or str(exc))}[/]")
            return None

    def _phase_mitigate(self) -> None:
        self._heading("MITIGATE", "Stop the bleeding first (restart, rollback, failover, feature flag). "
                                  "Every action is timestamped.")
        checklist = self._checklist()
        if checklist is None or not checklist.items:
            self._say("No runbook checklist for this scenario: note each action as it is taken.")
            while True:
                self._maybe_update()
                text = self.ask.text("Action taken (empty when done)", allow_empty=True)
                if not text:
                    break
                self.rec.record(ev.ACTION_NOTED, actor=self._person("sme", "team"), text=text)
        else:
            self._show_checklist(checklist)
            for item in checklist.items:
                if item.step in self.state.steps_recorded:
                    continue
                self._maybe_update()
                self._step(checklist, item)
        while not self.state.mitigated:
            if self.ask.confirm("Is the impact halted (mitigated)?", default=True):
                self.rec.record(ev.INCIDENT_MITIGATED, actor=self._person("incident_commander", "team"))
                if self.tabletop and self.end_fault is not None:
                    self.end_fault()  # in a tabletop, mitigating is what ends the simulated fault
                break
            text = self.ask.text("What is the team doing now? (empty to ask again)", allow_empty=True)
            if text:
                self.rec.record(ev.ACTION_NOTED, actor=self._person("sme", "team"), text=text)

    def _show_checklist(self, checklist: Checklist) -> None:
        table = Table(title=f"Runbook: {escape(checklist.name)}")
        table.add_column("step", justify="right")
        table.add_column("action")
        table.add_column("command")
        table.add_column("status")
        recorded = self.state.steps_recorded
        for item in checklist.items:
            table.add_row(str(item.step), escape(item.title), escape(item.command or ""),
                          recorded.get(item.step, "open"))
        self.console.print(table)

    def _step(self, checklist: Checklist, item: ChecklistItem) -> None:
        self._say(f"[bold]Step {item.step}:[/] {escape(item.title)}")
        if item.command:
            self._say(f"  [cyan]$ {escape(item.command)}[/]")
        choices = dict(OUTCOMES) if item.command and not self.tabletop else \
            {k: v for k, v in OUTCOMES.items() if v != "run"}
        listed = "done, failed, skipped" + (", run" if "run" in choices else "")
        actor = self._person("sme", self._person("incident_commander", "team"))
        while True:
            outcome = self.ask.choice(f"Step {item.step} outcome ({listed})", choices, what="outcome")
            if outcome != "run":
                self.rec.record(ev.RUNBOOK_STEP, actor=actor, step=item.step, title=item.title, outcome=outcome,
                                command=item.command, exit_code=None, duration_s=None, output="",
                                runbook=str(checklist.path))
                return
            assert item.command is not None
            if not self.ask.confirm("Run this command now on this machine?", default=False):
                continue
            result = run_command(item.command, env=self.env, cwd=self.scenario_dir, timeout=self.command_timeout)
            style = "green" if result.ok else "red"
            self._say(f"[{style}]exit {result.exit_code}[/] in {result.duration_s:.1f}s")
            if result.output:
                self._say(f"[dim]{escape(result.output)}[/]")
            self.rec.record(ev.RUNBOOK_STEP, actor=actor, step=item.step, title=item.title,
                            outcome="done" if result.ok else "failed", command=item.command,
                            exit_code=result.exit_code, duration_s=result.duration_s, output=result.output,
                            runbook=str(checklist.path), ran=True)
            return

    def _green(self) -> tuple[bool, str]:
        """Are the steady-state probes green? Shows each; a probe that errors is red, never a crash."""
        if self.tabletop:
            live = self.state.fault_live
            if live and self.state.mitigated:
                # Mitigating ends the simulated fault; give the tabletop's loop a moment to record it.
                for _ in range(40):
                    threading.Event().wait(0.05)
                    if not (live := self.state.fault_live):
                        break
            self._say("tabletop: no real system; the simulated fault is " + ("[red]still live[/]" if live else
                                                                             "[green]over[/]"))
            return (not live), ("the simulated fault is still live" if live else "")
        if not self.scenario.steady_state.probes:
            self._say("[yellow]this scenario has no steady-state probes: confirm with your own monitoring[/]")
            return True, ""
        try:
            results = self.probe_check(self.scenario)
        except Exception as exc:  # noqa: BLE001 - a probe failure must never end a drill
            return False, f"probes could not run: {exc}"
        for name, ok, why in results:
            self._say(f"  probe {escape(name)}: " + ("[green]green[/]" if ok else f"[red]red[/] ({escape(why)})"))
        failing = [f"{name}: {why}" for name, ok, why in results if not ok]
        return (not failing), "; ".join(failing)

    def _phase_verify(self) -> None:
        self._heading("VERIFY AND ALL-CLEAR", "Confirm recovery with monitoring, by more than one person; "
                                              "do not end the war room early.")
        while not self.state.resolved:
            self._maybe_update()
            self.ask.text("Press Enter to check the steady-state probes", allow_empty=True)
            green, reason = self._green()
            if not green:
                self.rec.record(ev.ALL_CLEAR_REFUSED, actor="facilitator", reason=reason)
                self._say("[red]All-clear refused:[/] the probes are not green. Keep mitigating, then check again.")
                text = self.ask.text("Action taken meanwhile (empty to check again)", allow_empty=True)
                if text:
                    self.rec.record(ev.ACTION_NOTED, actor=self._person("sme", "team"), text=text)
                continue
            ic = self._person("incident_commander", "")
            by = self.ask.text("Who declares the all-clear?", default=ic or None)
            while True:
                second = self.ask.text("Who confirms it (a second person)?")
                if second.lower() != by.lower():
                    break
                self.console.print("[red]the all-clear needs a second person to confirm it[/]")
            self.rec.record(ev.INCIDENT_RESOLVED, actor=by, confirmed_by=second)
            if self.end_fault is not None:
                self.end_fault()

    def _phase_review(self) -> None:
        if self.state.reviewed:
            return
        self._heading("REVIEW", "Blameless: systems and processes, not people. Within 48 h for SEV1-2; "
                                "the essentials now, while memories are fresh.")
        went_well = self.ask.lines("What went well?")
        went_poorly = self.ask.lines("What went poorly?")
        got_lucky = self.ask.lines("Where did we get lucky?")
        root_cause = self.ask.text("Root cause (immediate cause; contributing factors)")
        items: list[dict[str, str]] = []
        self._say("Action items: each with an owner and a due date.")
        while True:
            text = self.ask.text(f"Action item {len(items) + 1} (empty to finish)", allow_empty=True)
            if not text:
                break
            owner = self.ask.text("  Owner")
            due = self.ask.parsed("  Due date (YYYY-MM-DD)", parse_date,
                                  lambda a: f"'{a}' is not a date: write it as YYYY-MM-DD")
            items.append({"text": text, "owner": owner, "due": due})
        self.rec.record(ev.REVIEW_RECORDED, actor="team", went_well=went_well, went_poorly=went_poorly,
                        got_lucky=got_lucky, root_cause=root_cause, action_items=items)


def describe_event(event: Event) -> str | None:
    """A line for the screen about an event from elsewhere (injects, alerts, escalations, the engine)."""
    d = event.details
    t = d.get("t_s")
    when = f"T+{format_duration(float(t))}" if isinstance(t, (int, float)) and t >= 0 else f"+{event.offset:.0f}s"
    match event.kind:
        case ev.INJECT_RELEASED:
            return (f"[bold magenta]INJECT {when}[/] [{escape(str(d.get('kind')))}] "
                    f"[bold]{escape(str(d.get('source')))}[/]: {escape(str(d.get('text')))}")
        case ev.ESCALATION_PROMPTED:
            return f"[bold red]ESCALATE {when}[/]: {escape(str(d.get('reason')))}"
        case ev.ALERT_FIRING:
            return f"[bold red]ALERT firing[/]: {escape(str(d.get('alertname')))}"
        case ev.ALERT_RESOLVED:
            return f"[green]alert resolved[/]: {escape(str(d.get('alertname')))}"
        case ev.PHASE_CHANGED:
            return f"[dim]harness: {escape(str(d.get('phase')))} phase[/]"
        case ev.STEADY_STATE_FAILED:
            return f"[red]harness: the system was not healthy before the drill: {escape(str(d.get('reason')))}[/]"
        case ev.RUN_ABORTED:
            return f"[bold red]harness: run aborted: {escape(str(d.get('reason')))}[/] (faults are reverted)"
        case ev.REVERT_FAILED:
            return f"[bold red]REVERT FAILED[/] {escape(str(d.get('fault')))}: {escape(str(d.get('error')))}"
        case ev.OBSERVER_FAILED:
            return f"[yellow]harness: {escape(str(d.get('observer')))} failed: {escape(str(d.get('error')))}[/]"
        case ev.FAULT_PHASE_ENDED:
            return "[dim]harness: fault window ended early; faults reverted[/]"
    return None
