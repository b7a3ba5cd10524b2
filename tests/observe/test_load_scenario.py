"""A whole scenario with ``load:`` through the engine: Locust runs while a real container is killed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from gameday.engine.run import Outcome, RunOptions, run_scenario
from gameday.report.render import render_run
from gameday.scenario.loader import load_scenario
from tests.helpers import events, web_scenario

pytestmark = pytest.mark.docker

STEADY = Path(__file__).parent / "locustfiles" / "steady.py"


def test_load_runs_through_a_container_kill_and_lands_in_the_report(tmp_path: Path, web_container) -> None:  # type: ignore[no-untyped-def]
    web = web_container(labels={"gameday.allowed": "true"})
    path = web_scenario(tmp_path, container=web.name, url=web.url, duration="2s", name="load-kill")
    doc = yaml.safe_load(path.read_text())
    doc["load"] = {"locustfile": str(STEADY), "host": web.url.rstrip("/"), "users": 4, "spawn_rate": 50.0,
                   "warmup": "1s"}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))

    result = run_scenario(load_scenario(path),
                          RunOptions(reports_dir=tmp_path / "reports", scenario_file=path, handle_signals=False))

    assert result.outcome is Outcome.PASSED, result.verdicts
    timeline = events(result.run_dir)
    kinds = [e["kind"] for e in timeline]
    assert kinds.count("load.started") == 1 and kinds.count("load.finished") == 1
    assert kinds.index("load.started") < kinds.index("fault.injected")
    assert kinds.index("load.finished") < kinds.index("run.finished")
    assert "observer.failed" not in kinds
    stats = [e["details"] for e in timeline if e["kind"] == "load.stats"]
    by_phase = {p: [s for s in stats if s["phase"] == p] for p in ("steady_state", "fault", "recovery")}
    assert all(by_phase.values()), {p: len(v) for p, v in by_phase.items()}
    assert all(s["error_rate"] == 0.0 for s in by_phase["steady_state"])
    assert max(s["error_rate"] for s in by_phase["fault"]) > 0.5
    assert by_phase["recovery"][-1]["error_rate"] == 0.0
    finished = next(e["details"] for e in timeline if e["kind"] == "load.finished")
    assert finished["complete"] and finished["requests"] == sum(s["requests"] for s in stats)

    report = render_run(result.run_dir).read_text()
    section = report[report.index("## Load"):report.index("## Timeline")]
    for period in ("before", "during", "after"):
        assert f"| {period} the fault |" in section
    assert "locust" not in sys.modules
