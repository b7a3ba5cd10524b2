"""A dry run: resolve every target, check every precondition, say what would be done and undone.

Nothing is changed: drivers' ``prepare`` only reads (the target's state, the server's version), probes
only read, and locks are looked at, not taken.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from gameday.contracts import DescribesRevert
from gameday.engine.safety import TargetLocks, check_allowed, holder, resource_key, shared_target_problems
from gameday.errors import GamedayError
from gameday.faults.base import FaultRegistry
from gameday.handle import FaultHandle
from gameday.observe.probes import Prober
from gameday.platforms.base import DescribesTarget
from gameday.platforms.registry import installed_platforms
from gameday.scenario.durations import format_duration
from gameday.scenario.model import FaultSpec, Scenario


@dataclass(frozen=True)
class PlannedFault:
    label: str
    kind: str
    target: str
    when: str
    do: str
    undo: str
    problem: str | None = None
    notes: tuple[str, ...] = ()
    """What the target's platform says a person should know (Compose: dependencies, restart policy)."""


@dataclass
class Plan:
    scenario: str
    faults: list[PlannedFault] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.problem is None for f in self.faults) and all(ok for _, ok, _ in self.checks)


def describe_revert(driver: object, handle: FaultHandle) -> str:
    """The driver's own words for its revert (the optional DescribesRevert hook), else what the fault does
    (plan prints it after "would undo:")."""
    if isinstance(driver, DescribesRevert):
        return str(driver.describe_revert(handle))
    return handle.description


def target_notes(handle: FaultHandle) -> tuple[str, ...]:
    """The target platform's notes on it (the optional DescribesTarget hook); none from a platform without it."""
    platform = installed_platforms().for_handle(handle)
    return tuple(platform.target_notes(handle)) if isinstance(platform, DescribesTarget) else ()


def make_plan(scenario: Scenario, *, registry: FaultRegistry | None = None, state_dir: Path | None = None,
              allow_production: bool = False) -> Plan:
    registry = registry or FaultRegistry()
    plan = Plan(scenario=scenario.name)
    locks = TargetLocks(run_id="plan", scenario=scenario.name, state_dir=state_dir)
    prepared: list[tuple[FaultSpec, object, FaultHandle]] = []
    planned_at: list[int] = []  # where each prepared fault is in plan.faults
    for spec in scenario.faults:
        when = f"T+{format_duration(spec.at)} for {format_duration(spec.duration)}"
        try:
            driver = registry.create(spec.kind)
            handle = driver.prepare(spec, scenario.stack)
            check_allowed(handle, scenario.stack, allow_production=allow_production)
            held_by = holder(resource_key(handle), locks, platform=handle.platform)
            problem = f"target in use by run {held_by}" if held_by else None
            plan.faults.append(PlannedFault(spec.label, spec.kind, spec.target, when, handle.description,
                                            describe_revert(driver, handle), problem, target_notes(handle)))
            prepared.append((spec, driver, handle))
            planned_at.append(len(plan.faults) - 1)
        except GamedayError as exc:
            plan.faults.append(PlannedFault(spec.label, spec.kind, spec.target, when, "-", "-", str(exc)))
    for prepared_index, (problem, note) in shared_target_problems(prepared).items():
        index = planned_at[prepared_index]
        planned = plan.faults[index]
        plan.faults[index] = dataclasses.replace(planned, problem=planned.problem or problem,
                                                 notes=planned.notes + ((note,) if note else ()))
    prober = Prober(scenario.stack)
    try:
        for probe in scenario.steady_state.probes:
            result = prober.check(probe)
            plan.checks.append((f"probe {probe.name}", result.ok,
                                f"{result.latency_ms:.0f} ms" if result.ok else str(result.error)))
    finally:
        prober.close()
    return plan
