"""Compiled report templates are kept between runs (issue 19: the run's cost), and change nothing in the report."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gameday.report import render
from gameday.report.render import render_run


@pytest.fixture
def cache_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Jinja2's cache folder goes in the temporary folder: this test's own, and a cache made afresh."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    render._bytecode_cache.cache_clear()
    yield root
    render._bytecode_cache.cache_clear()


def outputs(run_dir: Path) -> tuple[str, str, str]:
    render_run(run_dir)
    return tuple((run_dir / name).read_text() for name in ("report.md", "report.html", "scorecard.json"))  # type: ignore[return-value]


def test_a_report_rendered_from_cached_templates_is_the_same_report(cache_root: Path, run_dir: Path) -> None:
    first = outputs(run_dir)
    cached = sorted(p.name for p in (cache_root / f"_jinja2-cache-{os.getuid()}").iterdir())
    # report.md's and report.html's environments compile differently (finalize, autoescape): each has its own
    flavours = {name.split("_")[5] for name in cached if name.startswith("__gameday_report_")}
    assert {"text-md", "html-section"} <= flavours, cached
    second = outputs(run_dir)  # new environments: the templates come from the cache files
    assert second == first


def test_without_a_usable_cache_folder_the_report_is_rendered_all_the_same(cache_root: Path, run_dir: Path) -> None:
    (cache_root / f"_jinja2-cache-{os.getuid()}").write_text("not a folder")  # Jinja2 refuses to use it
    assert render._bytecode_cache("html-section") is None
    render._bytecode_cache.cache_clear()
    md, html, scorecard = outputs(run_dir)
    assert "# " in md and "<html" in html and scorecard.startswith("{")
