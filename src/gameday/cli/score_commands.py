"""``gameday score``: print a run's scorecard, computed again from its timeline."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

RATING_STYLES = {"P": "bold green", "S": "bold yellow", "M": "bold dark_orange", "U": "bold red", None: "dim"}


def register(sub: Any) -> None:
    p = sub.add_parser("score", help="print a run's scorecard (HSEEP ratings with reasons, response times)")
    p.add_argument("run_id", help="run id (a folder in --reports) or a run folder")
    p.add_argument("--reports", default="reports", help="folder for run reports (default: reports)")
    p.add_argument("--json", action="store_true", help="print the scorecard as JSON (as in scorecard.json)")
    p.set_defaults(func=cmd_score)


def cmd_score(args: argparse.Namespace) -> int:
    from gameday.cli.common import run_dir as _run_dir
    from gameday.errors import GamedayError
    from gameday.report.run_inputs import scoring_context
    from gameday.scoring.scorecard import score
    from gameday.timeline import read_timeline

    run_dir = _run_dir(args.reports, args.run_id)
    events = read_timeline(run_dir / "timeline.jsonl")
    if not events:  # as `gameday report` refuses it: a scorecard of nothing would rate a drill never run
        raise GamedayError(f"{run_dir / 'timeline.jsonl'} is empty: nothing to score")
    card = score(events, scoring_context(run_dir))
    if args.json:
        sys.stdout.write(json.dumps(card.to_dict(), indent=2, default=str) + "\n")
        return 0
    print_scorecard(card)
    return 0


def print_scorecard(card: Any, console: Any = None) -> None:
    """The ratings with their reasons, the overall rating and the response times, as ``gameday score`` shows them."""
    from rich.console import Console
    from rich.table import Table

    from gameday.printable import markup_safe as safe

    # What a timeline says (scenario, run id, reasons quoting names) is text, never markup.
    console = console or Console(highlight=False)
    title = f"Scorecard: {safe(card.scenario or '?')}  [dim]{safe(card.run_id)}[/]"
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("Capability")
    table.add_column("Rating", justify="center")
    table.add_column("Why")
    for c in card.capabilities:
        style = RATING_STYLES.get(c.rating, "dim")
        table.add_row(safe(c.title), f"[{style}]{safe(c.rating or '-')}[/]", safe(c.reason))
    console.print(table)
    overall = card.overall
    console.print(f"Overall: [{RATING_STYLES.get(overall, 'dim')}]{safe(overall or '-')}[/] "
                  f"({safe(card.overall_meaning)}): {safe(card.overall_reason)}. {safe(card.tally)}")
    times = Table(title="Response times", title_justify="left")
    times.add_column("Metric")
    times.add_column("From")
    times.add_column("To")
    times.add_column("Time", justify="right")
    for name, interval in card.metrics.intervals.items():
        times.add_row(safe(name.replace("_", " ")), safe(interval.start_event or "-"), safe(interval.end_event),
                      safe(interval.text))
    console.print(times)
    for note in card.notes:
        console.print(f"[dim]{safe(note)}[/]")
