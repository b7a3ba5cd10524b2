"""Render a run folder's reports from its timeline: ``report.md``, ``report.html`` and ``scorecard.json``.

Both reports read the same ``Postmortem`` (report/postmortem.py). Optional sections come from the
``gameday.report_sections`` entry point group (contract: gameday.contracts.ReportSection) and are written
once, as Markdown (``_<name>.md.j2``); the HTML report uses ``_<name>.html.j2`` when a section ships one,
and otherwise converts the section's rendered Markdown with report/markdown.py. One template per section
keeps the two reports from drifting apart, and section authors need not write HTML. A section's
templates are looked up in gameday's and then in a ``templates/`` folder beside the section's module.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gameday.contracts import ReportSection
from gameday.errors import GamedayError
from gameday.report.markdown import cell
from gameday.report.postmortem import Postmortem, build_postmortem
from gameday.report.summary import RunSummary
from gameday.runfiles import write_file
from gameday.scoring.metrics import ScoringContext
from gameday.scoring.scorecard import format_seconds
from gameday.timeline import Event, read_timeline

RATING_CLASSES = {"P": "p", "S": "s", "M": "m", "U": "u", None: "n"}


def _environment(*, html: bool = False, markdown_file: bool = False, sections: Sequence[ReportSection] = ()) -> Any:
    """Templates for the HTML page (autoescaped), for report.md (``markdown_file``: no raw HTML gets through,
    as Markdown viewers render it), or for section Markdown that report/markdown.py converts (it escapes)."""
    import jinja2

    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("gameday.report", "templates")]
    for section in sections:  # a third party's section brings its own templates
        module_file = getattr(sys.modules.get(type(section).__module__), "__file__", None)
        folder = Path(module_file).parent / "templates" if module_file else None
        if folder is not None and folder.is_dir():
            loaders.append(jinja2.FileSystemLoader(folder))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        bytecode_cache=_bytecode_cache(f"{'html' if html else 'text'}-{'md' if markdown_file else 'section'}"),
        autoescape=html,
        finalize=_no_html if markdown_file else None,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = cell
    env.filters["code"] = code_span
    env.filters["ms"] = lambda v: "-" if v is None else f"{v:.0f} ms"
    env.filters["duration"] = format_seconds
    env.filters["steps"] = lambda v: ", ".join(str(x) for x in v) if v else "none"
    env.filters["detail"] = event_detail
    env.filters["rating_class"] = lambda r: RATING_CLASSES.get(r, "n")
    return env


@functools.cache
def _bytecode_cache(flavour: str) -> Any:
    """Compiled templates kept between runs: compiling report.md and report.html took 0.15-0.3 s of every run.

    Jinja2's own default folder (``_jinja2-cache-<uid>`` in the temporary folder, made 0700 and refused when
    another user owns it). Jinja2 keys an entry by the template's name and source only, but the code compiled
    depends on the environment's options (autoescape, finalize), so each ``flavour`` of environment, and each
    Jinja2 version, has its own file names. Without a usable folder, templates are compiled as before."""
    import jinja2

    try:
        return jinja2.FileSystemBytecodeCache(pattern=f"__gameday_report_{jinja2.__version__}_{flavour}_%s.cache")
    except (RuntimeError, OSError):  # jinja2 says RuntimeError for a folder it will not trust
        return None


def _no_html(value: Any) -> Any:
    """Every value a report.md template prints: a ``<`` from a timeline never opens an HTML tag in a viewer."""
    from markupsafe import Markup

    if value is None or isinstance(value, Markup | int | float):
        return value
    return str(value).replace("<", "&lt;")


def code_span(value: Any) -> Any:
    """``value`` as one Markdown code span (no HTML is read inside one), fenced longer than any backtick run in it."""
    import re

    from markupsafe import Markup

    text = cell(value)
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Markup(f"{fence}{pad}{text}{pad}{fence}")


def event_detail(details: dict[str, Any]) -> str:
    skip = {"run_id", "faults", "drill", "hist", "labels", "fingerprint", "starts_at", "ends_at", "pid", "mode"}
    return ", ".join(f"{k}={v}" for k, v in details.items() if k not in skip and v not in (None, "", []))


def build_sections(events: list[Event], sections: Sequence[ReportSection] | None = None) -> list[tuple[str, Any]]:
    """Each optional report section's data, computed from the timeline alone; sections with no data are left out."""
    if sections is None:
        from gameday.plugins import report_sections

        sections = report_sections()
    out: list[tuple[str, Any]] = []
    for section in sections:
        data = section.build(events)
        if data is not None:
            out.append((section.name, data))
    return out


def render_markdown(
    summary: RunSummary,
    events: list[Event] | None = None,
    *,
    postmortem: Postmortem | None = None,
    context: ScoringContext | None = None,
) -> str:
    events = events if events is not None else summary.timeline
    from gameday.plugins import report_sections

    pm = postmortem or build_postmortem(events, context)
    installed = report_sections()
    env = _environment(markdown_file=True, sections=installed)
    sections = build_sections(pm.narrated, installed)
    return str(env.get_template("report.md.j2").render(s=summary, pm=pm, timeline=pm.timeline, sections=sections))


def render_html(events: list[Event], *, postmortem: Postmortem | None = None,
                context: ScoringContext | None = None) -> str:
    """The self-contained HTML page: inline CSS and SVG, no scripts, nothing fetched."""
    from markupsafe import Markup

    from gameday.plugins import report_sections
    from gameday.report.markdown import to_html

    pm = postmortem or build_postmortem(events, context)
    installed = report_sections()
    md_env, html_env = _environment(sections=installed), _environment(html=True, sections=installed)
    sections: list[tuple[str, Any]] = []
    for name, data in build_sections(pm.narrated, installed):
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
    pm = build_postmortem(events, context or scoring_context(run_dir))
    return write_reports(run_dir, events, pm)


def write_reports(run_dir: Path, events: list[Event], pm: Postmortem) -> Path:
    """Write ``report.md``, ``report.html`` and ``scorecard.json`` from one postmortem (scored once)."""
    out = run_dir / "report.md"
    write_file(out, render_markdown(pm.summary, events, postmortem=pm))
    write_file(run_dir / "report.html", render_html(events, postmortem=pm))
    write_file(run_dir / "scorecard.json", json.dumps(pm.scorecard.to_dict(), indent=2, default=str) + "\n")
    return out
