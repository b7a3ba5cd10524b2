"""A tabletop drill: the scenario's timeline without a real fault, on a compressed clock.

Nothing is touched: no Docker, no proxy, no probe. It is the engine's one Runner in simulated mode
(engine/simulate.py): ``fault.injected``, ``fault.effective`` and ``fault.reverted`` are recorded at the
scenario's times with ``simulated: true`` (so time to detect and the fault window read as in a live
drill), and a simulated fault ends at its duration or when the team mitigates it. Injects and scripted
responses replay on the same clock. Times in the record are scenario time; ``run.started`` says so, names
the speed, and carries every field a live run's does (stack, environment, tags, names_in_report).
"""

from __future__ import annotations

from pathlib import Path

from gameday.clock import Clock
from gameday.contracts import Observer
from gameday.engine.run import Runner, RunOptions, StopRequest
from gameday.engine.simulate import Simulation
from gameday.scenario.model import Scenario
from gameday.timeline import Listener


def tabletop_runner(scenario: Scenario, *, clock: Clock, speed: float, reports_dir: Path, observers: list[Observer],
                    stop: StopRequest | None = None, scenario_file: Path | None = None,
                    listeners: list[Listener] | None = None, run_id: str | None = None) -> Runner:
    """The Runner of a tabletop; ``clock`` is already scenario time (a ScaledClock at ``speed``)."""
    return Runner(scenario, RunOptions(
        reports_dir=reports_dir, run_id=run_id, clock=clock, scenario_file=scenario_file,
        listeners=list(listeners or []), handle_signals=False, observers=observers, stop=stop, watchdog=False,
        simulation=Simulation(speed=speed)))
