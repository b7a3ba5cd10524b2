"""The full-screen facilitator in a real pseudo-terminal, read back through a terminal emulator (pyte).

What the screen must do: an inject that arrives while someone is typing goes into the feed, above, and
the input line at the bottom keeps only the question and what was typed. A tabletop touches nothing, so
no Docker is needed.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pyte
import pytest

from gameday import events as ev
from gameday.cli.drill_screen import _Status, wanted
from gameday.clock import FakeClock
from gameday.timeline import Event
from tests.facilitator.conftest import drill_scenario, dump, only_run, timeline_of

ROWS, COLUMNS = 30, 120


class Screen:
    """``gameday facilitate`` at a pseudo-terminal, its output fed to a VT100 emulator."""

    def __init__(self, *args: str, cwd: Path) -> None:
        # A terminal that can draw, whatever the environment the tests run in (CI may have no TERM at all).
        env = {**os.environ, "TERM": "xterm-256color"}
        self.child = pexpect.spawn(sys.executable, ["-m", "gameday", "facilitate", *args], cwd=str(cwd),
                                   encoding="utf-8", dimensions=(ROWS, COLUMNS), env=env)
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.Stream(self.screen)
        self.raw: list[str] = []

    def rows(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def _pump(self) -> bool:
        try:
            text = self.child.read_nonblocking(100_000, timeout=0.1)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        self.raw.append(text)
        self.stream.feed(text)
        return True

    def until(self, what: str, check: Callable[[list[str]], bool], timeout: float = 60) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alive = self._pump()
            if check(self.rows()):
                return self.rows()
            if not alive:
                break
        raise AssertionError(f"the screen never showed {what}:\n" + "\n".join(self.rows()))

    def type(self, text: str) -> None:
        self.child.send(text)

    def wait(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while self._pump() and time.monotonic() < deadline:
            pass
        self.child.expect(pexpect.EOF, timeout=max(1.0, deadline - time.monotonic()))
        self.child.close()
        return int(self.child.exitstatus if self.child.exitstatus is not None else 128 + (self.child.signalstatus or 0))

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


def _separator(rows: list[str]) -> int:
    return next(i for i, row in enumerate(rows) if row and set(row) == {"─"})


def test_an_inject_arriving_while_someone_types_goes_to_the_feed_never_into_the_input_line(tmp_path: Path) -> None:
    # At 30x the inject at T+60s comes about two real seconds into the fault phase, while "ali" is being typed.
    scenario = drill_scenario(tmp_path, container="never-started", url="http://127.0.0.1:9/", runbook=False,
                              duration="5m", injects=[{"at": "60s", "kind": "customer_report",
                                                       "source": "Customer Success", "text": "checkouts fail"}])
    term = Screen("--speed", "30", str(scenario), "--reports", "reports", cwd=tmp_path)
    try:
        term.until("the first question on the input line", lambda rows: rows[-1].startswith("Who noticed?"))
        term.type("ali")
        rows = term.until("the inject in the feed", lambda rows: any("INJECT" in row for row in rows))
        separator = _separator(rows)
        assert rows[-1] == "Who noticed?: ali", rows[-1]         # the input line: the question and the typing
        inject_row = next(i for i, row in enumerate(rows) if "INJECT" in row)
        assert 0 < inject_row < separator and "[customer_report] Customer Success: checkouts fail" in rows[inject_row]
        assert "tabletop 30x" in rows[0] and "web-drill" in rows[0]    # the status line
        term.type("ce\r")
        rows = term.until("the answer in the conversation", lambda rows: "Who noticed?: alice" in rows[separator + 1:])
        assert rows[-1].startswith("Through which signal?")
        term.type("/pause\r")
        rows = term.until("the status line paused", lambda rows: "PAUSED" in rows[0])
        assert any(re.match(r"PAUSED at T\+", row) for row in rows[1:separator]), rows   # the feed says it too
        term.type("probe\r")                                            # refused while paused
        term.until("the refusal", lambda rows: any("the drill is paused: type /resume" in row for row in rows))
        term.type("/resume\r")
        term.until("the status line running", lambda rows: "PAUSED" not in rows[0])
        term.type("probe\r")
        term.until("the next question", lambda rows: rows[-1].startswith("Who acknowledges"))
        term.type("\x03")                                               # Ctrl-C: a key in raw mode, a stop all the same
        code = term.wait()
    finally:
        term.close()
    events = timeline_of(only_run(tmp_path / "reports"))
    assert code == 130, dump(events)
    output = "".join(term.raw)
    assert "Traceback" not in output
    detected = next(e for e in events if e.kind == ev.INCIDENT_DETECTED)
    assert (detected.actor, detected.details["signal"]) == ("alice", "probe")
    assert [e.kind for e in events].count(ev.TABLETOP_PAUSED) == 1
    assert next(e for e in events if e.kind == ev.DRILL_STOPPED).details["signal"] == "SIGINT"
    # Back on the normal screen, the drill is left in the scrollback in the order it came.
    after = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.rpartition("\x1b[?1049l")[2])
    assert after.index("Who noticed?: alice") < after.index("PAUSED at T+") < after.index("interrupted (exit 130)")


class _Tty:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(("plain", "stdin", "stdout", "term", "expected"), [
    (False, True, True, "xterm", True),
    (True, True, True, "xterm", False),      # --plain
    (False, False, True, "xterm", False),    # answers from a pipe
    (False, True, False, "xterm", False),    # output to a pipe or file (CI, tests)
    (False, True, True, "dumb", False),      # a terminal that cannot draw
])
def test_the_full_screen_is_only_for_a_person_at_a_terminal(plain: bool, stdin: bool, stdout: bool, term: str,
                                                            expected: bool) -> None:
    from rich.console import Console

    console = Console(force_terminal=stdout, file=sys.stderr) if stdout else Console(file=sys.stderr,
                                                                                     force_terminal=False)
    assert wanted(plain=plain, stdin=_Tty(stdin), console=console, environ={"TERM": term}) is expected  # type: ignore[arg-type]


def _event(offset: float, kind: str, **details: object) -> Event:
    return Event(at="2026-01-01T00:00:00.000Z", offset=offset, kind=kind, details=dict(details))


def test_the_status_line_runs_scenario_time_on_between_events_stands_still_while_paused_and_says_an_update_is_due(
        ) -> None:
    clock = FakeClock()
    status = _Status(clock)
    status.follow(_event(0, ev.RUN_STARTED, scenario="web-drill", mode="tabletop", speed=30))
    status.follow(_event(5, ev.PHASE_CHANGED, phase="fault"))
    clock.advance(2)                                              # two real seconds: a scenario minute
    assert status.t() == pytest.approx(60)
    status.follow(_event(65, ev.SEVERITY_DECLARED, severity="SEV2"))
    assert status.update_due()                                    # the first update is due on declaring
    status.follow(_event(70, ev.STATUS_UPDATE_SENT, audience="internal", text="investigating"))
    assert not status.update_due()
    status.follow(_event(70, ev.TABLETOP_PAUSED, phase="investigate"))
    clock.advance(3600)
    assert status.t() == pytest.approx(65) and not status.update_due()
    assert "PAUSED" in status.line("x").plain and "web-drill" in status.line("x").plain
    status.follow(_event(70, ev.TABLETOP_RESUMED, paused_real_s=3600))
    clock.advance(60)                                             # 30 scenario minutes: SEV2's cadence
    assert status.update_due() and "status update due" in status.line("x").plain
    assert "PAUSED" not in status.line("x").plain and "(/pause)" in status.line("x").plain
