"""What scoring needs from a run folder besides the timeline: the scenario's alert expectations.

The alert observer writes them into the timeline (``alerts.watching``), which is preferred; this reads
the run's copy of the scenario (``scenario.yaml``) for runs without that event. Only the ``expect``
block is read, with plain YAML, so a scenario whose fault kinds are not installed here still scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gameday.scenario.durations import parse_duration
from gameday.scenario.model import AlertExpectation
from gameday.scoring.metrics import ScoringContext


def scoring_context(run_dir: Path) -> ScoringContext:
    """The scoring context of a run folder; the default one when it holds no readable scenario copy."""
    import yaml

    path = run_dir / "scenario.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, ValueError):  # ValueError: a date-like value that is no real day
        return ScoringContext()
    expect = raw.get("expect") if isinstance(raw, dict) else None
    if not isinstance(expect, dict):
        return ScoringContext()
    alerts = [_alert(a) for a in expect.get("alerts") or [] if isinstance(a, dict) and a.get("name")]
    forbidden = tuple(str(n) for n in expect.get("alerts_not_firing") or [])
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
