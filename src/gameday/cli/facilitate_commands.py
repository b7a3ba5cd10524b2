"""``gameday facilitate``: a drill with people at one screen, a tabletop replay, or a resumed drill.

    gameday facilitate scenarios/x.yaml               live: a real fault, the team answers the prompts
    gameday facilitate --speed 10 scenarios/x.yaml    tabletop: no fault, scenario time 10x faster
    gameday facilitate --scripted --speed 60 x.yaml   tabletop replay of the scenario's responses:, no prompts
    gameday facilitate --resume <run-id>              continue a drill whose process died

At a terminal the drill runs full screen (cli/drill_screen.py): the live feed above, the prompt on its own
line below. ``--plain``, a pipe, a dumb terminal or ``--scripted`` keep the line-by-line output.

A live scripted drill (no prompts, a real fault) is plain ``gameday run``: a scenario with responses:
gets its scripted responder there.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from gameday.cli import arg_types
from gameday.errors import GamedayError


def cmd_facilitate(args: argparse.Namespace) -> int:
    """Every drill, tabletop and resumed drill ends with the one finish step (reports, history), as a run does."""
    from rich.console import Console

    from gameday.cli.common import finish
    from gameday.printable import markup_safe as safe

    console = Console(highlight=False)
    if _full_screen(args, console):
        from gameday.cli.drill_screen import DrillScreen

        with DrillScreen(title=_title(args)) as screen:
            result = _facilitate(args, screen.console, feed=screen.on_event)
    else:
        result = _facilitate(args, console)
    finished = finish(result.run_dir, history=getattr(args, "history", None), console=console)
    style = "green" if result.exit_code == 0 else "red"
    console.print(f"[{style}]{result.outcome}[/] (exit {result.exit_code})"
                  + (f"  report: {safe(finished.report)}" if finished.report else ""), highlight=False)
    if result.error:
        console.print(f"[red]{safe(result.error)}[/]", highlight=False)
    return int(result.exit_code)


def _full_screen(args: argparse.Namespace, console: Any) -> bool:
    """Full screen for people at a terminal; a scripted replay has no prompts, so it stays line by line."""
    if getattr(args, "plain", False) or args.scripted:
        return False
    from gameday.cli.drill_screen import wanted

    return wanted(plain=False, stdin=sys.stdin, console=console, environ=dict(os.environ))


def _title(args: argparse.Namespace) -> str:
    return f"(resumed) {args.resume}" if args.resume else Path(str(args.scenario or "")).stem


def _facilitate(args: argparse.Namespace, console: Any, *, feed: Any = None) -> Any:
    from gameday.cli.common import check_report_sections, run_dir
    from gameday.facilitator import drill

    env = dict(os.environ)
    check_report_sections()
    if args.resume:
        if args.scenario or args.speed or args.scripted or args.tabletop:
            raise GamedayError("--resume takes a run id only (the scenario and mode come from the run)")
        return drill.resume(run_dir(args.reports, args.resume), console=console, env=env, feed=feed)
    if not args.scenario:
        raise GamedayError("name a scenario file, or --resume <run-id>")
    from gameday.scenario.loader import load_scenario

    scenario_file = Path(args.scenario)
    scenario = load_scenario(scenario_file)
    if args.scripted:
        if not (args.speed or args.tabletop):
            raise GamedayError("--scripted here replays a tabletop (add --speed N); "
                               "a live scripted drill is `gameday run`")
        if not scenario.responses:
            raise GamedayError(f"{scenario_file}: no responses: to replay")
        return drill.tabletop_scripted(scenario, scenario_file, reports_dir=Path(args.reports),
                                       speed=args.speed or 1.0, console=console)
    return drill.facilitate(scenario, scenario_file, reports_dir=Path(args.reports), console=console, env=env,
                            speed=args.speed, tabletop=args.tabletop, run_id=getattr(args, "run_id", None),
                            feed=feed)


def cmd_run_facilitated(args: argparse.Namespace) -> int:
    """``gameday run --facilitate x.yaml``: the same as ``gameday facilitate x.yaml``."""
    if getattr(args, "allow_production", False):
        raise GamedayError("--allow-production is not offered for facilitated drills: drill on staging")
    return cmd_facilitate(argparse.Namespace(scenario=args.scenario, reports=args.reports, speed=None,
                                             tabletop=False, scripted=False, resume=None,
                                             plain=getattr(args, "plain", False),
                                             run_id=getattr(args, "run_id", None), history=getattr(args, "history", None)))


def register(sub: Any) -> None:
    p = sub.add_parser("facilitate", help="run a drill with the team at one screen (or a tabletop, or resume one)")
    p.add_argument("scenario", nargs="?", help="the scenario file")
    p.add_argument("--reports", default="reports", help="folder for run reports (default: reports)")
    p.add_argument("--speed", type=arg_types.speed, metavar="N",
                   help="tabletop practice: no real fault; scenario time runs N times faster")
    p.add_argument("--tabletop", action="store_true", help="no real fault (implied by --speed)")
    p.add_argument("--scripted", action="store_true", help="with --speed: the scenario's responses: play the team")
    p.add_argument("--resume", metavar="RUN_ID", help="continue a drill whose process died")
    p.add_argument("--plain", action="store_true",
                   help="line-by-line output even at a terminal (no full-screen layout)")
    p.add_argument("--history", type=arg_types.history, help="history database: a SQLite file or postgresql:// URL "
                                     "(default: $GAMEDAY_HISTORY or reports/history.sqlite)")
    p.set_defaults(func=cmd_facilitate)
