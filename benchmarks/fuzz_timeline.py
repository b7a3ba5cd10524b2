"""Mutation fuzz of a real timeline: every single-field change of one event of each kind, fed to `gameday score`
and `gameday report` in-process. Prints each crash site (the innermost gameday frame) with how many cases hit it,
the slow cases, and the totals.

    python -m benchmarks.fuzz_timeline [--limit N] [--timeout 10]

Memory is capped (RLIMIT_AS, 2 GiB) so a runaway case is a MemoryError here instead of a machine in trouble.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import shutil
import signal
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path

from gameday.cli.main import main
from tests.timeline_mutations import mutations, structural


class Hung(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hung()


def site(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/gameday/" in f.filename]
    where = frames[-1] if frames else traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__} at {where.filename.split('/src/')[-1]}:{where.lineno} ({where.name})"


def run(argv: list[str], timeout: int) -> tuple[int | None, str, float, BaseException | None]:
    out, err = io.StringIO(), io.StringIO()
    signal.alarm(timeout)
    started = time.monotonic()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
        return code, err.getvalue(), time.monotonic() - started, None
    except (Exception, Hung, SystemExit) as exc:  # noqa: BLE001 - a crash is what we count
        return None, err.getvalue(), time.monotonic() - started, exc
    finally:
        signal.alarm(0)


def main_fuzz() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--timeout", type=int, default=10)
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    signal.signal(signal.SIGALRM, _alarm)
    cases = [*structural(), *mutations()]
    if args.limit:
        cases = cases[: args.limit]
    crashes: dict[str, list[str]] = defaultdict(list)
    outcomes: Counter[str] = Counter()
    slow: list[tuple[float, str]] = []
    multi_line: list[str] = []
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            folder = Path(tmp) / "run"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            (folder / "timeline.jsonl").write_text(case.text, encoding="utf-8", errors="surrogateescape")
            for command in ("score", "report"):
                code, err, took, exc = run([command, str(folder)], args.timeout)
                worst = max(worst, took)
                if took > 5:
                    slow.append((took, f"{command} {case.name}"))
                if exc is not None:
                    crashes[site(exc)].append(f"{command} {case.name}")
                    outcomes["crash"] += 1
                elif code == 0:
                    outcomes["ok"] += 1
                else:
                    outcomes["refused"] += 1
                    if err.count("\n") != 1:
                        multi_line.append(f"{command} {case.name}: {err!r}"[:300])
    print(f"{len(cases)} timelines, {sum(outcomes.values())} commands: {dict(outcomes)}; slowest {worst:.2f} s")
    print(f"{len(crashes)} crash sites:")
    for where, names in sorted(crashes.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(names):4d}  {where}   e.g. {names[0]}")
    for took, name in sorted(slow, reverse=True)[:20]:
        print(f"  slow {took:.1f} s: {name}")
    for line in multi_line[:20]:
        print(f"  not one line: {line}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")
    return 1 if crashes or slow or multi_line else 0


if __name__ == "__main__":
    raise SystemExit(main_fuzz())
