"""Observers watch a run while it goes (load, alerts, ...) and may add verdicts at the end.

    start(ctx)        when the steady-state phase begins (load warms up, alert receivers listen)
    on_phase(phase)   each phase change: steady_state, fault, recovery, evaluation
    stop()            after recovery, and always in the run's finally; must be idempotent
    verdicts(events)  extra expectation verdicts computed from the timeline (pure)

Observers record what they see as timeline events; they never print. An observer that fails
records an ``observer.failed`` event; the run and its reverts go on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gameday.clock import Clock
from gameday.scenario.model import Scenario
from gameday.scoring.expectations import Verdict
from gameday.timeline import Event, Timeline


@dataclass(frozen=True)
class RunContext:
    scenario: Scenario
    timeline: Timeline
    clock: Clock
    run_dir: Path
    scenario_dir: Path
    """Folder of the scenario file: relative paths in the scenario (locustfile, runbook) start here."""
    request_abort: Callable[[str], None] = lambda reason: None
    """Stop injecting and revert at once (guards); safe to call from any thread."""
    end_fault_phase: Callable[[], None] = lambda: None
    """End the fault window early, as when the team's all-clear is accepted; faults are reverted as usual."""


class Observer(Protocol):
    name: str

    def start(self, ctx: RunContext) -> None: ...

    def on_phase(self, phase: str) -> None: ...

    def stop(self) -> None: ...

    def verdicts(self, scenario: Scenario, events: list[Event]) -> list[Verdict]: ...


def build_observers(scenario: Scenario) -> list[Observer]:
    """The observers a scenario asks for; heavy modules are imported only when used."""
    observers: list[Observer] = []
    if scenario.guards:
        from gameday.engine.guards import GuardObserver

        observers.append(GuardObserver())
    if scenario.load is not None:
        from gameday.observe.load import LoadObserver

        observers.append(LoadObserver())
    watches_alerts = scenario.expect.alerts or scenario.expect.alerts_not_firing or any(g.alert for g in scenario.guards)
    if scenario.stack.alertmanager is not None or watches_alerts:  # a guard on an alert needs the alerts too
        from gameday.observe.alerts import AlertObserver

        observers.append(AlertObserver())
    if scenario.responses or scenario.injects:
        from gameday.facilitator.scripted import ScriptedResponder

        observers.append(ScriptedResponder())
    if scenario.runbook and not any(r.action == "runbook_step" for r in scenario.responses):
        from gameday.runbooks.observer import RunbookObserver  # follows the runbook in a scripted run

        observers.append(RunbookObserver())
    return observers
