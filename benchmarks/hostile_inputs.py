"""Hostile input, measured end to end (issue 13): every named bad input of the tests, through the real CLI.

    python -m benchmarks.hostile_inputs            one table row per input family
    python -m benchmarks.hostile_inputs --slowest 5   also the slowest cases

Each case is one `python -m gameday ...` process, bounded at 60 s, measured for wall time and peak memory
(the child's own ru_maxrss from wait4). A case passes when it ends in under 5 s with a non-zero exit and no
traceback (or, for the cases that are handled, exit 0 and no traceback). Needs no Docker and no service; it
only reads and writes in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Case:
    family: str
    name: str
    argv: list[str]
    expect_ok: bool = False


@dataclass
class Result:
    case: Case
    seconds: float
    peak_mb: float
    code: int
    traceback: bool

    @property
    def passed(self) -> bool:
        return self.seconds < 5 and not self.traceback and ((self.code == 0) == self.case.expect_ok)


def run(case: Case, cwd: Path) -> Result:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "gameday", *case.argv], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "GAMEDAY_HISTORY": str(cwd / "h.sqlite")})
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    seconds = time.perf_counter() - start
    text = (out + err).decode("utf-8", "replace")
    return Result(case, seconds, _PEAKS.get(proc.pid, 0) / 1024, proc.returncode, "Traceback" in text)


_PEAKS: dict[int, int] = {}
"""Peak memory (ru_maxrss, kB) of each child, by pid."""


def _reap_with_usage() -> None:
    """Popen reaps its child with os.waitpid; wait4 instead keeps that child's own rusage."""

    def waitpid(pid: int, options: int) -> tuple[int, int]:
        got, status, usage = os.wait4(pid, options)
        if got:
            _PEAKS[got] = usage.ru_maxrss
        return got, status

    os.waitpid = waitpid  # type: ignore[assignment]


def cases(tmp: Path) -> Iterator[Case]:
    from tests.cli.test_hostile_args import REFUSED_BY_ARGPARSE, REFUSED_BY_THE_COMMAND
    from tests.cli.test_hostile_files import READERS
    from tests.runbooks.test_hostile_input import BAD_ATTRIBUTES, DANGEROUS, SAFE, _book
    from tests.scenario import test_hostile_scenarios, test_validate

    for module in (test_validate, test_hostile_scenarios):
        for name, text, *_ in module.BAD_INPUTS:
            path = tmp / f"s-{abs(hash(name))}.yaml"
            path.write_bytes(text if isinstance(text, bytes) else text.encode())
            yield Case("scenario files (validate)", name, ["validate", "-q", str(path)])
    big = tmp / "huge.yaml"
    with big.open("wb") as f:
        f.write(b"version: 1\n")
        f.truncate(50_000_000)
    yield Case("scenario files (validate)", "50 MB", ["validate", str(big)])
    fifo = tmp / "fifo.yaml"
    os.mkfifo(fifo)
    for name, argv in READERS:
        for special in ("/dev/zero", str(fifo)):
            yield Case("devices and FIFOs named as files", f"{name} {special}",
                       [a if a != "X" else special for a in argv])
    for name, line, _ in DANGEROUS:
        folder = tmp / f"d-{abs(hash(name))}"
        folder.mkdir()
        yield Case("runbooks (lint)", f"dangerous: {name}", ["runbook", "lint", "--scenarios", "/none",
                                                               str(_book(folder, line))])
    for name, info, _ in BAD_ATTRIBUTES:
        folder = tmp / f"a-{abs(hash(name))}"
        folder.mkdir()
        yield Case("runbooks (lint)", f"attribute: {name}", ["runbook", "lint", "--scenarios", "/none",
                                                               str(_book(folder, "true", info=info))])
    for i, line in enumerate(SAFE):
        folder = tmp / f"safe-{i}"
        folder.mkdir()
        yield Case("runbooks (lint)", f"safe: {line[:30]}", ["runbook", "lint", "-q", "--scenarios", "/none",
                                                             str(_book(folder, line))], expect_ok=True)
    for n, filler in enumerate(["a." * 120_000, "/" * 240_000, "a.a(){" * 40_000, "$(" * 120_000]):
        folder = tmp / f"long-{n}"
        folder.mkdir()
        yield Case("runbooks (lint)", f"240 kB line {filler[:6]!r}", ["runbook", "lint", "--scenarios", "/none",
                                                                      str(_book(folder, f"echo {filler}\n   rm -rf /"))])
    runbooks = str(REPO / "runbooks")
    for name, raw in (("duplicate keys", b"name: a\nname: b\n"), ("latin-1", b"name: caf\xe9\n"),
                      ("a scalar document", b"just words\n")):
        path = tmp / f"c-{abs(hash(name))}.yaml"
        path.write_bytes(raw)
        yield Case("scenarios and rules read by runbook coverage", name,
                   ["runbook", "coverage", "--runbooks", runbooks, "--scenarios", str(path)])
    yield Case("scenarios and rules read by runbook coverage", "50 MB scenario",
               ["runbook", "coverage", "--runbooks", runbooks, "--scenarios", str(big)])
    not_rules = tmp / "c-rules.yaml"
    not_rules.write_text("version: 1\nname: x\n")
    yield Case("scenarios and rules read by runbook coverage", "a scenario given as --rules",
               ["runbook", "coverage", "--runbooks", runbooks, "--rules", str(not_rules)])
    yield from _markup_cases(tmp)
    for name, argv, _ in REFUSED_BY_ARGPARSE:
        yield Case("command-line values", name, argv)
    for name, argv, _ in REFUSED_BY_THE_COMMAND:
        yield Case("command-line values", name, argv)
    yield Case("command-line values", "--history in a folder that does not exist",
               ["history", "--history", "typo/new/x.sqlite"])


