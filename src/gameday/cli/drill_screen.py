"""The facilitator's full-screen terminal: the live feed above, the conversation below it, one input line.

    ┌ status: drill, mode, T+ (scenario time), PAUSED, fault live/over, update due, alerts, red probes ┐
    │ feed: injects, alerts, escalations, probe changes, status update due, pauses, harness phases     │
    ├─────────────────────────────────────────────────────────────────────────────────────────────┤
    │ conversation: the facilitator's headings, tables, questions and the answers given            │
    └ input: the question being asked, and what is typed (never written into by the feed)        ┘

Built on prompt_toolkit (docs/decisions.md: chosen over Textual and rich's Live by measurement). Its
application runs in a background thread with its own event loop, so the facilitator's script, the
engine and the signal handling stay as they are in the main thread: the script prints to ``console``
and reads answers through ``console.input`` as in the line-by-line mode, and the feed is a timeline
listener. Ctrl-C sends the process SIGINT (the terminal is in raw mode, so the key would not), so it
stops a drill exactly as in the line-by-line mode; Ctrl-D on an empty line is end of input.

When the screen closes, the whole conversation and feed are printed in the order they came, so the
terminal's scrollback holds the drill as the line-by-line mode would have left it.
"""

from __future__ import annotations

import asyncio
import io
import os
import queue
import signal
import sys
import threading
from typing import IO, Any, Self

from prompt_toolkit.application import Application
from prompt_toolkit.data_structures import Point
from prompt_toolkit.formatted_text import ANSI, StyleAndTextTuples, to_formatted_text
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.layout import HSplit, Layout, Window
from prompt_toolkit.layout.controls import FormattedTextControl
from prompt_toolkit.layout.dimension import Dimension
from prompt_toolkit.output import Output
from prompt_toolkit.widgets import TextArea
from rich.console import Console
from rich.text import Text

from gameday import events as ev
from gameday.clock import Clock, SystemClock
from gameday.errors import GamedayError
from gameday.facilitator.session import describe_event
from gameday.facilitator.severity import status_update_due
from gameday.scenario.durations import format_duration
from gameday.scoring.severity import table_for
from gameday.timeline import Event

_CADENCE_KINDS = frozenset({ev.RUN_STARTED, ev.SEVERITY_DECLARED, ev.STATUS_UPDATE_SENT, ev.INCIDENT_RESOLVED})

KEEP_LINES = 2000
"""Lines each pane keeps on screen (the transcript printed at the end keeps all)."""

_EOF = object()
_INTERRUPT = object()


class _Pane:
    """A file for a rich Console: complete lines are kept (as ANSI) and shown; a partial line waits."""

    def __init__(self, screen: DrillScreen) -> None:
        self.screen = screen
        self.lines: list[str] = []
        self._partial = ""
        self._shown = 0
        self._cache_key: tuple[int, str] = (-1, "")
        self._cache: StyleAndTextTuples = []

    def write(self, text: str) -> int:
        *done, self._partial = (self._partial + text).split("\n")
        if done:
            self.screen._add(self, done)
        return len(text)

    def flush(self) -> None:
        return None

    def take_partial(self) -> str:
        partial, self._partial = self._partial, ""
        return partial

    def formatted(self) -> StyleAndTextTuples:
        # One snapshot per redraw: the lines may grow (other threads) between this call and cursor().
        shown = self.lines[-KEEP_LINES:]
        key = (len(self.lines), shown[-1] if shown else "")
        if key != self._cache_key:  # parsed again only when a line came (the screen redraws twice a second)
            self._cache_key, self._cache = key, to_formatted_text(ANSI("\n".join(shown)))
            self._shown = len(shown)
        return self._cache

    def cursor(self) -> Point:
        # The cursor on the last line shown makes the window scroll to the newest lines.
        return Point(x=0, y=max(0, self._shown - 1))


