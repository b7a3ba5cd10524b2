"""Helpers for testing gameday and its plugins, shipped with it (as structlog ships ``structlog.testing``).

    FakeClock                     a clock that moves only when told (``sleep`` advances it at once)
    MemoryFaults, MemoryFault     an in-memory fault kind: records prepare/inject/revert, fails on request
    MemoryRuntime, MemoryPlatform in-memory containers behind the platform seam (gameday.platforms.memory)
    memory_scenario, run_options  a scenario with a memory fault, and RunOptions for a run on a fake clock
    ev, drill, full_response, T0  timelines written in a test, for scoring rules and report sections
    free_port, free_ports         ports on 127.0.0.1 for servers a test starts
    on_free_loopback_address      a server on a fixed port (DNS's 53) started on an address of 127.0.0.0/8 of its own
    installed_plugins             entry points installed for a test: a plugin loads and is checked as in a drill

    faults = MemoryFaults()
    result = run_scenario(memory_scenario(), run_options(tmp_path, faults=faults))
    assert result.outcome is Outcome.PASSED
    assert faults.calls == [("prepare", "web"), ("inject", "web"), ("revert", "web")]

``gameday.testing.services`` starts throwaway PostgreSQL and Redis servers (it needs their binaries), for
tests of what acts on real credentials. docs/extending.md shows each helper at work.
"""

from gameday.clock import FakeClock
from gameday.platforms.memory import MemoryPlatform, MemoryRuntime, MemoryTarget
from gameday.testing.faults import MemoryFault, MemoryFaultArgs, MemoryFaults
from gameday.testing.network import free_port, free_ports, on_free_loopback_address
from gameday.testing.plugins import installed_plugins
from gameday.testing.runs import memory_scenario, run_options
from gameday.testing.timelines import T0, drill, ev, full_response

__all__ = [
    "T0",
    "FakeClock",
    "MemoryFault",
    "MemoryFaultArgs",
    "MemoryFaults",
    "MemoryPlatform",
    "MemoryRuntime",
    "MemoryTarget",
    "drill",
    "ev",
    "free_port",
    "free_ports",
    "full_response",
    "installed_plugins",
    "memory_scenario",
    "on_free_loopback_address",
    "run_options",
]
