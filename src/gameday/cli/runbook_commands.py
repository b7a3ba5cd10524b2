"""``gameday runbook lint | coverage | run``: check runbooks, their coverage, and follow one for real."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from gameday.cli import arg_types
from gameday.printable import printable

DEFAULT_RUNBOOKS = "runbooks"
DEFAULT_SCENARIOS = "scenarios"


def _summary(errors: int, warnings: int, files: int, what: str) -> str:
    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    return f"{n(errors, 'error')}, {n(warnings, 'warning')} in {n(files, what)}"


def cmd_lint(args: argparse.Namespace) -> int:
    from gameday.errors import GamedayError
    from gameday.runbooks.findings import count
    from gameday.runbooks.lint import LintOptions, lint_file, runbook_files

    paths = [Path(p) for p in (args.paths or [DEFAULT_RUNBOOKS])]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise GamedayError(f"no such file or folder: {', '.join(missing)}")
    files = runbook_files(paths)
    if not files:
        raise GamedayError(f"no runbooks (*.md) in {' '.join(map(str, paths))}")
    from gameday.runbooks.coverage import scenario_containers
    from gameday.scenario.loader import find_scenario_files

    scenario_dir = Path(args.scenarios or DEFAULT_SCENARIOS)
    if args.scenarios is not None and not scenario_dir.is_dir():  # only the default may be absent
        raise GamedayError(f"--scenarios {scenario_dir}: no such folder")
    known, unread = scenario_containers(find_scenario_files([scenario_dir])) if scenario_dir.is_dir() else (set(), [])
    for problem in unread:  # the runbooks are still linted; these scenarios' containers are unknown (a warning each)
        print(f"gameday: warning: {problem.one_line()} (its targets' containers are not known to lint)",
              file=sys.stderr)
    options = LintOptions(extra_containers=tuple(sorted(known | set(args.container or ()))),
                          hosts=LintOptions().hosts + tuple(args.host or ()))
    findings = []
    for path in files:
        found = lint_file(path, options)
        findings.extend(found)
        for finding in found:
            print(finding.one_line())
        if not found and not args.quiet:
            print(printable(f"{path}: ok"))
    errors, warnings = count(findings)
    warnings += len(unread)
    print(_summary(errors, warnings, len(files), "runbook"), file=sys.stderr)
    return 1 if errors or (args.strict and warnings) else 0


def cmd_coverage(args: argparse.Namespace) -> int:
    from gameday.errors import GamedayError
    from gameday.runbooks.coverage import check_coverage
    from gameday.runbooks.findings import count
    from gameday.stack.state import rules_dir

    runbooks = Path(args.runbooks)
    if not runbooks.is_dir():
        raise GamedayError(f"no runbooks folder at {runbooks}")
    rules = _yaml_files(args.rules) if args.rules else _yaml_files([str(rules_dir())])
    scenarios = _yaml_files(args.scenarios or ([DEFAULT_SCENARIOS] if Path(DEFAULT_SCENARIOS).is_dir() else []))
    report = check_coverage(runbooks, rule_files=rules, scenario_files=scenarios)
    for finding in report.findings:
        print(finding.one_line())
    if not args.quiet:
        for alert, book in sorted(report.alerts.items()):
            print(printable(f"alert     {alert:<36} -> {book or 'NONE'}"))
        for scenario, book in sorted(report.scenarios.items()):
            note = " (for people: gameday run does not follow it)" if scenario in report.people_only else ""
            print(printable(f"scenario  {scenario:<36} -> {book or 'NONE'}{note}"))
    errors, warnings = count(report.findings)
    print(_summary(errors, warnings, len(rules) + len(scenarios), "rule/scenario file"), file=sys.stderr)
    return 1 if errors or (args.strict and warnings) else 0


def _yaml_files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()))
        elif path.exists():  # a FIFO or a device too: its reader says "not a regular file"
            out.append(path)
        else:
            from gameday.errors import GamedayError

            raise GamedayError(f"no such file or folder: {path}")
    return out


def cmd_run(args: argparse.Namespace) -> int:
    """Follow a runbook now, against whatever state the stack is in, and judge it by the scenario's probes."""
    from gameday.clock import SystemClock
    from gameday.errors import GamedayError
    from gameday.runbooks.execute import execute_runbook
    from gameday.runbooks.parse import parse_file
    from gameday.scenario.loader import load_scenario
    from gameday.timeline import Timeline
    from gameday.userfiles import regular_file_problem

    path = Path(args.runbook)
    problem = regular_file_problem(path)
    if problem is not None:
        raise GamedayError(f"no runbook at {path}: {problem}")
    scenario = load_scenario(Path(args.scenario)) if args.scenario else None
    clock = SystemClock()
    stamp = clock.wall().strftime("%Y%m%dT%H%M%SZ")
    run_dir = Path(args.reports) / f"{stamp}-runbook-{path.stem}-{secrets.token_hex(2)}"
    timeline = Timeline(run_dir / "timeline.jsonl", clock)
    try:
        verdict = execute_runbook(parse_file(path), scenario=scenario, timeline=timeline, env=dict(os.environ),
                                  clock=clock, step_timeout=args.step_timeout, restore_timeout=args.restore_timeout)
    finally:
        timeline.close()
    for step in verdict.steps:
        flag = " (idle)" if step.idle else ""
        why = f": {step.reason}" if step.reason and step.outcome != "done" else ""
        print(printable(f"step {step.step:>2} {step.outcome:<7} {step.title[:60]}{flag}{why}"))
    state = "restored" if verdict.restored else "NOT restored"
    print(printable(f"{verdict.runbook}: {state} ({verdict.reason}); timeline: {run_dir / 'timeline.jsonl'}"))
    return 0 if verdict.works else 1


