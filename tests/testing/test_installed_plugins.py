"""gameday.testing.installed_plugins: entry points that exist for one test, loaded and checked as in a drill."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from gameday.engine.run import Outcome, run_scenario
from gameday.errors import PluginError, UnknownFaultKind
from gameday.faults.base import FaultRegistry
from gameday.platforms.registry import installed_platforms
from gameday.testing import MemoryFaults, MemoryRuntime, installed_plugins, memory_scenario, run_options


class NotADriver:
    kind: ClassVar[str] = "half"

    def inject(self) -> None: ...


WORLD = MemoryRuntime()


def memory_platform() -> object:
    from gameday.platforms.memory import MemoryPlatform

    return MemoryPlatform(WORLD)


def test_a_broken_plugin_is_one_line_naming_its_entry_point_and_is_gone_afterwards() -> None:
    with installed_plugins({"gameday.faults": {"half": f"{__name__}:NotADriver"}}):
        assert "half" in FaultRegistry()
        with pytest.raises(PluginError) as err:
            FaultRegistry().driver_class("half")
    assert str(err.value).startswith(f"fault driver plugin 'half' ({__name__}:NotADriver, entry point group "
                                     "gameday.faults) is not a fault driver: no attribute args_model")
    with pytest.raises(UnknownFaultKind, match="unknown fault kind 'half'"):
        FaultRegistry().driver_class("half")


def test_an_installed_platform_is_the_engines_for_the_block(tmp_path: Path) -> None:
    """With the memory platform installed, a container fault runs end to end on in-memory containers."""
    web = WORLD.add("web", labels={"gameday.allowed": "true"})
    scenario = memory_scenario(faults=[{"kind": "container_kill", "target": "web", "duration": "2s"}])
    with installed_plugins({"gameday.platforms": {"memory": f"{__name__}:memory_platform"}}):
        assert "memory" in installed_platforms()
        result = run_scenario(scenario, run_options(tmp_path, faults=MemoryFaults()))
    assert result.outcome is Outcome.PASSED, result.error
    assert WORLD.calls == [("signal", "web", "SIGKILL"), ("start", "web")]
    assert WORLD.inspect(web.id).serving
    assert "memory" not in installed_platforms()
