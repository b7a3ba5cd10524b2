"""The one finish step of every run: score it once, write its reports, record it in the history.

``gameday run`` (and so ``gameday ci``, which runs each scenario as ``gameday run``), ``gameday facilitate``
and the pytest plugin all end a run here, so the report, ``scorecard.json``, the history and the console
read one scorecard, scored with one context (the run's scenario copy), and can never disagree.

Nothing here prints: problems (a report or history that could not be written) are returned for the
caller to show. The run itself is over and recorded in its timeline; `gameday report` can re-render it.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gameday.errors import GamedayError
from gameday.events import FAULT_EFFECTIVE, PHASE_CHANGED

if TYPE_CHECKING:
    from gameday.scoring.scorecard import Scorecard
    from gameday.timeline import Event


@dataclass(frozen=True)
class Finished:
    run_dir: Path
    scorecard: Scorecard
    report: Path | None
    """``report.md``; None when the reports could not be written (see ``problems``)."""
    problems: list[str] = field(default_factory=list)
    """Warnings for the caller to show: the run's outcome does not change because of them."""


FINISH_MODULES = ("jinja2", "markupsafe", "gameday.report.render", "gameday.report.postmortem",
                  "gameday.report.run_inputs", "gameday.report.markdown", "gameday.history.from_run",
                  "gameday.history.store")
"""What ``finish_run`` imports (tests/test_finish.py checks that nothing else is left for it to import)."""


def prepare() -> None:
    """Import what ``finish_run`` needs (the report's modules and Jinja2, scoring, the history store).

    A run calls this in a thread of its own while its faults hold, when the process is otherwise waiting: it is
    ~75 ms of CPU that the end of the run, which the person is waiting for, then does not pay. Safe to call
    twice or not at all; a module that fails to import fails again in ``finish_run``, where it is reported.
    """
    for name in FINISH_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - whatever it is, finish_run meets it again and says so
            return


def prepare_in_background() -> Callable[[Event], None]:
    """A timeline listener that starts ``prepare`` in a daemon thread once a fault has taken effect (or, for a
    fault whose effect was not seen, once recovery begins): after the fault's first moments, whose timing the
    record measures (``fault.effective``), and while the process otherwise waits for the fault to end."""
    started = threading.Event()

    def listener(event: Event) -> None:
        begins = event.kind == FAULT_EFFECTIVE or (
            event.kind == PHASE_CHANGED and event.details.get("phase") == "recovery")
        if begins and not started.is_set():
            started.set()
            threading.Thread(target=prepare, name="finish-prepare", daemon=True).start()

    return listener


def finish_run(run_dir: Path, *, history: str | None = None, record: bool = True) -> Finished:
    """Score the run once, write ``report.md``, ``report.html`` and ``scorecard.json``, and (``record``)
    add it to the history (``history``: a SQLite file or postgresql:// URL; None: $GAMEDAY_HISTORY or
    reports/history.sqlite)."""
    from gameday.report.postmortem import build_postmortem
    from gameday.report.render import write_reports
    from gameday.report.run_inputs import scoring_context
    from gameday.timeline import read_timeline

    events = read_timeline(run_dir / "timeline.jsonl")
    if not events:
        raise GamedayError(f"{run_dir / 'timeline.jsonl'} is empty: nothing to report")
    postmortem = build_postmortem(events, scoring_context(run_dir))
    problems: list[str] = []
    report: Path | None
    try:
        report = write_reports(run_dir, events, postmortem)
    except Exception as exc:  # noqa: BLE001 - the record is safe in the timeline; `gameday report` retries
        report = None
        problems.append(f"the report could not be written ({type(exc).__name__}: {exc}); the timeline is "
                        f"complete: try `gameday report {run_dir.name}`")
    if record:
        problem = record_history(run_dir, events, postmortem.scorecard, history)
        if problem:
            problems.append(problem)
    return Finished(run_dir, postmortem.scorecard, report, problems)


def record_history(run_dir: Path, events: list[Event], card: Scorecard, url: str | None) -> str | None:
    """Add the run to the history; a history that cannot be written is a warning (returned), not a failed run."""
    from gameday.history.from_run import record_from_run
    from gameday.history.store import History

    try:
        history = History(url)
        try:
            history.record(record_from_run(run_dir, events, card))
        finally:
            history.close()
    except GamedayError as exc:
        return f"warning: run not recorded in the history: {exc}"
    except Exception as exc:  # noqa: BLE001 - sqlite3/psycopg errors: the run itself is done and reported
        return f"warning: run not recorded in the history: {type(exc).__name__}: {exc}"
    return None