def register(sub: Any) -> None:
    p = sub.add_parser("runbook", help="lint runbooks, check their coverage, follow one against the stack")
    rb = p.add_subparsers(dest="runbook_command", metavar="ACTION", required=True)

    q = rb.add_parser("lint", help="file:line findings; exit 1 on errors (warnings too with --strict)")
    q.add_argument("paths", nargs="*", help=f"runbook files or folders (default: {DEFAULT_RUNBOOKS})")
    q.add_argument("--strict", action="store_true", help="warnings fail too")
    q.add_argument("--container", action="append", metavar="NAME",
                   help="a container the stack has besides the demo stack's and the scenarios' (repeatable)")
    q.add_argument("--scenarios", metavar="DIR",
                   help="the containers these scenarios' targets name are known too (default: scenarios, if there)")
    q.add_argument("--host", action="append", metavar="HOST", help="a host commands may talk to besides loopback")
    q.add_argument("-q", "--quiet", action="store_true", help="print only findings")
    q.set_defaults(func=cmd_lint)

    q = rb.add_parser("coverage", help="every alert and scenario has a runbook; every runbook serves one")
    q.add_argument("--runbooks", default=DEFAULT_RUNBOOKS, help=f"runbooks folder (default: {DEFAULT_RUNBOOKS})")
    q.add_argument("--rules", action="append", metavar="PATH",
                   help="Prometheus rule files or folders (default: the demo stack's rules)")
    q.add_argument("--scenarios", action="append", metavar="PATH",
                   help=f"scenario files or folders (default: {DEFAULT_SCENARIOS}/ if present)")
    q.add_argument("--strict", action="store_true", help="warnings fail too")
    q.add_argument("-q", "--quiet", action="store_true", help="print only findings")
    q.set_defaults(func=cmd_coverage)

    q = rb.add_parser("run", help="follow a runbook now (runs its {run} blocks) and judge it by a scenario's probes")
    q.add_argument("runbook", help="the runbook file")
    q.add_argument("--scenario", help="scenario whose steady-state probes judge the result")
    q.add_argument("--step-timeout", type=arg_types.positive_seconds, default=30.0,
                   help="seconds per step (default 30)")
    q.add_argument("--restore-timeout", type=arg_types.seconds, default=None,
                   help="seconds to wait for green probes after the steps (default: the scenario's recovers_within)")
    q.add_argument("--reports", default="reports", help="folder for the timeline (default: reports)")
    q.set_defaults(func=cmd_run)
