"""A tabletop stopped with Ctrl-C at a prompt after its fault window: interrupted (exit 130) everywhere.

The console, the timeline's run.finished, report.md, report.html and the history all say interrupted, and
the overall rating says the drill is incomplete, with the phases it reached, instead of a rating computed
from the one phase it reached. A tabletop touches nothing, so no Docker is needed.
"""

from __future__ import annotations

import re
from pathlib import Path

from gameday.history.store import History
from tests.conftest import wait_for
from tests.facilitator.conftest import Terminal, drill_scenario, dump, only_run, timeline_of


def test_ctrl_c_at_the_acknowledge_prompt_after_the_fault_window_is_interrupted_and_incomplete(tmp_path: Path) -> None:
    # 30 s of scenario time at 30x: the simulated fault window is over about a second after it began.
    scenario = drill_scenario(tmp_path, container="never-started", url="http://127.0.0.1:9/", runbook=False,
                              duration="30s", injects=[])
    history = tmp_path / "history.sqlite"
    term = Terminal("facilitate", "--speed", "30", str(scenario), "--reports", "reports", "--history", str(history),
                    cwd=tmp_path)
    try:
        term.answer("Who noticed", "alice")
        term.answer("Through which signal", "probe")
        term.expect("Who acknowledges")
        reports = tmp_path / "reports"
        wait_for(lambda: '"recovery.met"' in (only_run(reports) / "timeline.jsonl").read_text(), timeout=60)
        term.child.sendintr()                                    # Ctrl-C: nobody acknowledged, no severity
        code = term.wait(60)
    finally:
        term.close()
    run_dir = only_run(tmp_path / "reports")
    events = timeline_of(run_dir)
    assert code == 130, dump(events)
    assert "Traceback" not in term.output
    console = re.sub(r"\x1b\[[0-9;]*m", "", term.output)
    assert "interrupted (exit 130)" in console and "passed" not in console
    stopped = next(e for e in events if e.kind == "drill.stopped")
    assert (stopped.details["signal"], stopped.details["phase"]) == ("SIGINT", "detect")
    assert [e.kind for e in events].count("fault.reverted") == 1    # the simulated fault was put back once
    assert events[-1].kind == "run.finished"
    assert (events[-1].details["outcome"], events[-1].details["exit_code"]) == ("interrupted", 130)

    report = (run_dir / "report.md").read_text()
    assert "| Outcome | **interrupted** (exit 130) |" in report
    assert "| Overall rating | **incomplete** (stopped before it finished) |" in report
    # Detection is the one capability reached (its rating depends on how fast the prompts were answered).
    assert re.search(r"\*\*Overall: incomplete\*\*: the drill stopped before it finished \(SIGINT in the detect "
                     r"phase\); phases reached: detect; rated so far: Detection [PSM]; the other 7 not reached", report)
    assert re.search(r"It was detected by a probe after \d+ s and not yet acknowledged\. "
                     r"No severity was declared before the drill stopped\. "
                     r"The drill stopped before it finished \(SIGINT in the detect phase; phases reached: detect\): "
                     r"later steps are not reached, not failed\.", report), report
    html = (run_dir / "report.html").read_text()
    assert 'id="overall-rating">incomplete<' in html and "<strong>interrupted</strong> (exit 130)" in html

    database = History(str(history))
    try:
        (recorded,) = database.runs()
    finally:
        database.close()
    assert (recorded.outcome, recorded.exit_code, recorded.passed) == ("interrupted", 130, False)
    assert recorded.scores["overall"] == "incomplete"
