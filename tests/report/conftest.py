from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parents[1] / "scoring" / "fixtures" / "drill-timeline.jsonl"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run folder holding only the fixture drill's timeline, as if copied off another machine."""
    folder = tmp_path / "20261125T100000Z-checkout-db-latency-a1b2"
    folder.mkdir()
    shutil.copyfile(FIXTURE, folder / "timeline.jsonl")
    return folder
