"""The watchdog leaves as soon as the harness closes its wake pipe, not at its next poll (issue 19: a run's wall
time waited up to a poll interval for the watchdog to notice the closed journal)."""

from __future__ import annotations

import os
import select
import threading
import time
from pathlib import Path

import pytest

from gameday.clock import SystemClock
from gameday.engine import watchdog
from gameday.engine.journal import Journal


def test_closing_the_wake_pipe_wakes_the_watchdog_mid_poll(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = tmp_path / "20261203T120000Z-wake-a1b2"
    run_dir.mkdir()
    journal = Journal(run_dir / "journal.jsonl", run_id=run_dir.name, clock=SystemClock(), state_dir=tmp_path / "state")
    heartbeat = run_dir / "heartbeat"
    heartbeat.touch()
    monkeypatch.setattr(watchdog, "POLL_SECONDS", 600.0)  # only the pipe can end its wait within the test
    waiting = threading.Event()
    real_select = select.select

    def spying_select(*args: object) -> object:
        waiting.set()
        return real_select(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(select, "select", spying_select)
    wake_read, wake_write = os.pipe()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(
        watchdog.watch(journal.path, heartbeat, os.getpid(), 60.0, wake_fd=wake_read)), daemon=True)
    thread.start()
    assert waiting.wait(timeout=60), "the watchdog never started waiting"
    journal.close()
    os.close(wake_write)  # as the harness does once its journal is closed
    thread.join(timeout=60)
    assert not thread.is_alive(), "the watchdog slept through the closed pipe"
    assert result == [0]


def test_without_a_wake_pipe_the_watchdog_polls_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    assert watchdog._pause(None) is None
    assert slept == [watchdog.POLL_SECONDS]


def test_the_watchdog_process_leaves_with_its_log_written_once_the_harness_closes_the_pipe(tmp_path: Path) -> None:
    """As a run ends: its own process (started as the run starts it) exits 0, its log flushed before it goes."""
    run_dir = tmp_path / "20261203T120000Z-wake-c3d4"
    run_dir.mkdir()
    journal = Journal(run_dir / "journal.jsonl", run_id=run_dir.name, clock=SystemClock(), state_dir=tmp_path / "state")
    heartbeat = run_dir / "heartbeat"
    heartbeat.touch()
    wake_read, wake_write = os.pipe()
    try:
        process = watchdog.start_watchdog(journal.path, heartbeat, harness_pid=os.getpid(), state_dir=tmp_path / "state",
                                          wake_fd=wake_read)
    finally:
        os.close(wake_read)
    journal.close()
    os.close(wake_write)
    assert process.wait(timeout=60) == 0
    log = (run_dir / "watchdog.log").read_text()
    assert "watching run" in log and log.rstrip().endswith("nothing pending; leaving")
