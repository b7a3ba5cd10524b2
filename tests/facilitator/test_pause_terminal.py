"""``/pause`` and ``/resume`` in a real terminal: a fast tabletop paused at its first prompt keeps its fault window.

A tabletop touches nothing, so no Docker is needed.
"""

from __future__ import annotations

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
