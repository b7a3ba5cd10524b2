"""`gameday ci`, `gameday history`, `gameday trends`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gameday.cli import arg_types


def cmd_ci(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from gameday.cli.common import err as _err
    from gameday.engine.suite import run_suite
    from gameday.printable import markup_safe as safe
    from gameday.report.junit import write_junit
    from gameday.scenario.loader import find_scenario_files

    paths = find_scenario_files([Path(p) for p in args.scenarios])
    if not paths:
        _err(f"no scenario files in {' '.join(args.scenarios)}")
        return 2
    # Each `gameday run` records itself in the history; it only needs to know which one.
    result = run_suite(paths, reports_dir=Path(args.reports), jobs=args.jobs,
                       extra_args=["--history", args.history] if args.history else None)
    console = Console(highlight=False)
    table = Table(title="gameday ci")
    for column in ("scenario", "outcome", "failed expectations", "time", "report"):
        table.add_column(column)
    for e in result.entries:
        style = "green" if e.passed else "red"
        failed = "; ".join(str(ev.details.get("name")) for ev in e.failed_expectations) or "-"
        if e.scenario is None:
            failed = "not a valid scenario: not run (its problems are listed below)"
        table.add_row(safe(e.name), f"[{style}]{safe(e.outcome)}[/]", safe(failed), f"{e.wall_s:.1f}s",
                      "-" if e.scenario is None else safe(e.run_dir / "report.md"))
    console.print(table)
    for e in result.entries:
        if e.scenario is None:  # one line per problem, as `gameday validate` gives them
            for line in e.stderr.splitlines():
                _err(line.removeprefix("gameday: error: "))
    console.print(f"{sum(e.passed for e in result.entries)} passed, {sum(not e.passed for e in result.entries)} failed "
                  f"in {result.wall_s:.1f}s with {result.jobs} job(s); one by one it would take {result.serial_s:.1f}s")
    if args.junit:
        write_junit(result, Path(args.junit))
        console.print(f"JUnit XML: {safe(args.junit)}")
    return 0 if result.passed else 1


def cmd_history(args: argparse.Namespace) -> int:
    from gameday.history.store import History
    from gameday.scoring.scorecard import format_seconds

    history = History(args.history)
    try:
        limit = args.limit or None
        runs = history.runs(scenario=args.scenario, since=args.since, until=args.until, limit=limit)
        total = history.count_runs(scenario=args.scenario, since=args.since, until=args.until) if limit else len(runs)
    finally:
        history.close()
    shown = f"the latest {len(runs)} of {total} runs; --limit 0 for all" if len(runs) < total else f"{total} runs"
    rows = [(r.started_at[:19], r.scenario, r.outcome, r.severity_declared or "-",
             format_seconds(r.metrics.get("time_to_detect")),
             format_seconds(r.metrics.get("time_to_resolve_from_detection")), str(r.scores.get("overall") or "-"),
             r.report_path) for r in runs]
    print_rows(f"gameday history ({shown})",
               ("started (UTC)", "scenario", "outcome", "severity", "MTTD", "MTTR", "overall", "report"), rows)
    return 0


def print_rows(title: str, columns: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    """A table of what a database holds (text, never markup); past TABLE_ROWS rows, one tab-separated line each,
    since rich takes about 3 ms to lay out a row (a minute and a half for 30,000 runs)."""
    from rich.console import Console
    from rich.table import Table

    from gameday.printable import markup_safe, printable

    if len(rows) > TABLE_ROWS:
        print(f"{title}: one line per row, tab-separated")
        for row in (columns, *rows):
            print("\t".join(printable(cell) for cell in row))
        return
    table = Table(title=markup_safe(title))
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(markup_safe(cell) for cell in row))
    Console(highlight=False).print(table)


TABLE_ROWS = 1000


def cmd_action_items(args: argparse.Namespace) -> int:
    """The review action items of past runs: open ones (or all), and marking one done."""
    from gameday.errors import GamedayError
    from gameday.history.store import History

    history = History(args.history)
    try:
        if args.done:
            try:
                run_id, number = arg_types.action_item(args.done)
            except argparse.ArgumentTypeError:
                raise GamedayError(f"--done takes RUN_ID:N (N from `gameday action-items`), got {args.done!r}") from None
            history.close_action_item(run_id, number - 1)
            print(f"action item {number} of run {run_id} is done")
            return 0
        items, total = history.action_items(scenario=args.scenario, include_done=args.all, limit=args.limit or None)
    finally:
        history.close()
    which = "action items" + ("" if args.all else " still open")
    print_rows(f"{which} (the latest {len(items)} of {total}; --limit 0 for all)" if len(items) < total else which,
               ("item", "scenario", "text", "owner", "due", "status"),
               [(f"{i.run_id}:{i.position + 1}", i.scenario, i.text, i.owner or "unassigned", i.due, i.status)
                for i in items])
    return 0


def cmd_trends(args: argparse.Namespace) -> int:
    from gameday.history.store import History
    from gameday.report.trends import Quarter, build_trends, write_trends

    quarter = Quarter.parse(args.quarter)
    since = quarter.back(args.quarters - 1).start if args.quarters else None
    history = History(args.history)
    try:
        runs = history.runs(since=since, until=quarter.end)
    finally:
        history.close()
    md, html = write_trends(build_trends(runs, quarter), Path(args.out))
    print(md)
    print(html)
    return 0


def register(sub: Any) -> None:
    history_help = "history database: SQLite file or postgresql:// URL (default: $GAMEDAY_HISTORY or reports/history.sqlite)"
    p = sub.add_parser("ci", help="run scenarios non-interactively with their scripted responders; JUnit XML")
    p.add_argument("scenarios", nargs="+", help="scenario files or folders")
    p.add_argument("--junit", help="write JUnit XML here")
    p.add_argument("--jobs", type=arg_types.positive_int, default=1, help="run scenarios with disjoint targets in parallel")
    p.add_argument("--reports", default="reports")
    p.add_argument("--history", type=arg_types.history, help=history_help)
    p.set_defaults(func=cmd_ci)

    p = sub.add_parser("history", help="list past runs")
    p.add_argument("--scenario")
    p.add_argument("--since", type=arg_types.utc_time, help="UTC date or time, e.g. 2026-10-01")
    p.add_argument("--until", type=arg_types.utc_time, help="UTC date or time (exclusive)")
    p.add_argument("--limit", type=arg_types.row_limit, default=50, help="show the latest N runs (default 50; 0: all)")
    p.add_argument("--history", type=arg_types.history, help=history_help)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("action-items", help="review action items of past runs: list the open ones, mark one done")
    p.add_argument("--all", action="store_true", help="also list the ones that are done")
    p.add_argument("--scenario")
    p.add_argument("--done", metavar="RUN_ID:N", help="mark this item done (as listed)")
    p.add_argument("--limit", type=arg_types.row_limit, default=100,
                   help="show the items of the latest runs, N at most (default 100; 0: all)")
    p.add_argument("--history", type=arg_types.history, help=history_help)
    p.set_defaults(func=cmd_action_items)

    p = sub.add_parser("trends", help="render the trend report for a quarter (Markdown and HTML)")
    p.add_argument("--quarter", required=True, help="e.g. 2026Q4")
    p.add_argument("--out", default="reports/trends")
    p.add_argument("--quarters", type=arg_types.row_limit, default=8,
                   help="how many quarters up to --quarter the report covers (default 8; 0: the whole history)")
    p.add_argument("--history", type=arg_types.history, help=history_help)
    p.set_defaults(func=cmd_trends)
