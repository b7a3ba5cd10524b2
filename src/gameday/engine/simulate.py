"""A tabletop is the one Runner with nothing real behind it: simulated faults and probes on scenario time.

    SimulatedDriver    prepare builds the handle from the scenario alone (no Docker, no proxy, no file);
                       inject and revert touch nothing; the fault is in effect at once
    SimulatedRegistry  hands out a SimulatedDriver for every kind the scenario names
    NullJournal        nothing is injected, so nothing is journalled (and no watchdog is needed)
    Simulation         the speed and the words the record carries: steady state and recovery are met by
                       simulation (no probe runs), and the fault events say ``simulated: true``

The run loop, its phases, its observers, ``run.started`` and its finish are the engine's own, so a
tabletop's record has every field a live run's has (stack, environment, tags, names_in_report).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gameday.faults.base import FaultArgs, FaultDriver, FaultHandle
from gameday.scenario.model import FaultSpec, StackSpec

MAX_REAL_TICK_S = 0.1
"""Real seconds between looks at the simulated fault schedule, whatever the speed."""


@dataclass(frozen=True)
class Simulation:
    speed: float = 1.0
    """Scenario seconds per real second (the run's clock is already a ScaledClock at this speed)."""

    def started_details(self) -> dict[str, Any]:
        """What ``run.started`` says about a tabletop, beside every field a live run records."""
        return {"mode": "tabletop", "speed": self.speed, "time": "scenario",
                "note": f"tabletop: no fault is injected; offsets and durations are scenario seconds "
                        f"(real seconds x {self.speed:g})"}

    @property
    def tick_s(self) -> float:
        """Scenario seconds between looks at the fault schedule: MAX_REAL_TICK_S of real time."""
        return MAX_REAL_TICK_S * self.speed

    steady_state_note: ClassVar[str] = "tabletop: no real system is checked"
    recovery_note: ClassVar[str] = "tabletop: simulated"
    ended_early_reason: ClassVar[str] = "mitigated by the team"


class SimulatedDriver:
    """Any fault kind, simulated: nothing is read or touched."""

    kind: ClassVar[str] = "simulated"
    args_model: ClassVar[type[FaultArgs]] = FaultArgs
    target_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, kind: str) -> None:
        self.simulated_kind = kind

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        return FaultHandle(kind=fault.kind, target=fault.target,
                           description=f"tabletop: {fault.kind} on {fault.target} (simulated, nothing touched)")

    def inject(self, handle: FaultHandle) -> None:
        return None

    def revert(self, handle: FaultHandle) -> None:
        return None

    def check(self, handle: FaultHandle) -> bool:
        return True


class SimulatedRegistry:
    """Stands in for the FaultRegistry: every kind is simulated (the scenario was validated when loaded)."""

    def create(self, kind: str, **options: Any) -> FaultDriver:
        return SimulatedDriver(kind)


class NullJournal:
    """The journal of a run that injects nothing: no file is written, nothing is left for cleanup."""

    def intend(self, fault_id: str, handle: FaultHandle, *, deadline_monotonic: float | None = None) -> None:
        return None

    def injected(self, fault_id: str) -> None:
        return None

    def reverted(self, fault_id: str, *, by: str = "run") -> None:
        return None

    def revert_failed(self, fault_id: str, error: str) -> None:
        return None

    def close(self) -> None:
        return None