class _ScreenConsole(Console):
    """The conversation's console: ``input`` shows the question on the input line and waits for Enter."""

    def __init__(self, screen: DrillScreen, pane: _Pane, **kwargs: Any) -> None:
        super().__init__(file=pane, **kwargs)  # type: ignore[arg-type]
        self.drill_screen = screen  # not .screen: rich's Console has a screen() method
        self.pane = pane

    def input(self, prompt: Any = "", *, markup: bool = True, emoji: bool = True, password: bool = False,
              stream: Any = None) -> str:
        self.drill_screen._fit(self)
        if prompt:
            self.print(prompt, markup=markup, emoji=emoji, end="")
        question = self.pane.take_partial()
        answer = self.drill_screen._wait_answer(question)
        # The question and its answer go into the conversation as one line, as a terminal would show them.
        self.pane.write(question + ("*" * len(answer) if password else answer) + "\n")
        return answer


class DrillScreen:
    """A context manager: while open, ``console`` is the conversation and ``on_event`` the feed."""

    def __init__(self, *, title: str, clock: Clock | None = None, app_input: Input | None = None,
                 app_output: Output | None = None, stdout: IO[str] | None = None) -> None:
        self.title = title
        self.clock = clock or SystemClock()
        self._stdout = stdout or sys.stdout
        self._lock = threading.Lock()
        self._transcript: list[str] = []
        self._answers: queue.Queue[object] = queue.Queue()
        self._question = ""
        self._feed = _Pane(self)
        self._talk = _Pane(self)
        self._feed_console = Console(file=self._feed, force_terminal=True, highlight=False, width=200)  # type: ignore[arg-type]
        self.console: Console = _ScreenConsole(self, self._talk, force_terminal=True, highlight=False, width=100)
        self._status = _Status(self.clock)
        self._probes: dict[str, bool] = {}
        self._due_said = False
        self._input_field = TextArea(height=1, multiline=False, prompt=self._prompt, accept_handler=self._accept,
                                     focus_on_click=True)
        self.app: Application[None] = Application(
            layout=Layout(HSplit([
                Window(FormattedTextControl(self._status_line), height=1, style="reverse"),
                Window(FormattedTextControl(self._feed.formatted, get_cursor_position=self._feed.cursor),
                       height=Dimension(min=3, weight=1), wrap_lines=True),
                Window(height=1, char="─", style="fg:ansibrightblack"),
                Window(FormattedTextControl(self._talk.formatted, get_cursor_position=self._talk.cursor),
                       height=Dimension(min=3, weight=2), wrap_lines=True),
                self._input_field,
            ]), focused_element=self._input_field),
            key_bindings=self._keys(), full_screen=True, refresh_interval=0.5, input=app_input,
            output=app_output, erase_when_done=True)
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self.error: BaseException | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._run, name="gameday-screen", daemon=True)
        self._thread.start()
        self._running.wait(10)
        if self.error is not None:
            raise GamedayError(f"the full-screen terminal could not start ({self.error}); "
                               "run with --plain for line-by-line output")
        self._fit(self.console)
        self._fit(self._feed_console)
        return self

    def _run(self) -> None:
        def started() -> None:
            self._running.set()

        try:
            asyncio.run(self.app.run_async(pre_run=started, handle_sigint=False))
        except BaseException as exc:  # noqa: BLE001 - the main thread reports it; input() sees end of input
            self.error = exc
        finally:
            self._running.set()
            self._answers.put(_EOF)

    def __exit__(self, *exc: object) -> None:
        if self.app.is_running and self.app.loop is not None:
            self.app.loop.call_soon_threadsafe(self.app.exit)
        if self._thread is not None:
            self._thread.join(timeout=10)
        # Back on the normal screen: leave the drill in the scrollback, in the order it came.
        with self._lock:
            text = "\n".join(self._transcript)
        if text:
            self._stdout.write(text + "\n")
        if self.error is not None:
            # The drill stopped as at end of input; say why, the way the CLI says any error.
            self._stdout.write(f"the full-screen terminal failed: {self.error}\n")
        self._stdout.flush()

    # --- the two panes --------------------------------------------------------------------------

    def _add(self, pane: _Pane, lines: list[str]) -> None:
        with self._lock:
            pane.lines.extend(lines)
            if len(pane.lines) > 2 * KEEP_LINES:
                del pane.lines[:-KEEP_LINES]
            self._transcript.extend(lines)
        self.app.invalidate()

    def _fit(self, console: Console) -> None:
        """Render the conversation at the terminal's width (it may have been resized)."""
        if self.app.is_running:
            console.width = max(20, self.app.output.get_size().columns)

    def on_event(self, event: Event) -> None:
        """The timeline listener: the status line follows every event; the feed gets the notable ones."""
        self._status.follow(event)
        line = describe_event(event)
        if event.kind == ev.PROBE_CHECKED:
            line = self._probe_change(event)
        elif event.kind == ev.TABLETOP_PAUSED:
            line = f"[bold yellow]PAUSED[/] at T+{format_duration(self._status.t())}"
        elif event.kind == ev.TABLETOP_RESUMED:
            line = f"[bold green]RESUMED[/] at T+{format_duration(self._status.t())}"
        if line is not None:
            self._fit(self._feed_console)
            self._feed_console.print(line, highlight=False)
        else:
            self.app.invalidate()

    def _probe_change(self, event: Event) -> str | None:
        name, ok = str(event.details.get("probe")), bool(event.details.get("ok"))
        before = self._probes.get(name)
        self._probes[name] = ok
        self._status.probes_red = sorted(n for n, good in self._probes.items() if not good)
        if before == ok or (before is None and ok):  # a change, or a probe red from the start
            return None
        why = f" ({event.details.get('error')})" if not ok and event.details.get("error") else ""
        return f"[{'green' if ok else 'red'}]probe {name} is {'green' if ok else 'red'}[/]{why}"

    def _status_line(self) -> StyleAndTextTuples:
        due = self._status.update_due()
        if due and not self._due_said:
            # Due by the clock, not by an event: said in the feed when it becomes due, once per period.
            self._feed_console.print(f"[bold yellow]STATUS UPDATE DUE[/] at T+{format_duration(self._status.t())}",
                                     highlight=False)
        self._due_said = due
        return to_formatted_text(ANSI(_render(self._status.line(self.title), width=self._columns())))

    def _columns(self) -> int:
        return self.app.output.get_size().columns if self.app.is_running else 100

    # --- the input line ---------------------------------------------------------------------------

    def _prompt(self) -> StyleAndTextTuples:
        return to_formatted_text(ANSI(self._question or "> "))

    def _accept(self, buffer: Any) -> bool:
        self._answers.put(buffer.text)
        return False  # the line is cleared for the next answer

    def _wait_answer(self, question: str) -> str:
        self._question = question
        self.app.invalidate()
        try:
            while True:
                try:
                    # A short wait, so a signal (SIGTERM, Ctrl-C) is handled in the main thread promptly.
                    answer = self._answers.get(timeout=0.25)
                except queue.Empty:
                    continue
                if answer is _EOF:
                    raise EOFError
                if answer is _INTERRUPT:
                    raise KeyboardInterrupt
                return str(answer)
        finally:
            self._question = ""
            self.app.invalidate()

    def _keys(self) -> KeyBindings:
        keys = KeyBindings()

        @keys.add("c-c")
        def _interrupt(event: KeyPressEvent) -> None:
            # Raw mode turns Ctrl-C into a key; the drill's own SIGINT handling does the rest.
            os.kill(os.getpid(), signal.SIGINT)

        @keys.add("c-d")
        def _end(event: KeyPressEvent) -> None:
            if not self._input_field.text:
                self._answers.put(_EOF)

        return keys