def _markup_cases(tmp: Path) -> Iterator[Case]:
    import json

    from gameday.history.store import History, RunRecord

    history = History(str(tmp / "h.sqlite"))
    history.record(RunRecord(run_id="r1", scenario="[/]", started_at="2026-10-02T10:00:00Z", outcome="[/bold]",
                             passed=True, action_items=[{"text": "fix [/bold] it", "owner": "[/]", "due": "[x]"}]))
    history.close()
    run = tmp / "markup-run"
    run.mkdir()
    lines = (REPO / "tests" / "scoring" / "fixtures" / "drill-timeline.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["details"]["scenario"] = "[/]"
    (run / "timeline.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    for argv in (["history"], ["action-items"], ["action-items", "--all"], ["score", str(run)]):
        yield Case("rich markup in what was recorded", " ".join(argv[:2]), argv, expect_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slowest", type=int, default=0)
    args = parser.parse_args()
    _reap_with_usage()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases(Path(tmp)):
            results.append(run(case, Path(tmp)))
    families: dict[str, list[Result]] = {}
    for r in results:
        families.setdefault(r.case.family, []).append(r)
    print("| input family | cases | passed | slowest | peak memory | tracebacks |")
    print("|---|---|---|---|---|---|")
    for family, rs in families.items():
        print(f"| {family} | {len(rs)} | {sum(r.passed for r in rs)} | {max(r.seconds for r in rs):.2f} s | "
              f"{max(r.peak_mb for r in rs):.0f} MB | {sum(r.traceback for r in rs)} |")
    for r in sorted(results, key=lambda r: -r.seconds)[:args.slowest]:
        print(f"  {r.seconds:5.2f} s {r.peak_mb:4.0f} MB exit {r.code}  {r.case.family}: {r.case.name}")
    failed = [r for r in results if not r.passed]
    for r in failed:
        print(f"FAILED {r.case.family}: {r.case.name} (exit {r.code}, {r.seconds:.2f} s, traceback {r.traceback})")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
