"""`gameday facilitate` refuses what it cannot do with one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.facilitator.conftest import drill_scenario
from tests.helpers import run_harness


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    return drill_scenario(tmp_path, container="not-started", url="http://127.0.0.1:9/", runbook=False)


def _write_run(reports: Path, name: str, events: list[dict[str, Any]]) -> None:
    run = reports / name
    run.mkdir(parents=True)
    (run / "timeline.jsonl").write_text("".join(json.dumps({"at": "2026-01-01T00:00:00.000Z", "offset": i,
                                                            "actor": "harness", **e}) + "\n"
                                                for i, e in enumerate(events)))


@pytest.mark.parametrize(("args", "message"), [
    (["--speed", "0", "{s}"], "speed must be > 0"),
    (["--speed", "fast", "{s}"], "not a number"),
    (["--scripted", "{s}"], "a live scripted drill is `gameday run`"),
    (["--scripted", "--speed", "10", "{s}"], "no responses: to replay"),
    ([], "name a scenario file, or --resume"),
    (["--resume", "x", "{s}"], "--resume takes a run id only"),
    (["--resume", "no-such-run"], "no run 'no-such-run'"),
])
def test_bad_invocations_get_one_clear_line(tmp_path: Path, scenario: Path, args: list[str], message: str) -> None:
    done = run_harness("facilitate", *[a.replace("{s}", str(scenario)) for a in args], cwd=tmp_path, timeout=60)
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr


def test_a_finished_drill_or_one_that_never_began_is_not_resumed(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    started = {"kind": "run.started", "details": {"run_id": "r", "drill": True, "pid": 999_999_999}}
    _write_run(reports, "finished", [started, {"kind": "phase.changed", "details": {"phase": "fault"}},
                                     {"kind": "drill.finished", "details": {"drill": True}}])
    _write_run(reports, "early", [started, {"kind": "phase.changed", "details": {"phase": "steady_state"}}])
    _write_run(reports, "alive", [{"kind": "run.started", "details": {"run_id": "r", "pid": os.getpid()}},
                                  {"kind": "phase.changed", "details": {"phase": "fault"}}])
    for run, message in (("finished", "already finished"), ("early", "never reached the fault phase"),
                         ("alive", "is still running")):
        done = run_harness("facilitate", "--resume", run, cwd=tmp_path, timeout=60)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_a_tabletop_replay_is_recorded_in_the_history_like_any_run(tmp_path: Path) -> None:
    from gameday.history.store import History

    path = drill_scenario(tmp_path, container="not-started", url="http://127.0.0.1:9/", runbook=False, injects=[],
                          responses=[{"at": "10s", "action": "acknowledge"}, {"at": "20s", "action": "declare"},
                                     {"at": "30s", "action": "mitigated"}, {"at": "40s", "action": "all_clear"}])
    database = tmp_path / "drills.sqlite"
    done = run_harness("facilitate", "--scripted", "--speed", "600", str(path), "--reports", "reports",
                       "--history", str(database), cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (run_dir,) = [p for p in (tmp_path / "reports").iterdir() if p.is_dir()]
    history = History(str(database))
    try:
        assert [r.run_id for r in history.runs()] == [run_dir.name]
    finally:
        history.close()