class _Status:
    """What the status line says, followed from the timeline; T+ runs on between events unless paused."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.name = ""
        self.mode = "live"
        self.speed = 1.0
        self.harness_phase = "starting"
        self.phase = ""
        self.fault_start: float | None = None
        self.faults: set[str] = set()
        self.fault_seen = False
        self.alerts: set[str] = set()
        self.probes_red: list[str] = []
        self.paused = False
        self.cadence_events: list[Event] = []
        """What says when a status update is due (the severity table, declarations, updates, the all-clear)."""
        self._last_t = 0.0
        self._last_real = clock.monotonic()

    def follow(self, event: Event) -> None:
        d = event.details
        if event.kind in _CADENCE_KINDS:
            self.cadence_events.append(event)
        match event.kind:
            case ev.RUN_STARTED:
                self.name = str(d.get("scenario") or "")
                self.mode = "tabletop" if d.get("mode") == "tabletop" else "live"
                self.speed = float(d.get("speed") or 1.0)
            case ev.PHASE_CHANGED:
                self.harness_phase = str(d.get("phase"))
                if d.get("phase") == "fault" and self.fault_start is None:
                    self.fault_start = event.offset
            case ev.DRILL_PHASE:
                self.phase = str(d.get("phase"))
            case ev.FAULT_INJECTED:
                self.faults.add(str(d.get("fault")))
                self.fault_seen = True
            case ev.FAULT_REVERTED | ev.REVERT_FAILED:
                self.faults.discard(str(d.get("fault")))
            case ev.ALERT_FIRING:
                self.alerts.add(str(d.get("alertname")))
            case ev.ALERT_RESOLVED:
                self.alerts.discard(str(d.get("alertname")))
            case ev.TABLETOP_PAUSED:
                self.paused = True
            case ev.TABLETOP_RESUMED:
                self.paused = False
        if self.fault_start is not None:
            self._last_t = event.offset - self.fault_start
            self._last_real = self.clock.monotonic()

    def t(self) -> float:
        """Scenario seconds since the fault phase began, run on from the last event (frozen while paused)."""
        if self.paused or self.fault_start is None:
            return max(0.0, self._last_t)
        return max(0.0, self._last_t + (self.clock.monotonic() - self._last_real) * self.speed)

    def update_due(self) -> bool:
        """A status update is due by the declared severity's cadence (severity.py, as the prompts use it)."""
        if self.fault_start is None:
            return False
        events = list(self.cadence_events)
        due = status_update_due(events, fault_start=self.fault_start, now=self.fault_start + self.t(),
                                table=table_for(events))
        return due is not None

    def line(self, title: str) -> Text:
        parts = Text.assemble((" gameday drill ", "bold"), (self.name or title, "bold"), "  ")
        parts.append(f"tabletop {self.speed:g}x" if self.mode == "tabletop" else "LIVE: a real fault")
        if self.fault_start is None:
            parts.append(f"  {self.harness_phase}...")
        else:
            parts.append(f"  T+{format_duration(self.t())}")
            if self.phase:
                parts.append(f"  {self.phase}")
        if self.paused:
            parts.append("  PAUSED (/resume)", style="bold yellow")
        elif self.mode == "tabletop" and self.fault_start is not None:
            parts.append("  (/pause)", style="dim")
        if self.fault_seen:
            parts.append("  fault: " + ("live" if self.faults else "over"),
                         style="bold red" if self.faults else "green")
        if self.update_due():
            parts.append("  status update due", style="bold yellow")
        if self.alerts:
            parts.append(f"  alerts: {', '.join(sorted(self.alerts))}", style="bold red")
        if self.probes_red:
            parts.append(f"  red probes: {', '.join(self.probes_red)}", style="red")
        return parts


def _render(text: Text, *, width: int) -> str:
    """A rich Text as one line of ANSI, cut to the width."""
    out = io.StringIO()
    Console(file=out, force_terminal=True, width=max(20, width), highlight=False).print(
        text, end="", no_wrap=True, overflow="ellipsis", crop=True)
    return out.getvalue()


def wanted(*, plain: bool, stdin: IO[str], console: Console, environ: dict[str, str]) -> bool:
    """The full screen is for a person at a terminal: both ends a tty, a terminal that can draw, not --plain."""
    return (not plain and console.is_terminal and stdin.isatty() and environ.get("TERM", "dumb") != "dumb")

