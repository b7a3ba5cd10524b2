"""pytest plugin: keep resilience checks beside your other tests.

    @pytest.mark.gameday
    def test_checkout_survives_db_loss(gameday_run):
        result = gameday_run("scenarios/checkout-db-down.yaml")
        assert result.expectations_met, result.summary
        assert result.metrics.mttd is not None and result.metrics.mttd < 60

Select them with ``pytest -m gameday`` (or leave them out with ``-m "not gameday"``). Each run writes
its report folder under ``--gameday-reports`` (default: pytest's temporary directory).
The run happens in the test's process; faults are reverted when it returns, and the watchdog process
still guards them should the test process die.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True)
class RunMetrics:
    """Seconds, or None when the run did not reach that point (see docs/scoring.md)."""

    mttd: float | None
    mtta: float | None
    time_to_declare: float | None
    time_to_mitigate: float | None
    mttr: float | None
    alert_detection: float | None


@dataclass(frozen=True)
class ScenarioResult:
    run_id: str
    run_dir: Path
    outcome: str
    exit_code: int
    expectations_met: bool
    verdicts: list[Any]
    metrics: RunMetrics
    scorecard: Any

    @property
    def summary(self) -> str:
        lines = [f"{self.run_id}: {self.outcome} (exit {self.exit_code})"]
        lines += [f"  {'met' if v.met else 'NOT MET'}: {v.name}: {v.detail}" for v in self.verdicts]
        return "\n".join(lines)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gameday")
    group.addoption("--gameday-reports", default=None, help="folder for the report folders of gameday runs")
    group.addoption("--gameday-history", default=None,
                    help="record each run in this history (SQLite file or postgresql:// URL; default $GAMEDAY_HISTORY)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gameday: a resilience check that runs a gameday scenario (real faults)")


@pytest.fixture
def gameday_run(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., ScenarioResult]:
    """Run a scenario file and return its result; the fault is reverted before this returns."""
    reports_opt = request.config.getoption("--gameday-reports")

    def run(scenario: str | Path, *, reports_dir: str | Path | None = None) -> ScenarioResult:
        from gameday.engine.run import RunOptions, run_scenario
        from gameday.finish import finish_run
        from gameday.plugins import report_sections
        from gameday.scenario.loader import load_scenario
        from gameday.stack.state import demo_env

        path = Path(scenario)
        if not path.is_absolute():
            path = Path(request.config.rootpath) / path
        reports = Path(reports_dir or reports_opt or tmp_path / "gameday-reports")
        loaded = load_scenario(path)
        report_sections()  # a broken section plugin fails the test before the run, not after it
        with demo_env(loaded):
            result = run_scenario(loaded, RunOptions(reports_dir=reports, scenario_file=path, handle_signals=False))
        history = request.config.getoption("--gameday-history") or os.environ.get("GAMEDAY_HISTORY")
        finished = finish_run(result.run_dir, history=history, record=bool(history))
        if finished.report is None:
            raise RuntimeError(f"{result.run_id}: {finished.problems[0]}")
        for problem in finished.problems:  # the history could not be written: said, as `gameday run` says it
            sys.stderr.write(f"gameday: error: {problem}\n")
        card = finished.scorecard
        m = card.metrics
        return ScenarioResult(
            run_id=result.run_id,
            run_dir=result.run_dir,
            outcome=result.outcome.name.lower(),
            exit_code=result.exit_code,
            expectations_met=result.expectations_met,
            verdicts=list(result.verdicts),
            metrics=RunMetrics(
                mttd=m.seconds("time_to_detect"),
                mtta=m.seconds("time_to_acknowledge"),
                time_to_declare=m.seconds("time_to_declare"),
                time_to_mitigate=m.seconds("time_to_mitigate"),
                mttr=m.seconds("time_to_resolve_from_detection"),
                alert_detection=m.alerts.detection_s,
            ),
            scorecard=card,
        )

    return run
