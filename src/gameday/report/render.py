"""Render a run folder's reports from its timeline: ``report.md``, ``report.html`` and ``scorecard.json``.

Both reports read the same ``Postmortem`` (report/postmortem.py). Optional sections (``SECTIONS``) are
written once, as Markdown (``_<name>.md.j2``); the HTML report uses ``_<name>.html.j2`` when a section
ships one, and otherwise converts the section's rendered Markdown with report/markdown.py. One template
per section keeps the two reports from drifting apart, and section authors need not write HTML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gameday.errors import GamedayError
from gameday.report.markdown import cell
from gameday.report.postmortem import Postmortem, build_postmortem
from gameday.report.summary import RunSummary
from gameday.scoring.metrics import ScoringContext
from gameday.scoring.scorecard import format_seconds
from gameday.timeline import Event, read_timeline

RATING_CLASSES = {"P": "p", "S": "s", "M": "m", "U": "u", None: "n"}


def _environment(*, html: bool = False) -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gameday.report", "templates"),
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = cell
    env.filters["ms"] = lambda v: "-" if v is None else f"{v:.0f} ms"
    env.filters["duration"] = format_seconds
    env.filters["steps"] = lambda v: ", ".join(str(x) for x in v) if v else "none"
    env.filters["detail"] = event_detail
    env.filters["rating_class"] = lambda r: RATING_CLASSES.get(r, "n")
    return env


def event_detail(details: dict[str, Any]) -> str:
    skip = {"run_id", "faults", "drill", "hist", "labels", "fingerprint", "starts_at", "ends_at", "pid", "mode"}
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


def render_markdown(
    summary: RunSummary,
    events: list[Event] | None = None,
    *,
    postmortem: Postmortem | None = None,
    context: ScoringContext | None = None,
) -> str:
    events = events if events is not None else summary.timeline
    pm = postmortem or build_postmortem(events, context)
    env = _environment()
    sections = build_sections(pm.narrated)
    return str(env.get_template("report.md.j2").render(s=summary, pm=pm, timeline=pm.timeline, sections=sections))


def render_html(events: list[Event], *, postmortem: Postmortem | None = None,
                context: ScoringContext | None = None) -> str:
    """The self-contained HTML page: inline CSS and SVG, no scripts, nothing fetched."""
    from markupsafe import Markup

    from gameday.report.markdown import to_html

    pm = postmortem or build_postmortem(events, context)
    md_env, html_env = _environment(), _environment(html=True)
    sections: list[tuple[str, Any]] = []
    for name, data in build_sections(pm.narrated):
        own = f"_{name}.html.j2"
        if own in html_env.list_templates():
            body = html_env.get_template(own).render(data=data)
        else:
            body = to_html(md_env.get_template(f"_{name}.md.j2").render(data=data))
        sections.append((name, Markup(body)))
    charts = [(c, Markup(c.svg)) for c in pm.charts]
    return str(html_env.get_template("report.html.j2").render(
        s=pm.summary, pm=pm, timeline=pm.timeline, sections=sections, charts=charts))


def render_run(run_dir: Path, context: ScoringContext | None = None) -> Path:
    """(Re-)render the reports of a run folder from its timeline; returns the Markdown file's path.

    Writes ``report.md``, ``report.html`` and ``scorecard.json`` next to ``timeline.jsonl``.
    """
    from gameday.report.run_inputs import scoring_context

    events = read_timeline(run_dir / "timeline.jsonl")
    if not events:
        raise GamedayError(f"{run_dir / 'timeline.jsonl'} is empty: nothing to report")
    ctx = context or scoring_context(run_dir)
    pm = build_postmortem(events, ctx)
    out = run_dir / "report.md"
    out.write_text(render_markdown(pm.summary, events, postmortem=pm), encoding="utf-8")
    (run_dir / "report.html").write_text(render_html(events, postmortem=pm), encoding="utf-8")
    (run_dir / "scorecard.json").write_text(json.dumps(pm.scorecard.to_dict(), indent=2, default=str) + "\n",
                                            encoding="utf-8")
    return out
