"""What the run does whatever the fault is: the record it writes, steady state before any inject, the journal
before the fault, one run per target. The fault is gameday.testing's in-memory one and the clock is fake, so no Docker is needed
(test_run.py and test_safety.py break real containers where the container's behaviour is the point)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gameday import events as ev
from gameday.clock import FakeClock
from gameday.engine.run import EFFECTIVE_TIMEOUT, Outcome, StopRequest, run_scenario
from gameday.engine.safety import TargetLocks
from gameday.testing import MemoryFaults, free_port, memory_scenario, run_options
from gameday.timeline import read_timeline


def events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "timeline.jsonl").read_text().splitlines()]


def tcp_probe(port: int) -> dict[str, object]:
    return {"name": "web", "tcp": {"port": port, "timeout": "200ms"}, "interval": "200ms"}


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something listens on, so a tcp probe is green (the kernel completes the handshake)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield int(server.getsockname()[1])


def test_every_event_has_utc_time_offset_kind_actor_details(tmp_path: Path, listening: int) -> None:
    scenario = memory_scenario(steady_state={"probes": [tcp_probe(listening)]},
                               expect={"probes": [{"probe": "web", "during_fault": "up"}]})
    result = run_scenario(scenario, run_options(tmp_path, faults=MemoryFaults()))
    assert result.outcome is Outcome.PASSED, result.error
    evs = events(result.run_dir)
    assert [set(e) for e in evs] == [{"at", "offset", "kind", "actor", "details"}] * len(evs)
    assert all(str(e["at"]).endswith("Z") for e in evs)
    assert evs[0]["offset"] == 0
    assert evs[0]["kind"] == "run.started" and evs[0]["details"]["drill"] is True
    assert evs[-1]["kind"] == "run.finished"
    assert "probe.checked" in [e["kind"] for e in evs]
    assert ev.undocumented(read_timeline(result.run_dir / "timeline.jsonl")) == []  # all in gameday/events.py


def test_no_fault_is_injected_when_steady_state_is_not_met(tmp_path: Path) -> None:
    faults = MemoryFaults()
    scenario = memory_scenario(steady_state={"timeout": "1s", "probes": [tcp_probe(free_port())]})
    result = run_scenario(scenario, run_options(tmp_path, faults=faults))
    assert result.outcome is Outcome.STEADY_STATE_FAILED
    assert result.exit_code == 1
    assert "fault.intended" not in [e["kind"] for e in events(result.run_dir)]
    assert [call for call in faults.calls if call[0] != "prepare"] == []


def test_a_journal_that_cannot_be_written_means_no_fault(tmp_path: Path) -> None:
    """Disk full while writing the journal: the intent is not on disk, so nothing may be injected."""
    faults = MemoryFaults()
    run_dir = tmp_path / "reports" / "full-disk-run"
    run_dir.mkdir(parents=True)
    (run_dir / "journal.jsonl").symlink_to("/dev/full")  # every write fails with ENOSPC, as on a full disk
    result = run_scenario(memory_scenario(), run_options(tmp_path, faults=faults, run_id="full-disk-run"))
    assert result.outcome is Outcome.ERROR
    assert "cannot write journal" in (result.error or "")
    assert faults.calls == [("prepare", "web")]
    kinds = [e["kind"] for e in events(run_dir)]
    assert "fault.intended" not in kinds and "fault.injected" not in kinds


def test_a_target_another_live_run_holds_is_refused_naming_that_run(tmp_path: Path) -> None:
    # Another run on this machine: a live process whose command line says gameday, holding the lock.
    holder = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()", "gameday-other-run"],
                              stdin=subprocess.PIPE)
    try:
        other = TargetLocks(run_id="other-run", scenario="other", state_dir=tmp_path / "state")
        other.acquire("memory:web")
        lock_file = other.held[0].path
        lock_file.write_text(json.dumps({**json.loads(lock_file.read_text()), "pid": holder.pid}))
        faults = MemoryFaults()
        result = run_scenario(memory_scenario(), run_options(tmp_path, faults=faults))
    finally:
        holder.communicate(b"", timeout=30)
    assert result.outcome is Outcome.ERROR
    assert result.error == (f"memory:web is in use by run other-run (scenario other, pid {holder.pid}); "
                            "one run per target")
    assert ("inject", "web") not in faults.calls


def test_a_lock_left_by_a_dead_run_is_taken_over(tmp_path: Path) -> None:
    dead = TargetLocks(run_id="dead-run", scenario="x", state_dir=tmp_path / "state")
    dead.acquire("memory:web")
    lock_file = dead.held[0].path
    lock_file.write_text(json.dumps({**json.loads(lock_file.read_text()), "pid": 2**22 + 12345}))  # not running
    faults = MemoryFaults()
    result = run_scenario(memory_scenario(), run_options(tmp_path, faults=faults))
    assert result.outcome is Outcome.PASSED, result.error
    assert faults.calls == [("prepare", "web"), ("inject", "web"), ("revert", "web")]
    assert not lock_file.exists()  # released when the run ended


def test_the_journalled_handle_names_its_run_and_fault_so_a_driver_can_mark_what_it_changes(tmp_path: Path) -> None:
    result = run_scenario(memory_scenario(), run_options(tmp_path, faults=MemoryFaults()))
    assert result.outcome is Outcome.PASSED, result.error
    intents = [json.loads(line) for line in (result.run_dir / "journal.jsonl").read_text().splitlines()
               if json.loads(line).get("op") == "intent"]
    assert [(i["handle"]["run_id"], i["handle"]["fault_id"]) for i in intents] == [(result.run_id, "f0")]


def test_a_fault_whose_inject_outlasts_the_wait_for_its_effect_is_still_checked_and_seen_effective(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deleting 100 of 1,000 pods one by one took 11-24 s on a busy machine: the wait for the fault to show was
    counted from the inject call, so no check ran and the run had no fault.effective (nor an incident start)."""
    clock = FakeClock()
    faults = MemoryFaults()
    inject = faults.driver.inject

    def slow_inject(self: Any, handle: Any) -> None:
        clock.sleep(EFFECTIVE_TIMEOUT + 5)
        inject(self, handle)

    monkeypatch.setattr(faults.driver, "inject", slow_inject)
    result = run_scenario(memory_scenario(), run_options(tmp_path, faults=faults, clock=clock))
    assert result.outcome is Outcome.PASSED, result.error
    effective = [e for e in events(result.run_dir) if e["kind"] == ev.FAULT_EFFECTIVE]
    assert len(effective) == 1
    assert effective[0]["details"]["after_ms"] >= (EFFECTIVE_TIMEOUT + 5) * 1000, "counted from the inject call"


