"""The quarterly trend report: how detection, response and runbooks change over game days.

Built from the history alone. Medians, not means: incident durations are skewed, and one long
drill should not hide that the typical one got faster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

from gameday.errors import GamedayError
from gameday.folders import make_folder
from gameday.history.store import RunRecord
from gameday.report.markdown import cell, to_html
from gameday.runfiles import write_file
from gameday.scoring.scorecard import format_seconds
from gameday.scoring.trends import median

METRICS = (("MTTD", "time_to_detect"), ("MTTA", "time_to_acknowledge"), ("MTTR", "time_to_resolve_from_detection"))
_QUARTER = re.compile(r"^(\d{4})[-\s]?Q([1-4])$", re.IGNORECASE)


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = _QUARTER.match(text.strip())
        if not match or not 1970 <= int(match[1]) <= 9998:  # 9999Q4 would end in year 10000, which date refuses
            raise GamedayError(f"cannot read quarter {text[:40]!r}: write it as 2026Q4 (years 1970 to 9998)")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, iso_time: str) -> Quarter:
        return cls(int(iso_time[:4]), (int(iso_time[5:7]) - 1) // 3 + 1)

    @property
    def start(self) -> str:
        return date(self.year, 3 * self.number - 2, 1).isoformat()

    @property
    def end(self) -> str:
        return (date(self.year + 1, 1, 1) if self.number == 4 else date(self.year, 3 * self.number + 1, 1)).isoformat()

    def back(self, quarters: int) -> Quarter:
        """The quarter ``quarters`` before this one (never before 1970Q1, where the parser starts)."""
        index = max(self.year * 4 + self.number - 1 - quarters, 1970 * 4)
        return Quarter(index // 4, index % 4 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


@dataclass
class QuarterRow:
    quarter: str
    runs: int
    passed: int
    medians: dict[str, float | None]
    runbook_pass_rate: float | None
    alert_coverage: float | None


@dataclass
class TrendReport:
    quarter: str
    quarters: list[QuarterRow]
    scenarios: list[dict[str, Any]]
    categories: dict[str, int]
    open_actions: list[dict[str, str]]
    charts: list[tuple[str, str]] = field(default_factory=list)
    open_total: int = 0
    """Action items still open in all; ``open_actions`` lists the latest ``OPEN_SHOWN`` of them."""


OPEN_SHOWN = 50
"""Open action items listed in the report; `gameday action-items` lists them all."""


def _rate(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def _duration(run: RunRecord, key: str) -> float | None:
    """A run's recorded duration; a negative one (an end before its start, recorded before scoring said
    such spans in words) is not a duration and is left out of medians and charts."""
    value = run.metrics.get(key)
    return value if value is not None and value >= 0 else None


def _row(label: str, runs: list[RunRecord]) -> QuarterRow:
    runbooks = [bool(r.scores.get("runbook_restored")) for r in runs if r.scores.get("runbook_restored") is not None]
    coverage = [v for r in runs if (v := r.metrics.get("alert_recall")) is not None]
    return QuarterRow(
        quarter=label,
        runs=len(runs),
        passed=sum(r.passed for r in runs),
        medians={name: median(v for r in runs if (v := _duration(r, key)) is not None) for name, key in METRICS},
        runbook_pass_rate=_rate(runbooks),
        alert_coverage=median(coverage),
    )


def build_trends(runs: list[RunRecord], quarter: Quarter) -> TrendReport:
    upto = [r for r in runs if r.started_at < quarter.end]
    in_quarter = [r for r in upto if r.started_at >= quarter.start]
    by_quarter: dict[str, list[RunRecord]] = {}
    for r in upto:
        by_quarter.setdefault(str(Quarter.of(r.started_at)), []).append(r)
    scenarios = []
    for name in sorted({r.scenario for r in in_quarter}):
        row = _row(name, [r for r in in_quarter if r.scenario == name])
        scenarios.append({"scenario": name, "runs": row.runs, "passed": row.passed, **row.medians})
    categories: dict[str, int] = {}
    for r in in_quarter:
        categories[r.category or "uncategorised"] = categories.get(r.category or "uncategorised", 0) + 1
    open_actions = [
        {**item, "run_id": r.run_id, "scenario": r.scenario, "raised": r.started_at[:10]}
        for r in upto for item in r.action_items if item.get("status", "open") == "open"
    ]
    report = TrendReport(str(quarter), [_row(q, rs) for q, rs in sorted(by_quarter.items())], scenarios,
                         dict(sorted(categories.items())), open_actions[-OPEN_SHOWN:], open_total=len(open_actions))
    for label, key in METRICS:
        report.charts.append((f"{label} per scenario over time", _metric_chart(upto, key, label)))
    return report


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


COLORS = ("#2563eb", "#db2777", "#0d9488", "#b45309", "#7c3aed", "#4b5563")


def _metric_chart(runs: list[RunRecord], key: str, label: str) -> str:
    """One line per scenario: the metric by date (the median of a day's runs: a point per day however many ran);
    an inline SVG."""
    by_day: dict[tuple[str, str], list[float]] = {}
    for r in runs:
        if (value := _duration(r, key)) is not None:
            by_day.setdefault((r.started_at[:10], r.scenario), []).append(value)
    points = [(day, scenario, median(values) or 0.0) for (day, scenario), values in by_day.items()]
    width, height, left, bottom, top = 760, 240, 60, 40, 20
    if not points:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="60"><text x="10" y="30" '
                f'font-size="12">no {escape(label)} recorded yet</text></svg>')
    days = sorted({p[0] for p in points})
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    span = max(1, (last - first).days)
    top_value = max(p[2] for p in points) * 1.1 or 1.0

    def x(day: str) -> float:
        return left + (date.fromisoformat(day) - first).days / span * (width - left - 20)

    def y(v: float) -> float:
        return height - bottom - v / top_value * (height - bottom - top)

    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
              f'aria-label="{escape(label)} over time"><rect width="100%" height="100%" fill="white"/>'),
             (f'<line x1="{left}" y1="{height - bottom}" x2="{width - 20}" y2="{height - bottom}" '
              'stroke="#9ca3af"/>'),
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#9ca3af"/>',
             f'<text x="{left - 6}" y="{top + 4}" font-size="10" text-anchor="end">{escape(format_seconds(top_value))}</text>',
             f'<text x="{left}" y="{height - bottom + 14}" font-size="10">{first.isoformat()}</text>',
             f'<text x="{width - 20}" y="{height - bottom + 14}" font-size="10" text-anchor="end">{last.isoformat()}</text>']
    for i, scenario in enumerate(sorted({p[1] for p in points})):
        color = COLORS[i % len(COLORS)]
        mine = sorted((p[0], p[2]) for p in points if p[1] == scenario)
        path = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in mine)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts.extend(f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="3" fill="{color}"/>' for d, v in mine)
        parts.append(f'<text x="{left + 10 + 170 * i}" y="{height - 8}" font-size="11" fill="{color}">'
                     f'{escape(scenario)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def trends_markdown(report: TrendReport) -> str:
    lines = [f"# Game day trends, {report.quarter}", "",
             "Medians across runs (durations are skewed; one long drill does not move a median much).", "",
             "## By quarter", "", "| Quarter | Runs | Passed | MTTD | MTTA | MTTR | Runbook pass rate | Alert coverage |",
             "|---|---|---|---|---|---|---|---|"]
    for q in report.quarters:
        lines.append(f"| {q.quarter} | {q.runs} | {q.passed} | " + " | ".join(format_seconds(q.medians[m]) for m, _ in METRICS)
                     + f" | {_pct(q.runbook_pass_rate)} | {_pct(q.alert_coverage)} |")
    lines += ["", f"## Scenarios in {report.quarter}", "", "| Scenario | Runs | Passed | MTTD | MTTA | MTTR |",
              "|---|---|---|---|---|---|"]
    for s in report.scenarios:
        lines.append(f"| {cell(s['scenario'])} | {s['runs']} | {s['passed']} | "
                     + " | ".join(format_seconds(s[m]) for m, _ in METRICS) + " |")
    lines += ["", f"## Incidents by category in {report.quarter}", "", "| Category | Runs |", "|---|---|"]
    lines += [f"| {cell(c)} | {n} |" for c, n in report.categories.items()]
    lines += ["", "## Action items still open", ""]
    if report.open_total > len(report.open_actions):
        shown = f"The latest {len(report.open_actions)} of {report.open_total}"
        lines += [f"{shown}; `gameday action-items --limit 0` lists them all.", ""]
    if report.open_actions:
        lines += ["| Raised | Scenario | Action | Owner | Due |", "|---|---|---|---|---|"]
        lines += ["| " + " | ".join(cell(a.get(k) or ("unassigned" if k == "owner" else ""))
                                    for k in ("raised", "scenario", "text", "owner", "due")) + " |"
                  for a in report.open_actions]
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def trends_html(report: TrendReport) -> str:
    import html as html_lib

    body = trends_markdown(report)
    # The tables come from the Markdown (one source); the charts are inline SVG below them.
    charts = "".join(f"<figure><figcaption>{escape(title)}</figcaption>{svg}</figure>" for title, svg in report.charts)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html_lib.escape('Game day trends ' + report.quarter)}"
            "</title><style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#111}"
            "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #d1d5db;padding:4px 8px}"
            "figure{margin:1.5em 0}figcaption{font-weight:600;margin-bottom:.3em}</style></head><body>"
            f"{to_html(body)}<h2>Charts</h2>{charts}</body></html>\n")


def write_trends(report: TrendReport, out_dir: Path) -> tuple[Path, Path]:
    problem = make_folder(out_dir)
    if problem:
        raise GamedayError(f"cannot write the trend report to {out_dir}: {problem}")
    md, html = out_dir / f"trends-{report.quarter}.md", out_dir / f"trends-{report.quarter}.html"
    for path, text in ((md, trends_markdown(report)), (html, trends_html(report))):
        write_file(path, text)
    return md, html
