"""``gameday``: the command line. Heavy libraries are imported inside commands so start-up stays fast."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from gameday import __version__
from gameday.cli import arg_types
from gameday.cli.common import write_output
from gameday.errors import GamedayError, ScenarioErrors

Command = Callable[[argparse.Namespace], int]


def _err(message: str) -> None:
    from gameday.cli.common import err

    err(message)


# --- commands ---------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from gameday.errors import ScenarioError
    from gameday.faults.base import FaultRegistry
    from gameday.printable import printable
    from gameday.scenario.loader import find_scenario_files, load_scenario
    from gameday.scenario.stackfile import STACK_FOLDER, load_stack_file

    files = find_scenario_files([Path(p) for p in args.paths])
    if not files:
        _err(f"no scenario files (*.yaml, *.yml) in {' '.join(args.paths)}")
        return 1
    registry = FaultRegistry()
    problems = 0
    for f in files:
        try:
            if f.parent.name == STACK_FOLDER:  # a stack file named on the command line: checked as one
                load_stack_file(f)
                if not args.quiet:
                    print(printable(f"{f}: ok (stack file)"))
                continue
            scenario = load_scenario(f, registry=registry)
        except ScenarioErrors as exc:
            for line in exc.lines():
                print(line)
            problems += len(exc.errors)
        except ScenarioError as exc:
            print(exc.one_line())
            problems += 1
        else:
            from gameday.observe.alert_rules import unknown_alert_warnings

            for line in unknown_alert_warnings(f, scenario):  # warnings: the exit code stays 0
                print(printable(line))
            if not args.quiet:
                print(printable(f"{f}: ok"))
    if problems:
        print(f"{problems} problem{'s' if problems != 1 else ''} in {len(files)} file{'s' if len(files) != 1 else ''}",
              file=sys.stderr)
        return 1
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from gameday.scenario.schema import installed_schema_text, installed_stack_schema_text

    text = installed_stack_schema_text() if args.stack else installed_schema_text()
    write_output(text, args.output)
    return 0


def _load_one(path: str) -> Any:
    from gameday.scenario.loader import load_scenario

    return load_scenario(Path(path))


def cmd_run(args: argparse.Namespace) -> int:
    if getattr(args, "facilitate", False):  # a drill with people at one screen: see facilitate_commands
        from gameday.cli.facilitate_commands import cmd_run_facilitated

        return cmd_run_facilitated(args)
    from rich.console import Console

    from gameday.cli.common import check_report_sections, finish
    from gameday.cli.live_view import LiveView
    from gameday.engine.run import RunOptions, run_scenario
    from gameday.finish import prepare_in_background
    from gameday.printable import markup_safe
    from gameday.stack.state import demo_env

    scenario = _load_one(args.scenario)
    check_report_sections()
    console = Console(stderr=False, highlight=False, quiet=args.quiet)
    view = LiveView(console, scenario.name)
    # The finish step's imports are done while the faults hold, not after the run (gameday.finish.prepare).
    options = RunOptions(reports_dir=Path(args.reports), scenario_file=Path(args.scenario),
                         listeners=[view, prepare_in_background()],
                         allow_production=args.allow_production, run_id=args.run_id)
    if args.allow_production:
        _err("--allow-production: faults on a production stack are allowed for this run (recorded in its timeline)")
    with demo_env(scenario), view:
        result = run_scenario(scenario, options)
    finished = finish(result.run_dir, history=getattr(args, "history", None))
    for verdict in result.verdicts:  # names and details quote the scenario: text, never markup
        mark = "[green]met[/]" if verdict.met else "[red]NOT MET[/]"
        console.print(f"  {mark}  {markup_safe(verdict.name)}: {markup_safe(verdict.detail)}", highlight=False)
    if finished.scorecard.metrics.responded:  # a (scripted) team responded: how it did, as `gameday score` shows
        from gameday.cli.score_commands import print_scorecard

        print_scorecard(finished.scorecard, console)
    style = "green" if result.exit_code == 0 else "red"
    console.print(f"[{style}]{result.outcome.name.lower()}[/] (exit {result.exit_code})  "
                  f"report: {markup_safe(finished.report or '-')}",
                  highlight=False)
    if result.error:
        _err(result.error)
    return result.exit_code


def cmd_plan(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from gameday.engine.plan import make_plan

    scenario = _load_one(args.scenario)
    plan = make_plan(scenario, allow_production=args.allow_production)
    console = Console(highlight=False, soft_wrap=True)  # one line per message, piped or not (80 columns when piped)
    console.print(f"[bold]plan for {escape(plan.scenario)}[/] (a dry run: nothing was changed)")
    for f in plan.faults:
        console.print(f"\n[bold]{escape(f.label)}[/] ({f.kind} on target {escape(f.target)}) at {f.when}")
        console.print(f"  would do:   {escape(f.do)}")
        console.print(f"  would undo: {escape(f.undo)}")
        for note in f.notes:
            console.print(f"  target:     {escape(note)}")
        console.print("  check:      " + ("[green]ok[/]" if f.problem is None else f"[red]{escape(f.problem)}[/]"))
    if plan.checks:
        console.print("\n[bold]steady state now[/]")
    for name, ok, detail in plan.checks:
        console.print(f"  {'[green]ok[/]' if ok else '[red]FAIL[/]'}    {escape(name)}: {escape(detail)}")
    return 0 if plan.ok else 2


def cmd_abort(args: argparse.Namespace) -> int:
    from gameday.engine.abort import abort_all

    result = abort_all(Path(args.reports), grace=args.grace)
    for pid in result.signalled:
        print(f"signalled run pid {pid} (SIGTERM: it reverts its faults)")
    failed = [r for r in result.reverted if not r.reverted]
    for r in result.reverted:
        print(f"{'reverted' if r.reverted else 'FAILED  '}  {r.fault.run_id} {r.fault.fault_id}: "
              f"{r.fault.handle.description}{'' if r.reverted else ': ' + str(r.error)}")
    if not result.signalled and not result.reverted:
        print("no live fault on this machine")
    return 3 if failed else 0


def cmd_cleanup(args: argparse.Namespace) -> int:
    from gameday.engine.cleanup import cleanup, warn_on_stderr

    if args.forget:
        return _forget(Path(args.reports), args.forget)

    warnings: list[str] = []

    def warn(message: str) -> None:
        warnings.append(message)
        warn_on_stderr(message)

    results = cleanup(Path(args.reports), include_live=args.force, warn=warn)
    if not results:
        if warnings:  # a skipped line cannot be vouched for: say what was checked, not "everything"
            print("nothing left to revert in the journal entries that could be read (see the warnings above)")
        else:
            print("nothing to clean up: every journalled fault is reverted")
        return 0
    failed = 0
    for r in results:
        what = f"{r.fault.run_id} {r.fault.fault_id}: {r.fault.handle.description}"
        if r.reverted:
            print(f"reverted  {what}")
        elif r.skipped:
            print(f"skipped   {what} ({r.error}; use --force to revert anyway)")
        else:
            failed += 1
            print(f"FAILED    {what}: {r.error}")
    _rerender([r.fault.journal.parent for r in results if not r.skipped])
    return 3 if failed else 0


def _rerender(run_dirs: list[Path]) -> None:
    """A run that already has a report gets it again, so it says who put its faults back (its timeline does)."""
    from gameday.report.render import render_run

    for run_dir in dict.fromkeys(run_dirs):
        if not (run_dir / "report.md").is_file():
            continue  # a crashed run has none yet: `gameday report` writes it from the whole timeline
        try:
            print(f"report    {render_run(run_dir)} (rendered again)")
        except Exception as exc:  # noqa: BLE001 - the reverts are done; a stale report is only a warning
            _err(f"warning: the report of {run_dir.name} was not rendered again: {type(exc).__name__}: {exc}")


def _forget(reports: Path, run_id: str) -> int:
    """A human restored what a revert could not (the container was removed, say): stop retrying it."""
    from gameday.clock import SystemClock
    from gameday.engine.journal import Journal, find_journals, scan_journal

    forgotten = 0
    for path in find_journals(reports):
        pending = [f for f in scan_journal(path).pending if f.run_id == run_id]
        if not pending:
            continue
        journal = Journal(path, run_id=run_id, clock=SystemClock())
        for fault in pending:
            journal.reverted(fault.fault_id, by="hand (gameday cleanup --forget)")
            print(f"forgotten {run_id} {fault.fault_id}: {fault.handle.description} (restore it by hand if you have not)")
            forgotten += 1
    if not forgotten:
        raise GamedayError(f"run {run_id} has no pending fault in any journal")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from gameday.report.render import render_run

    run_dir = _run_dir(args.reports, args.run_id)
    print(render_run(run_dir))
    return 0


def _run_dir(reports: str, run_id: str) -> Path:
    from gameday.cli.common import run_dir

    return run_dir(reports, run_id)


# --- parser ----------------------------------------------------------------------------------


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; given the ``argv`` it will parse, only as much of it as that needs: a command
    defined here (validate, run, ...) named first skips importing and building the other modules' commands
    (about 20 ms, a tenth of `gameday validate`). Anything else, --help included, gets every command."""
    parser = argparse.ArgumentParser(
        prog="gameday",
        description="Chaos game days: inject real faults, watch what a team would see, revert, report.",
    )
    parser.add_argument("--version", action="version", version=f"gameday {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("validate", help="check scenario files; one line per problem")
    p.add_argument("paths", nargs="+", help="scenario files or folders")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of a scenario (or, with --stack, of a stack file)")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.add_argument("--stack", action="store_true", help="the schema of a stack file (stacks/<name>.yaml)")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("run", help="run a scenario non-interactively")
    p.add_argument("scenario", help="the scenario file")
    p.add_argument("--reports", default="reports", help="folder for run reports (default: reports)")
    p.add_argument("--allow-production", action="store_true", help="allow faults on a stack marked production (logged)")
    p.add_argument("--run-id", type=arg_types.run_id, help="use this run id instead of a new one")
    p.add_argument("--facilitate", action="store_true", help="a drill with the team at one screen (gameday facilitate)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--history", type=arg_types.history, help="history database: a SQLite file or postgresql:// URL "
                                     "(default: $GAMEDAY_HISTORY or reports/history.sqlite)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("plan", help="dry run: resolve targets, check preconditions, show what would be done and undone")
    p.add_argument("scenario", help="the scenario file")
    p.add_argument("--allow-production", action="store_true")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("abort", help="stop every live run on this machine and revert every live fault")
    p.add_argument("--reports", default="reports", help="folder for run reports (default: reports)")
    p.add_argument("--grace", type=arg_types.seconds, default=15.0, help="seconds for live runs to revert before forcing it")
    p.set_defaults(func=cmd_abort)

    p = sub.add_parser("cleanup", help="revert every fault left pending by a crashed run")
    p.add_argument("--reports", default="reports", help="folder for run reports (default: reports)")
    p.add_argument("--force", action="store_true", help="also revert faults of runs that still seem alive")
    p.add_argument("--forget", metavar="RUN_ID", type=arg_types.run_id,
                   help="stop retrying this run's pending faults: a human restored them (e.g. a removed container)")
    p.set_defaults(func=cmd_cleanup)

    p = sub.add_parser("report", help="re-render a run's report from its timeline")
    p.add_argument("run_id", help="run id (a folder in --reports) or a run folder")
    p.add_argument("--reports", default="reports")
    p.set_defaults(func=cmd_report)

    if not argv or argv[0] not in sub.choices:
        _extend(sub)
    return parser


def _extend(sub: Any) -> None:
    """Commands that live in their own modules register here (each module has ``register(sub)``).

    They are part of gameday, not plugins: one missing is a broken install, and says so.
    """
    from gameday.cli import (
        alert_commands,
        ci_commands,
        cluster_commands,
        facilitate_commands,
        init_commands,
        room_commands,
        runbook_commands,
        score_commands,
        stack_commands,
    )

    for module in (stack_commands, cluster_commands, alert_commands, score_commands, runbook_commands,
                   facilitate_commands, room_commands, ci_commands, init_commands):
        module.register(sub)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except ScenarioErrors as exc:
        for line in exc.lines():
            _err(line)
        return exc.exit_code
    except GamedayError as exc:
        _err(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


def entry() -> NoReturn:
    """The ``gameday`` command as a process (its console script, ``python -m gameday``): ``main``, then out
    without the interpreter's teardown when nothing else is left to do (gameday.processexit)."""
    from gameday.processexit import leave

    try:
        code = main()
    except SystemExit as exc:  # argparse's --help and usage errors
        if not isinstance(exc.code, int | None):
            raise
        code = exc.code or 0
    leave(code)


if __name__ == "__main__":
    entry()