class _PeopleStillAtThePrompt:
    """An observer that holds the run open after the fault window, as a facilitated drill does while the team
    answers, and is told to stop there: Ctrl-C at a prompt after the fault was already reverted."""

    name = "people"
    role = "responds"

    def __init__(self, stop: StopRequest) -> None:
        self.stop_request = stop

    @staticmethod
    def wanted(scenario: Any) -> bool:
        return False

    def start(self, ctx: Any) -> None:
        pass

    def on_phase(self, phase: str) -> None:
        pass

    def stop(self) -> None:
        self.stop_request.interrupt("SIGINT")

    def verdicts(self, scenario: Any, events: Any) -> list[Any]:
        return []


def test_an_interrupt_after_the_fault_window_still_ends_the_run_as_interrupted(tmp_path: Path) -> None:
    """The fault was reverted at the end of its window; a stop asked for while the run waits for its observers
    (the people) is an interruption all the same: outcome interrupted, exit 130, no evaluation."""
    stop = StopRequest()
    faults = MemoryFaults()
    result = run_scenario(memory_scenario(), run_options(tmp_path, faults=faults, stop=stop,
                                                         observers=[_PeopleStillAtThePrompt(stop)]))
    evs = events(result.run_dir)
    assert (result.outcome, result.exit_code) == (Outcome.INTERRUPTED, 130), evs
    assert evs[-1]["kind"] == "run.finished"
    assert (evs[-1]["details"]["outcome"], evs[-1]["details"]["exit_code"]) == ("interrupted", 130)
    kinds = [e["kind"] for e in evs]
    assert kinds.count("fault.reverted") == 1 and "run.aborted" in kinds
    assert {"phase": "evaluation"} not in [e["details"] for e in evs if e["kind"] == "phase.changed"]
