"""Helpers for runbook tests: fixtures rendered with real container names, a scenario with a probe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gameday.clock import SystemClock
from gameday.scenario.model import Scenario
from gameday.timeline import Timeline

FIXTURES = Path(__file__).parent / "fixtures"


def render_fixture(name: str, dest: Path, **values: Any) -> Path:
    """Copy a fixture runbook, replacing @KEY@ with values (container names, ports)."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key.upper()}@", str(value))
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / name
    path.write_text(text, encoding="utf-8")
    return path


def web_scenario(container: str, url: str, *, duration: str = "3s", runbook: str | None = None) -> Scenario:
    raw: dict[str, Any] = {
        "version": 1,
        "name": "web-down",
        "stack": {"targets": {"web": {"container": container}}},
        "steady_state": {"probes": [{"name": "web", "http": {"url": url, "timeout": "1s", "max_latency": "900ms"},
                                     "interval": "200ms"}]},
        "faults": [{"kind": "container_kill", "target": "web", "duration": duration}],
        "expect": {"recovers_within": "10s"},
    }
    if runbook:
        raw["runbook"] = runbook
    return Scenario.model_validate(raw, strict=False)


@pytest.fixture
def timeline(tmp_path: Path) -> Iterator[Timeline]:
    tl = Timeline(tmp_path / "run" / "timeline.jsonl", SystemClock())
    yield tl
    tl.close()
