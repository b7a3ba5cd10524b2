"""What scoring needs from a run folder besides the timeline: the scenario's alert expectations.

The alert observer writes them into the timeline (``alerts.watching``), which is preferred; this reads
the run's copy of the scenario (``scenario.yaml``) for runs without that event. It is read with the
scenario loader's YAML reader and its limits (size, values, duplicate keys), so a copy that is an alias bomb
or 50 MB is refused in one located line; then only the ``expect`` block is read, without validating the
rest, so a scenario whose fault kinds are not installed here still scores.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gameday.scenario.durations import parse_duration
from gameday.scenario.model import AlertExpectation
from gameday.scenario.yaml_source import load_yaml_file
from gameday.scoring.metrics import ScoringContext


def scoring_context(run_dir: Path) -> ScoringContext:
    """The scoring context of a run folder; the default one when it holds no scenario copy."""
    path = run_dir / "scenario.yaml"
    if not os.path.lexists(path):
        return ScoringContext()
    raw = load_yaml_file(path).data  # ScenarioError, located, when the copy is not a scenario file
    expect = raw.get("expect") if isinstance(raw, dict) else None
    if not isinstance(expect, dict):
        return ScoringContext()
    alerts = [_alert(a) for a in _list(expect.get("alerts")) if isinstance(a, dict) and a.get("name")]
    forbidden = tuple(str(n) for n in _list(expect.get("alerts_not_firing")))
    return ScoringContext(
        expected_alerts=tuple(alerts),
        forbidden_alerts=forbidden,
        alerts_declared="alerts" in expect or "alerts_not_firing" in expect,
    )


def _alert(raw: dict[str, Any]) -> AlertExpectation:
    try:
        within = parse_duration(raw.get("within", "5m"))
    except ValueError:
        within = 300.0
    labels = raw.get("labels")
    labels = labels if isinstance(labels, dict) else {}
    matchers = raw.get("matchers")
    return AlertExpectation.of(str(raw["name"]), labels={str(k): str(v) for k, v in labels.items()}, within=within,
                               matchers=matchers if isinstance(matchers, list) else ())


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
