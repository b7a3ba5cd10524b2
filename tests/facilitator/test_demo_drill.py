"""A facilitated drill on the demo stack: checkout-db-down-drill, the team following the shipped runbook.

Uses the demo stack at its default ports (the shipped scenario and runbook name its containers), brought up
once a session for every test that needs it (tests/demo_stack.py). The expected alerts are left out of this copy of
the scenario: waiting for them would make the test minutes long (tests/observe covers alerting).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from gameday.engine.journal import pending_faults
from tests.demo_stack import SessionDemoStack
from tests.facilitator.conftest import Terminal, dump, kinds, only_run, timeline_of

# The demo stack at its default ports is one per machine: its tests take turns (tests/parallel.py).
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.xdist_group("demo-stack")]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_stack(default_demo_stack: SessionDemoStack) -> None:
    stack = default_demo_stack.up()
    # Another run may have a fault live on the stack right now: wait until every part is healthy again.
    deadline = time.monotonic() + 120
    while not all(s.healthy for s in stack.status()):
        if time.monotonic() > deadline:
            pytest.fail("the demo stack did not become healthy within 120 s: " +
                        ", ".join(s.part for s in stack.status() if not s.healthy))
        time.sleep(1)


def test_a_team_drill_on_the_demo_stack_with_the_shipped_runbook(tmp_path: Path, demo_stack: None,
                                                                  docker_client: Any) -> None:
    doc = yaml.safe_load((REPO / "scenarios" / "checkout-db-down-drill.yaml").read_text())
    doc["expect"].pop("alerts")
    doc["runbook"] = str(REPO / "runbooks" / "checkout-db-down.md")
    doc["stack"] = {"file": str(REPO / "stacks" / "demo.yaml")}
    doc["load"]["locustfile"] = str(REPO / "loadtests" / "checkout.py")
    scenario = tmp_path / "checkout-db-down-drill.yaml"
    scenario.write_text(yaml.safe_dump(doc, sort_keys=False))
    term = Terminal("facilitate", str(scenario), "--reports", "reports", cwd=tmp_path, timeout=90)
    try:
        term.answer("Who noticed", "alice")
        term.answer("Through which signal", "dashboard")
        term.answer("Who acknowledges", "alice")
        term.answer("Severity", "SEV2")
        term.answer("Role to assign", "ic")
        term.answer("Who is the incident commander", "carol")
        term.answer("Role to assign", "sme")
        term.answer("Who is the subject-matter expert", "alice")
        term.answer("Role to assign", "done")
        term.answer("Audience", "customer")
        term.answer("> ", "We are aware of failed checkouts and are investigating.")
        term.answer("> ", "")
        term.answer("Hypothesis", "the orders database is down")
        term.answer("Hypothesis", "")
        for step in (1, 2, 3, 4):                            # every step of the shipped runbook, run for real
            term.answer(f"Step {step} outcome", "run")
            term.answer("Run this command now", "y")
        term.answer("Is the impact halted", "y")
        while True:
            term.answer("Press Enter to check", "")
            if term.expect(["Who declares the all-clear", "Action taken meanwhile"], timeout=30) == 0:
                break
            term.child.sendline("waiting for checkout to reconnect")
        term.child.sendline("")
        term.answer("Who confirms it", "alice")
        term.answer("  1", "the runbook worked as written")
        term.answer("  2", "")
        term.answer("  1", "")
        term.answer("  1", "")
        term.answer("Root cause", "PostgreSQL was killed and nothing restarts it")
        term.answer("Action item 1", "restart policy for postgres")
        term.answer("Owner", "alice")
        term.answer("Due date", "2026-12-15")
        term.answer("Action item 2", "")
        code = term.wait(120)
    finally:
        term.close()
    events = timeline_of(only_run(tmp_path / "reports"))
    assert code == 0, dump(events)
    steps = [(e.details["step"], e.details["outcome"], e.details["exit_code"]) for e in events if e.kind == "runbook.step"]
    assert steps == [(1, "done", 0), (2, "done", 0), (3, "done", 0), (4, "done", 0)], dump(events)
    assert kinds(events, "fault.effective", "incident.mitigated", "incident.resolved", "fault_phase.ended",
                 "fault.reverted") == ["fault.effective", "incident.mitigated", "incident.resolved",
                                       "fault_phase.ended", "fault.reverted"]
    reverted = next(e for e in events if e.kind == "fault.reverted")
    assert reverted.details["duration_s"] < 120  # the all-clear ended the 5 min window
    # Nothing of this run is left live (the stack's state itself may be another run's business by now).
    assert pending_faults(only_run(tmp_path / "reports") / "journal.jsonl") == []
