"""The terminal facilitator's script: walk a team through the incident process at one screen.

Phases (state.PHASES): detect & acknowledge, triage (severity, roles, first notification), investigate
(hypotheses; injects appear as they are released), mitigate (the runbook as a checklist), verify and
all-clear (probes must be green), review. Status updates are prompted between questions whenever the
severity's cadence says one is due. What is already in the timeline is not asked again, so a resumed
drill picks up where it stopped.

This module only asks and shows: every answer is an action of the one drill core (core.py), taken as the
facilitator at the screen, so the drill room and the terminal write the same events. The console, the
environment and the clock are passed in; nothing here exits the process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gameday import events as ev
from gameday.facilitator.checklist import Checklist, ChecklistItem
from gameday.facilitator.core import AT_THE_SCREEN, ActionRefused, Actor, DrillCore, ProbeCheck
from gameday.facilitator.events import DrillRecorder
from gameday.facilitator.prompts import Asker, parse_date
from gameday.facilitator.state import PHASES, DrillState
from gameday.facilitator.templates import STATUSES
from gameday.incident import AUDIENCES, ROLE_LABELS, ROLES, SIGNALS
from gameday.scenario.durations import format_duration
from gameday.scenario.model import Scenario
from gameday.scoring.severity import SeverityTable
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

__all__ = ["FacilitatorSession", "ProbeCheck", "describe_event"]


class FacilitatorSession:
    def __init__(self, scenario: Scenario, recorder: DrillRecorder, *, console: Console, env: Mapping[str, str],
                 scenario_dir: Path, end_fault: Callable[[], None] | None = None,
                 probe_check: ProbeCheck | None = None, command_timeout: float = 60.0,
                 interject: Callable[[str], bool] | None = None) -> None:
        """``interject``: sees every answer first (the tabletop's /pause and /resume, pause.py)."""
        self.scenario = scenario
        self.rec = recorder
        self.console = console
        self.ask = Asker(console, interject=interject)
        self.core = DrillCore(scenario, recorder, scenario_dir=scenario_dir, env=env, end_fault=end_fault,
                              probe_check=probe_check, command_timeout=command_timeout)
        self.tabletop = self.core.tabletop
        self.me = AT_THE_SCREEN

    # --- helpers ----------------------------------------------------------------------------

    @property
    def state(self) -> DrillState:
        return self.core.state

    def _say(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def _refused(self, exc: ActionRefused) -> None:
        self.console.print(f"[red]{escape(str(exc))}[/]")

    def _heading(self, title: str, hint: str) -> None:
        self.console.rule(f"[bold]{title}[/]  T+{format_duration(max(0.0, self.rec.t()))}")
        self._say(f"[dim]{escape(hint)}[/]")

    # --- the script -------------------------------------------------------------------------

    def run(self) -> None:
        """Walk the phases from the last one reached to the end."""
        start = self.state.phase_index
        for phase in PHASES[start:]:
            self.core.enter(phase)
            if phase == "done":
                break
            getattr(self, f"_phase_{phase}")()
        self.core.finish()
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
            self.core.detect(self.me, person=person, signal=signal, alert=alert)
        if not self.state.acknowledged:
            person = self.ask.text("Who acknowledges and responds (the on-call engineer)?")
            self.core.acknowledge(self.me, person=person)

    def _severities(self) -> SeverityTable:
        return self.core.severities()

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
            self.core.declare_severity(self.me, severity)
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
            self.core.assign_role(self.me, role=role, person=person)

    def _status_update(self) -> None:
        audience = self.ask.choice("Audience (internal, customer, executive)", {a: a for a in AUDIENCES}
                                   | {"exec": "executive", "customers": "customer"}, default="internal",
                                   what="audience")
        template = self.core.template(audience)
        self._say(f"[dim]Template ({audience}; statuses: {', '.join(STATUSES)}):[/]")
        self._say(f"[dim]{escape(template)}[/]")
        while True:
            text = self.ask.paragraph("Type the update as sent")
            try:
                self.core.status_update(self.me, audience=audience, text=text)
                return
            except ActionRefused as exc:
                self._refused(exc)

    def _maybe_update(self) -> None:
        """Prompt a status update when the severity's cadence says one is due."""
        overdue = self.core.update_due()
        level = self._severities().get(self.state.severity)
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
            self._note(self.core.hypothesis, text)

    def _note(self, action: Callable[[Actor, str], object], text: str) -> None:
        """Note a hypothesis or an action; a refusal (too long, say) is said and the script goes on."""
        try:
            action(self.me, text)
        except ActionRefused as exc:
            self._refused(exc)

    def _command(self, text: str) -> None:
        """``/sev SEVn`` (upgrade or downgrade), ``/update``, ``/roles``; anything else is said and ignored."""
        word, _, rest = text[1:].strip().partition(" ")
        match word.lower():
            case "sev" | "severity":
                try:
                    self.core.declare_severity(self.me, rest)
                except ActionRefused as exc:
                    self._refused(exc)
            case "update":
                self._status_update()
            case "roles":
                self._assign_roles()
            case _:
                self.console.print(f"[red]unknown command '/{escape(word)}': use /sev SEVn, /update or /roles[/]")

    def _phase_mitigate(self) -> None:
        self._heading("MITIGATE", "Stop the bleeding first (restart, rollback, failover, feature flag). "
                                  "Every action is timestamped.")
        checklist = self.core.checklist()
        if self.core.checklist_error:
            self._say(f"[red]{escape(self.core.checklist_error)}[/]")
        if checklist is None or not checklist.items:
            self._say("No runbook checklist for this scenario: note each action as it is taken.")
            while True:
                self._maybe_update()
                text = self.ask.text("Action taken (empty when done)", allow_empty=True)
                if not text:
                    break
                self._note(self.core.note_action, text)
        else:
            self._show_checklist(checklist)
            for item in checklist.items:
                if item.step in self.state.steps_recorded:
                    continue
                self._maybe_update()
                self._step(checklist, item)
        while not self.state.mitigated:
            if self.ask.confirm("Is the impact halted (mitigated)?", default=True):
                self.core.mitigated(self.me)
                break
            text = self.ask.text("What is the team doing now? (empty to ask again)", allow_empty=True)
            if text:
                self._note(self.core.note_action, text)

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
        choices = dict(OUTCOMES) if item.command and self.core.can_run_commands() else \
            {k: v for k, v in OUTCOMES.items() if v != "run"}
        listed = "done, failed, skipped" + (", run" if "run" in choices else "")
        while True:
            outcome = self.ask.choice(f"Step {item.step} outcome ({listed})", choices, what="outcome")
            if outcome != "run":
                self.core.runbook_step(self.me, step=item.step, outcome=outcome)
                return
            if not self.ask.confirm("Run this command now on this machine?", default=False):
                continue
            _, result = self.core.run_step(self.me, step=item.step, confirmed=True)
            style = "green" if result.ok else "red"
            self._say(f"[{style}]exit {result.exit_code}[/] in {result.duration_s:.1f}s")
            if result.output:
                self._say(f"[dim]{escape(result.output)}[/]")
            return

    def _show_probe(self, name: str, ok: bool, why: str) -> None:
        if self.tabletop:
            self._say("tabletop: no real system; the simulated fault is " + ("[green]over[/]" if ok else
                                                                             "[red]still live[/]"))
            return
        self._say(f"  probe {escape(name)}: " + ("[green]green[/]" if ok else f"[red]red[/] ({escape(why)})"))

    def _phase_verify(self) -> None:
        self._heading("VERIFY AND ALL-CLEAR", "Confirm recovery with monitoring, by more than one person; "
                                              "do not end the war room early.")
        while not self.state.resolved:
            self._maybe_update()
            self.ask.text("Press Enter to check the steady-state probes", allow_empty=True)
            if not self.tabletop and not self.scenario.steady_state.probes:
                self._say("[yellow]this scenario has no steady-state probes: confirm with your own monitoring[/]")
            pending = self.core.request_all_clear(self.me, say=self._show_probe)
            if pending is None:
                self._say("[red]All-clear refused:[/] the probes are not green. Keep mitigating, then check again.")
                text = self.ask.text("Action taken meanwhile (empty to check again)", allow_empty=True)
                if text:
                    self._note(self.core.note_action, text)
                continue
            by = self.ask.text("Who declares the all-clear?", default=pending.by or None)
            while True:
                second = self.ask.text("Who confirms it (a second person)?")
                try:
                    self.core.confirm_all_clear(self.me, second=second, by=by)
                    break
                except ActionRefused as exc:
                    self._refused(exc)

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
        self.core.record_review(self.me, went_well=went_well, went_poorly=went_poorly, got_lucky=got_lucky,
                                root_cause=root_cause, action_items=items)


def describe_event(event: Event) -> str | None:
    """A line for the screen about an event from elsewhere (injects, alerts, escalations, the engine)."""
    d = event.details
    t = d.get("t_s")
    when = f"T+{format_duration(float(t))}" if isinstance(t, (int, float)) and t >= 0 else f"+{event.offset:.0f}s"
    match event.kind:
        case ev.INJECT_RELEASED:
            # The kind in brackets is text: escaped whole, or rich would take [customer_report] for a style tag.
            return (f"[bold magenta]INJECT {when}[/] {escape('[' + str(d.get('kind')) + ']')} "
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
