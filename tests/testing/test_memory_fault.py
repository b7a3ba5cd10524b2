"""gameday.testing's in-memory fault: a whole run on a fake clock, with nothing real broken, and failures on
request that the engine handles as it would a real driver's."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.contracts import DescribesRevert, FaultDriver
from gameday.engine.run import Outcome, run_scenario
from gameday.errors import FaultError, RevertError, TargetError
from gameday.plugins import contract_problems
from gameday.scenario.model import FaultSpec
from gameday.testing import MemoryFaults, memory_scenario, run_options
from gameday.testing.faults import Operation
from gameday.timeline import read_timeline


def kinds(run_dir: Path) -> list[str]:
    return [e.kind for e in read_timeline(run_dir / "timeline.jsonl")]


def test_the_memory_driver_meets_the_fault_driver_contract() -> None:
    driver = MemoryFaults().driver
    assert contract_problems(driver, FaultDriver, optional=(DescribesRevert,)) == []
    assert isinstance(driver(), DescribesRevert)


def test_a_run_breaks_and_puts_back_the_target_in_memory_only(tmp_path: Path) -> None:
    faults = MemoryFaults()
    result = run_scenario(memory_scenario(), run_options(tmp_path, faults=faults))
    assert result.outcome is Outcome.PASSED, result.error
    assert faults.calls == [("prepare", "web"), ("inject", "web"), ("revert", "web")]
    assert faults.live == set()
    order = kinds(result.run_dir)
    assert order.index("fault.injected") < order.index("fault.effective") < order.index("fault.reverted")


def test_an_ineffective_fault_is_injected_but_never_seen_in_effect(tmp_path: Path) -> None:
    faults = MemoryFaults()
    scenario = memory_scenario(faults=[{"kind": "memory", "target": "web", "duration": "5s",
                                        "args": {"effective": False}}])
    result = run_scenario(scenario, run_options(tmp_path, faults=faults))
    assert "fault.injected" in kinds(result.run_dir) and "fault.effective" not in kinds(result.run_dir)
    assert faults.checks > 1


@pytest.mark.parametrize(("operation", "outcome", "calls"), [
    ("prepare", Outcome.ERROR, [("prepare", "web")]),
    ("inject", Outcome.ERROR, [("prepare", "web"), ("inject", "web"), ("revert", "web")]),
    ("revert", Outcome.REVERT_FAILED, [("prepare", "web"), ("inject", "web"), ("revert", "web")]),
])
def test_a_failure_on_request_is_handled_as_a_real_drivers(tmp_path: Path, operation: Operation, outcome: Outcome,
                                                           calls: list[tuple[str, str]]) -> None:
    faults = MemoryFaults()
    faults.fail(operation, "the target said no")
    result = run_scenario(memory_scenario(), run_options(tmp_path, faults=faults))
    assert result.outcome is outcome
    assert faults.calls == calls
    if operation != "revert":
        assert result.error == "the target said no"


def test_failures_are_used_up_in_order_and_raise_what_a_driver_raises() -> None:
    faults = MemoryFaults("flaky")
    faults.fail("revert", "once", times=2)
    scenario = memory_scenario(faults=[{"kind": "flaky", "target": "web", "duration": "1s"}])
    driver = faults.driver()
    handle = driver.prepare(scenario.faults[0], scenario.stack)
    driver.inject(handle)
    for _ in range(2):
        with pytest.raises(RevertError, match=r"^once$"):
            driver.revert(handle)
    driver.revert(handle)
    assert faults.live == set() and faults.calls[-1] == ("revert", "web")
    faults.fail("inject")
    with pytest.raises(FaultError, match="inject refused on request"):
        driver.inject(handle)
    unknown = FaultSpec.model_validate({"kind": "flaky", "target": "db", "duration": "1s"})
    with pytest.raises(TargetError, match="target 'db' is not in the stack"):
        driver.prepare(unknown, scenario.stack)


def test_the_production_refusal_every_platform_shares_applies_before_inject(tmp_path: Path) -> None:
    faults = MemoryFaults()
    result = run_scenario(memory_scenario(stack={"environment": "production"}), run_options(tmp_path, faults=faults))
    assert result.outcome is Outcome.ERROR
    assert "environment: production" in (result.error or "")
    assert ("inject", "web") not in faults.calls


def test_two_worlds_do_not_share_state() -> None:
    one, two = MemoryFaults(), MemoryFaults()
    one.fail("inject")
    assert one.driver is not two.driver and one.driver.world is one and two.driver.world is two
    assert two.registry().driver_class("memory") is two.driver
