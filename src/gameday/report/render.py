"""Render a run folder's report from its timeline: ``report.md`` (and more formats as they come)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gameday.report.summary import RunSummary, summarize
from gameday.timeline import read_timeline


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gameday.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = _cell
    env.filters["ms"] = lambda v: "-" if v is None else f"{v:.0f} ms"
    return env


def _cell(value: Any) -> str:
    """Make a value safe inside a Markdown table cell."""
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def event_detail(details: dict[str, Any]) -> str:
    skip = {"run_id", "faults"}
    return ", ".join(f"{k}={v}" for k, v in details.items() if k not in skip and v not in (None, "", []))


def render_markdown(summary: RunSummary) -> str:
    env = _environment()
    env.filters["detail"] = event_detail
    timeline = sorted(summary.timeline, key=lambda e: e.offset)
    return str(env.get_template("report.md.j2").render(s=summary, timeline=timeline))


def render_run(run_dir: Path) -> Path:
    """(Re-)render the report of a run folder from its timeline; returns the Markdown file's path."""
    summary = summarize(read_timeline(run_dir / "timeline.jsonl"))
    out = run_dir / "report.md"
    out.write_text(render_markdown(summary), encoding="utf-8")
    return out
