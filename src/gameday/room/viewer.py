"""The report viewer: past runs (each run's own report.html), the history and the quarterly trends.

Pages are built here as text; app.py serves them. A run id from a URL names a folder under the reports
folder only (no separators, no leading dot), so a request can never read outside it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from markupsafe import escape

from gameday.errors import GamedayError

RUN_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
HISTORY_ROWS: Final = 200


def page(title: str, body: str) -> str:
    """A viewer page with the room's stylesheet (served by the app, no CDN)."""
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{escape(title)}</title>"
            f"<link rel='stylesheet' href='/static/room.css'></head><body class='viewer'>"
            f"<nav><a href='/reports/'>Runs</a> <a href='/trends'>Trends</a></nav>"
            f"<main><h1>{escape(title)}</h1>{body}</main></body></html>\n")


def report_file(reports_dir: Path, run_id: str) -> Path | None:
    """``reports/<run_id>/report.html`` when the id is a plain folder name and the file is there."""
    if not RUN_ID.match(run_id) or ".." in run_id:
        return None
    path = reports_dir / run_id / "report.html"
    return path if path.is_file() else None


def runs_page(reports_dir: Path, history: str | None) -> str:
    """The latest runs from the history, each linked to its report when the report is in this folder."""
    from gameday.history.store import History
    from gameday.scoring.scorecard import format_seconds

    try:
        store = History(history)
        try:
            runs = store.runs(limit=HISTORY_ROWS)
        finally:
            store.close()
    except GamedayError as exc:
        return page("Runs", f"<p class='error' data-testid='history-error'>{escape(str(exc))}</p>")
    rows = []
    for r in reversed(runs):  # the newest first
        name = escape(r.run_id)
        link = f"<a href='/reports/{name}/'>{name}</a>" if report_file(reports_dir, r.run_id) else name
        rows.append(f"<tr data-testid='run-row'><td>{escape(r.started_at[:19])}</td><td>{link}</td>"
                    f"<td>{escape(r.scenario)}</td><td>{escape(r.outcome)}</td>"
                    f"<td>{escape(r.severity_declared or '-')}</td>"
                    f"<td>{escape(format_seconds(r.metrics.get('time_to_detect')))}</td>"
                    f"<td>{escape(format_seconds(r.metrics.get('time_to_resolve_from_detection')))}</td>"
                    f"<td>{escape(str(r.scores.get('overall') or '-'))}</td></tr>")
    table = ("<table id='runs'><thead><tr><th>started (UTC)</th><th>run</th><th>scenario</th><th>outcome</th>"
             "<th>severity</th><th>MTTD</th><th>MTTR</th><th>overall</th></tr></thead><tbody>"
             + "".join(rows) + "</tbody></table>") if rows else "<p>No runs in the history yet.</p>"
    return page("Runs", f"<p>The latest {len(runs)} runs of the history.</p>{table}")


def trends_page(history: str | None, quarter: str | None, today: str) -> str:
    """The trend report of a quarter (default: this one) over the 8 quarters up to it, as `gameday trends`."""
    from gameday.history.store import History
    from gameday.report.trends import Quarter, build_trends, trends_html

    wanted = Quarter.parse(quarter) if quarter else Quarter.of(today)
    store = History(history)
    try:
        runs = store.runs(since=wanted.back(7).start, until=wanted.end)
    finally:
        store.close()
    return trends_html(build_trends(runs, wanted))
