"""A run in a test: a scenario with a memory fault on a memory target, and options for a run on a fake clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gameday.clock import Clock, FakeClock
from gameday.engine.run import RunOptions
from gameday.platforms.memory import MemoryPlatform
from gameday.platforms.registry import PlatformRegistry
from gameday.scenario.model import Scenario
from gameday.testing.faults import MemoryFaults


def memory_scenario(*, name: str = "memory-drill", faults: list[dict[str, Any]] | None = None,
                    targets: dict[str, Any] | None = None, **sections: Any) -> Scenario:
    """A scenario as a test writes it (the sections of a scenario file as keyword arguments:
    ``steady_state=``, ``expect=``, ``guards=``...), validated by the scenario model; the loader's checks
    across sections (is the fault kind installed, does the target have the fields it acts on) are not run.

    By default one fault, ``{kind: memory, target: web, duration: 5s}``, on the target
    ``web: {platform: memory, container: web}``; the memory platform is known here, so the targets
    validate without it being installed.
    """
    stack = {**sections.pop("stack", {}), "targets": targets or {"web": {"platform": "memory", "container": "web"}}}
    data = {"version": 1, "name": name, "stack": stack,
            "faults": faults or [{"kind": "memory", "target": "web", "duration": "5s"}], **sections}
    platforms = PlatformRegistry(extra={"memory": MemoryPlatform()})
    return Scenario.model_validate(data, context={"platforms": platforms})


def run_options(directory: Path, *, faults: MemoryFaults | None = None, clock: Clock | None = None,
                **changes: Any) -> RunOptions:
    """Options for a run inside a test: reports and state under ``directory``, a ``FakeClock`` (the run
    takes no real time), no watchdog process, no signal handlers, and ``faults``' kind installed."""
    options: dict[str, Any] = {
        "reports_dir": directory / "reports",
        "state_dir": directory / "state",
        "clock": clock or FakeClock(),
        "registry": faults.registry() if faults is not None else None,
        "watchdog": False,
        "handle_signals": False,
    }
    return RunOptions(**{**options, **changes})
