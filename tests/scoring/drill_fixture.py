"""The fixture drill's timeline (fixtures/drill-timeline.jsonl, whose provenance is fixtures/make_drill_timeline.py)."""

from __future__ import annotations

from pathlib import Path

from gameday.timeline import Event, read_timeline

FIXTURE = Path(__file__).parent / "fixtures" / "drill-timeline.jsonl"


def fixture_events() -> list[Event]:
    return read_timeline(FIXTURE)
