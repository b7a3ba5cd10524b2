"""What several commands share: the error line, finding a run folder, checking plugins before a run, and
ending a run (the one finish step, gameday.finish, shown on the console).

Command modules import this, never ``cli.main``: main builds the parser from them, so they sit below it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gameday.errors import GamedayError

if TYPE_CHECKING:
    from gameday.finish import Finished


def err(message: str) -> None:
    """One ``gameday: error:`` line on stderr (escaped and bounded: it may quote a scenario or a runbook)."""
    from gameday.printable import printable

    sys.stderr.write(f"gameday: error: {printable(message)}\n")


def write_output(text: str, output: str | None) -> None:
    """Write a generated file (a schema, a stack file) to ``output``, or to standard output without one."""
    if not output:
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GamedayError(f"cannot write {output}: {exc.strerror or exc}") from None


def run_dir(reports: str, run_id: str) -> Path:
    """The folder of a run: a run id in ``reports``, or a run folder itself."""
    for candidate in (Path(run_id), Path(reports) / run_id):
        try:
            if (candidate / "timeline.jsonl").is_file():
                return candidate
        except OSError:  # a name too long for the filesystem: no such run either
            pass
    raise GamedayError(f"no run '{run_id}' (looked for {Path(reports) / run_id}/timeline.jsonl)")


def check_report_sections() -> None:
    """Load the report sections now: a broken one is one line before the run, not a lost report after it."""
    from gameday.plugins import report_sections

    report_sections()


def finish(run_dir: Path, *, history: str | None, console: Any | None = None) -> Finished:
    """The one finish step (score once, reports, history); its warnings go to stderr."""
    from gameday.finish import finish_run

    finished = finish_run(run_dir, history=history)
    for problem in finished.problems:
        if console is not None:
            from gameday.printable import markup_safe

            console.print(f"[red]{markup_safe(problem)}[/]", highlight=False)
        else:
            err(problem)
    return finished
