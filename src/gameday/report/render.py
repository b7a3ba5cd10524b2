"""Render a run folder's report from its timeline: ``report.md`` (and more formats as they come)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gameday.report.summary import RunSummary, summarize
from gameday.timeline import Event, read_timeline


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


SECTIONS: tuple[tuple[str, str], ...] = (
    # (name, "module:function"): function(events) -> data for templates/_<name>.md.j2, or None to leave
    # the section out. Sections whose module is not installed are left out too.
    ("alerts", "gameday.report.sections.alerts:build"),
    ("load", "gameday.report.sections.load:build"),
    ("response", "gameday.report.sections.response:build"),
    ("runbook", "gameday.report.sections.runbook:build"),
    ("disk", "gameday.report.sections.disk:build"),
)


def build_sections(events: list[Event]) -> list[tuple[str, Any]]:
    """Each optional report section's data, computed from the timeline alone."""
    import importlib

    out: list[tuple[str, Any]] = []
    for name, target in SECTIONS:
        module_name, func_name = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        data = getattr(module, func_name)(events)
        if data is not None:
            out.append((name, data))
    return out


def render_markdown(summary: RunSummary, events: list[Event] | None = None) -> str:
    env = _environment()
    env.filters["detail"] = event_detail
    timeline = sorted(summary.timeline, key=lambda e: e.offset)
    sections = build_sections(events or [])
    return str(env.get_template("report.md.j2").render(s=summary, timeline=timeline, sections=sections))


def render_run(run_dir: Path) -> Path:
    """(Re-)render the report of a run folder from its timeline; returns the Markdown file's path."""
    events = read_timeline(run_dir / "timeline.jsonl")
    summary = summarize(events)
    out = run_dir / "report.md"
    out.write_text(render_markdown(summary, events), encoding="utf-8")
    return out
