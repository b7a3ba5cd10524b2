"""``/pause`` and ``/resume`` in a real terminal: a fast tabletop paused at its first prompt keeps its fault window.

A tabletop touches nothing, so no Docker is needed.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from gameday import events as ev
from tests.conftest import wait_for
from tests.facilitator.conftest import Terminal, drill_scenario, dump, only_run, timeline_of

HELD_S = 6.0
"""Real seconds the paused drill is watched: three times its whole fault window at 30x (60 s / 30)."""


def test_a_tabletop_at_speed_30_paused_at_the_first_prompt_does_not_lose_its_fault_window(tmp_path: Path) -> None:
    scenario = drill_scenario(tmp_path, container="never-started", url="http://127.0.0.1:9/", runbook=False,
                              duration="60s", injects=[{"at": "30s", "kind": "customer_report",
                                                        "source": "Customer Success", "text": "checkouts fail"}])
    term = Terminal("facilitate", "--speed", "30", str(scenario), "--reports", "reports", cwd=tmp_path)
    try:
        term.answer("Who noticed", "/pause")
        term.expect(r"PAUSED at T\+")
        timeline = only_run(tmp_path / "reports") / "timeline.jsonl"
        wait_for(lambda: f'"{ev.TABLETOP_PAUSED}"' in timeline.read_text(), timeout=30)
        # What must hold is a negative over time: watch the record for longer than the unpaused window lasts.
        held_until = time.monotonic() + HELD_S
        while time.monotonic() < held_until:
            text = timeline.read_text()
            assert f'"{ev.FAULT_REVERTED}"' not in text and f'"{ev.INJECT_RELEASED}"' not in text, text
            threading.Event().wait(0.2)
        term.answer("Who noticed", "alice")                  # refused: nothing is recorded at a frozen time
        term.expect("the drill is paused: type /resume to continue")
        term.answer("Who noticed", "/resume")
        term.expect(r"RESUMED at T\+")
        term.answer("Who noticed", "alice")
        term.answer("Through which signal", "probe")
        term.expect("Who acknowledges")
        wait_for(lambda: f'"{ev.RECOVERY_MET}"' in timeline.read_text(), timeout=60)
        term.child.sendintr()
        code = term.wait(60)
    finally:
        term.close()
    events = timeline_of(only_run(tmp_path / "reports"))
    assert code == 130, dump(events)
    assert "Traceback" not in term.output
    kinds = [e.kind for e in events]
    paused = next(e for e in events if e.kind == ev.TABLETOP_PAUSED)
    resumed = next(e for e in events if e.kind == ev.TABLETOP_RESUMED)
    assert kinds.count(ev.TABLETOP_PAUSED) == kinds.count(ev.TABLETOP_RESUMED) == 1, dump(events)
    assert resumed.offset == pytest.approx(paused.offset, abs=0.001)     # the pause took no scenario time
    assert resumed.details["paused_real_s"] >= HELD_S
    assert paused.details["phase"] == "detect" and "reason" not in resumed.details
    # The window, the inject and the answer all came after the pause, on scenario time that never jumped.
    injected = next(e for e in events if e.kind == ev.FAULT_INJECTED)
    reverted = next(e for e in events if e.kind == ev.FAULT_REVERTED)
    released = next(e for e in events if e.kind == ev.INJECT_RELEASED)
    detected = next(e for e in events if e.kind == ev.INCIDENT_DETECTED)
    assert kinds.index(ev.TABLETOP_RESUMED) < min(kinds.index(ev.FAULT_REVERTED), kinds.index(ev.INJECT_RELEASED),
                                                 kinds.index(ev.INCIDENT_DETECTED)), dump(events)
    assert 59 <= reverted.offset - injected.offset < 75, dump(events)   # the whole minute, none of it lost
    assert released.details["t_s"] == pytest.approx(30, abs=4)
    assert detected.details["t_s"] < 60


def test_a_tabletop_killed_while_paused_is_resumed_running_and_a_stop_while_paused_closes_the_pause(
        tmp_path: Path) -> None:
    scenario = drill_scenario(tmp_path, container="never-started", url="http://127.0.0.1:9/", runbook=False,
                              duration="50m", injects=[])
    term = Terminal("facilitate", "--speed", "30", str(scenario), "--reports", "reports", cwd=tmp_path)
    try:
        term.answer("Who noticed", "alice")
        term.answer("Through which signal", "/pause")
        term.expect(r"PAUSED at T\+")
        term.child.kill(signal.SIGKILL)                      # the process dies while paused
        term.wait(10)
    finally:
        term.close()
    run_dir = only_run(tmp_path / "reports")
    term = Terminal("facilitate", "--resume", run_dir.name, "--reports", "reports", cwd=tmp_path)
    try:
        term.answer("Who noticed", "alice")                    # the resumed drill is running: answers are taken
        term.answer("Through which signal", "other")
        term.answer("Who acknowledges", "/pause")
        term.expect(r"PAUSED at T\+")
        term.child.sendintr()                                 # Ctrl-C while paused
        code = term.wait(60)
    finally:
        term.close()
    events = timeline_of(run_dir)
    assert code == 130, dump(events)
    assert "Traceback" not in term.output
    pauses = [(e.kind, e.details.get("reason")) for e in events if e.kind in (ev.TABLETOP_PAUSED, ev.TABLETOP_RESUMED)]
    assert pauses == [(ev.TABLETOP_PAUSED, None),
                      (ev.TABLETOP_RESUMED, "the drill was resumed after its process died"),
                      (ev.TABLETOP_PAUSED, None),
                      (ev.TABLETOP_RESUMED, "the drill stopped")], dump(events)
    kinds = [e.kind for e in events]
    assert kinds.index(ev.DRILL_RESUMED) < kinds.index(ev.TABLETOP_RESUMED)
    assert kinds.index(ev.INCIDENT_DETECTED) > kinds.index(ev.TABLETOP_RESUMED)   # answered after the resume
    assert max(i for i, k in enumerate(kinds) if k == ev.TABLETOP_RESUMED) < kinds.index(ev.DRILL_STOPPED)


def test_ctrl_c_while_paused_closes_the_pause_and_the_run_ends_interrupted_without_waiting_out_the_window(
        tmp_path: Path) -> None:
    # A 50 minute window at 30x is 100 real seconds: a clock left stopped would hold the revert for ever.
    scenario = drill_scenario(tmp_path, container="never-started", url="http://127.0.0.1:9/", runbook=False,
                              duration="50m", injects=[])
    term = Terminal("facilitate", "--speed", "30", str(scenario), "--reports", "reports", cwd=tmp_path)
    try:
        term.answer("Who noticed", "/pause")
        term.expect(r"PAUSED at T\+")
        term.child.sendintr()
        code = term.wait(60)
    finally:
        term.close()
    events = timeline_of(only_run(tmp_path / "reports"))
    assert code == 130, dump(events)
    kinds = [e.kind for e in events]
    resumed = next(e for e in events if e.kind == ev.TABLETOP_RESUMED)
    assert resumed.details["reason"] == "the drill stopped"
    assert kinds.index(ev.TABLETOP_PAUSED) < kinds.index(ev.TABLETOP_RESUMED) < kinds.index(ev.DRILL_STOPPED) \
        < kinds.index(ev.FAULT_REVERTED), dump(events)
    assert events[-1].kind == ev.RUN_FINISHED and events[-1].details["outcome"] == "interrupted"
