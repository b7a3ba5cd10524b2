"""The interactive facilitator in a real terminal (pexpect), through whole drills on a real container."""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import Any

import pytest

from gameday.events import HUMAN_KINDS
from tests.conftest import http_ok, wait_for
from tests.facilitator.conftest import Terminal, drill_scenario, dump, kinds, only_run, timeline_of

pytestmark = pytest.mark.docker


def _state(container: Any) -> dict[str, Any]:
    container.reload()
    return container.attrs["State"]


def test_a_whole_drill_with_bad_answers_re_asked(tmp_path: Path, web_container) -> None:
    """Detect -> triage -> communicate -> investigate -> runbook -> refused all-clear -> all-clear -> review."""
    web = web_container()
    # The team calls its top two levels P1 and P2: the prompt, the parser and /sev use those names.
    scenario = drill_scenario(tmp_path, container=web.name, url=web.url, duration="60s",
                              severities={"SEV1": {"name": "P1"}, "SEV2": {"name": "P2"}})
    term = Terminal("facilitate", str(scenario), "--reports", "reports", cwd=tmp_path)
    try:
        term.answer("Who noticed", "")                       # empty: re-asked
        term.expect("an answer is needed here")
        term.answer("Who noticed", "alice")
        term.answer("Through which signal", "pager")         # unknown signal: re-asked
        term.expect("unknown signal 'pager'")
        term.answer("Through which signal", "customer")
        term.answer("Who acknowledges", "bob")
        term.answer(re.escape("Severity (P1, P2, SEV3 or SEV4)"), "SEV9")  # no such severity: re-asked
        term.expect("unknown severity 'SEV9': choose P1, P2, SEV3 or SEV4")
        term.answer("Severity", "p2")
        term.answer("Role to assign", "done")                # no IC yet: refused
        term.expect("assign an incident commander before moving on")
        term.answer("Role to assign", "boss")                # unknown role: re-asked
        term.expect("unknown role 'boss'")
        term.answer("Role to assign", "ic")
        term.answer("Who is the incident commander", "carol")
        term.answer("Role to assign", "comms")
        term.answer("Who is the communications lead", "dave")
        term.answer("Role to assign", "done")
        term.answer("Audience", "")                          # default: internal
        term.answer("> ", "Checkout is failing for all customers.")
        term.answer("> ", "Investigating; next update in 30 min.")
        term.answer("> ", "")
        term.answer("Hypothesis", "the web container died")
        term.answer("Hypothesis", "/sev SEV9")               # a re-declaration with a bad severity: said, ignored
        term.expect("unknown severity 'SEV9'")
        term.answer("Hypothesis", "/sev 1")                  # upgraded: when unsure, the higher one
        term.answer("Hypothesis", "")
        term.answer("Step 1 outcome", "run")
        term.answer("Run this command now", "y")
        term.expect("exited")                                # the container is down: the fault is live
        term.answer("Step 2 outcome", "maybe")               # unknown outcome: re-asked
        term.answer("Step 2 outcome", "skipped")             # the fix is not made yet: the all-clear is refused
        term.answer("Step 3 outcome", "done")
        term.answer("Is the impact halted", "y")
        term.answer("Press Enter to check", "")
        term.answer("Action taken meanwhile", "started the container by hand")
        web.container.start()                                # what that person did
        wait_for(lambda: http_ok(web.url))
        term.answer("Press Enter to check", "")
        term.answer("Who declares the all-clear", "")        # default: the incident commander
        term.answer("Who confirms it", "carol")              # the same person: refused
        term.expect("needs a second person")
        term.answer("Who confirms it", "bob")
        term.answer("  1", "the customer report came in fast")
        term.answer("  2", "")
        term.answer("  1", "nobody ran the restart step")
        term.answer("  2", "")
        term.answer("  1", "")
        term.answer("Root cause", "the web container was killed and nothing restarts it")
        term.answer("Action item 1", "add a restart policy")
        term.answer("Owner", "bob")
        term.answer("Due date", "next week")                 # not a date: re-asked
        term.expect("not a date")
        term.answer("Due date", "2026-12-01")
        term.answer("Action item 2", "")
        code = term.wait(60)
    finally:
        term.close()
    assert "Traceback" not in term.output
    events = timeline_of(only_run(tmp_path / "reports"))
    assert code == 0, dump(events)
    people_side = [e for e in events if e.kind in HUMAN_KINDS]
    assert len(people_side) > 20 and all(e.details.get("drill") is True and "t_s" in e.details for e in people_side)
    order = kinds(events, "incident.detected", "incident.acknowledged", "severity.declared", "status_update.sent",
                  "hypothesis.noted", "incident.mitigated", "all_clear.refused", "incident.resolved",
                  "review.recorded", "drill.finished", "run.finished")
    assert order[:7] == ["incident.detected", "incident.acknowledged", "severity.declared", "status_update.sent",
                         "hypothesis.noted", "severity.declared", "incident.mitigated"], order
    assert order[-4:] == ["incident.resolved", "review.recorded", "drill.finished", "run.finished"]
    assert order.count("all_clear.refused") == 1
    # The accepted all-clear ended the 60 s fault window early; the harness's revert found it running.
    assert "fault_phase.ended" in kinds(events)
    assert next(e for e in events if e.kind == "fault.reverted").details["duration_s"] < 50
    by_kind = {e.kind: e for e in events}
    assert by_kind["run.started"].details["drill"] is True
    assert by_kind["incident.detected"].details["signal"] == "customer_report"
    assert by_kind["incident.detected"].actor == "alice"
    assert [e.details["severity"] for e in events if e.kind == "severity.declared"] == ["SEV2", "SEV1"]
    roles = [(e.details["role"], e.details["person"]) for e in events if e.kind == "role.assigned"]
    assert roles == [("incident_commander", "carol"), ("communications", "dave")]
    assert by_kind["status_update.sent"].details["text"] == \
        "Checkout is failing for all customers.\nInvestigating; next update in 30 min."
    assert by_kind["status_update.sent"].actor == "dave"
    steps = [(e.details["step"], e.details["outcome"], e.details["exit_code"]) for e in events if e.kind == "runbook.step"]
    assert steps == [(1, "done", 0), (2, "skipped", None), (3, "done", None)]
    assert "exited" in next(e for e in events if e.kind == "runbook.step").details["output"]
    assert "probe web" in next(e for e in events if e.kind == "all_clear.refused").details["reason"] or \
        "web:" in next(e for e in events if e.kind == "all_clear.refused").details["reason"]
    assert by_kind["incident.resolved"].details["confirmed_by"] == "bob"
    review = by_kind["review.recorded"].details
    assert review["went_well"] == ["the customer report came in fast"]
    assert review["went_poorly"] == ["nobody ran the restart step"] and review["got_lucky"] == []
    assert review["action_items"] == [{"text": "add a restart policy", "owner": "bob", "due": "2026-12-01"}]
    released = [e.details["inject"] for e in events if e.kind == "inject.released"]
    assert released == ["inject-1", "inject-2"]
    assert by_kind["run.finished"].details["outcome"] == "passed"
    assert _state(web.container)["Status"] == "running" and http_ok(web.url)


def test_sigterm_at_a_prompt_stops_the_drill_and_reverts_the_fault(tmp_path: Path, web_container) -> None:
    web = web_container()
    scenario = drill_scenario(tmp_path, container=web.name, url=web.url, duration="60s", runbook=False)
    term = Terminal("run", "--facilitate", str(scenario), "--reports", "reports", cwd=tmp_path)  # = facilitate
    try:
        term.expect("Who noticed")
        wait_for(lambda: _state(web.container)["Status"] != "running", timeout=60)  # the fault is live
        term.child.kill(signal.SIGTERM)
        code = term.wait(30)
    finally:
        term.close()
    events = timeline_of(only_run(tmp_path / "reports"))
    assert code == 130, dump(events)
    assert "Traceback" not in term.output
    stopped = [e for e in events if e.kind == "drill.stopped"]
    assert stopped and stopped[0].details["signal"] == "SIGTERM" and stopped[0].details["phase"] == "detect"
    assert "fault.reverted" in kinds(events)
    assert events[-1].kind == "run.finished" and events[-1].details["outcome"] == "interrupted"
    assert _state(web.container)["Status"] == "running"


def test_a_drill_resumes_after_its_process_is_killed(tmp_path: Path, web_container) -> None:
    """SIGKILL mid-fault; --resume reverts what was left and asks only what the timeline has not answered."""
    web = web_container()
    scenario = drill_scenario(tmp_path, container=web.name, url=web.url, duration="60s", runbook=False,
                              injects=[{"at": "1s", "text": "first"}, {"at": "3m", "text": "much later"}])
    term = Terminal("facilitate", str(scenario), "--reports", "reports", cwd=tmp_path)
    try:
        term.answer("Who noticed", "alice")
        term.answer("Through which signal", "probe")
        term.answer("Who acknowledges", "bob")
        term.answer("Severity", "SEV1")
        term.answer("Role to assign", "ic")
        term.answer("Who is the incident commander", "carol")
        term.answer("Role to assign", "done")
        term.answer("Audience", "executive")
        term.answer("> ", "Checkout is down; we are on it.")
        term.answer("> ", "")
        term.answer("Hypothesis", "the container died")
        term.expect("Hypothesis")
        wait_for(lambda: "inject.released" in (only_run(tmp_path / "reports") / "timeline.jsonl").read_text())
        wait_for(lambda: _state(web.container)["Status"] != "running", timeout=60)
        term.child.kill(signal.SIGKILL)
        term.wait(10)
    finally:
        term.close()
    run_dir = only_run(tmp_path / "reports")
    before = timeline_of(run_dir)
    assert "run.finished" not in kinds(before)

    term = Terminal("facilitate", "--resume", run_dir.name, "--reports", "reports", cwd=tmp_path)
    try:
        term.expect("resuming run")
        term.answer("Hypothesis", "")                        # straight back into investigate: nothing re-asked
        term.answer("Action taken", "docker start by hand")
        term.answer("Action taken", "")
        term.answer("Is the impact halted", "y")
        term.answer("Press Enter to check", "")
        term.answer("Who declares the all-clear", "")
        term.answer("Who confirms it", "bob")
        for _ in range(3):
            term.answer("  1", "")
        term.answer("Root cause", "killed container")
        term.answer("Action item 1", "")
        code = term.wait(60)
    finally:
        term.close()
    events = timeline_of(run_dir)
    assert code == 0, dump(events)
    assert "Who noticed" not in term.output and "Severity (SEV1, SEV2, SEV3 or SEV4)" not in term.output
    assert kinds(events).count("severity.declared") == 1 and kinds(events).count("incident.detected") == 1
    assert kinds(events).count("run.started") == 1 and events[-1].kind == "run.finished"
    resumed = next(e for e in events if e.kind == "drill.resumed")
    assert resumed.details["from_phase"] == "investigate"
    reverted = [e for e in events if e.kind == "fault.reverted"]
    assert reverted and reverted[0].offset >= before[-1].offset  # by the resume or by the watchdog, recorded now
    assert [e.details["text"] for e in events if e.kind == "inject.released"] == ["first"]  # never twice
    offsets = [e.offset for e in events]
    assert offsets == sorted(offsets)  # time goes on from the dead run's start
    assert _state(web.container)["Status"] == "running" and http_ok(web.url)


def test_tabletop_at_speed_injects_no_fault(tmp_path: Path, web_container) -> None:
    """--speed: injects replay on a compressed clock; the container is never touched; Ctrl-C stops cleanly."""
    web = web_container()
    started_at = _state(web.container)["StartedAt"]
    scenario = drill_scenario(tmp_path, container=web.name, url=web.url, duration="10m", runbook=False,
                              injects=[{"at": "2m", "kind": "log", "source": "logs", "text": "connection refused"}])
    term = Terminal("facilitate", "--speed", "60", str(scenario), "--reports", "reports", cwd=tmp_path)
    try:
        term.expect("tabletop exercise")
        term.expect("Who noticed")
        term.expect("INJECT T\\+2m")  # 2 scenario minutes = 2 real seconds at 60x
        term.child.sendintr()
        code = term.wait(20)
    finally:
        term.close()
    events = timeline_of(only_run(tmp_path / "reports"))
    assert code == 130, dump(events)
    started = events[0]
    assert started.details["mode"] == "tabletop" and started.details["speed"] == 60 and started.details["drill"]
    injected = [e for e in events if e.kind == "fault.injected"]
    assert injected and injected[0].details["simulated"] is True
    released = next(e for e in events if e.kind == "inject.released")
    assert released.details["t_s"] == pytest.approx(120, abs=10)  # scenario seconds
    assert [e.details["signal"] for e in events if e.kind == "drill.stopped"] == ["SIGINT"]
    assert not (only_run(tmp_path / "reports") / "journal.jsonl").exists() or \
        "intent" not in (only_run(tmp_path / "reports") / "journal.jsonl").read_text()
    state = _state(web.container)
    assert state["Status"] == "running" and state["StartedAt"] == started_at


def test_a_tabletop_drill_prompts_updates_and_escalations_on_its_cadence(tmp_path: Path, web_container) -> None:
    """At 400x a SEV1's 15 min update cadence is 2.25 real seconds and its 30 min escalation 4.5 seconds."""
    web = web_container()
    scenario = drill_scenario(tmp_path, container=web.name, url=web.url, duration="2h", runbook=False, injects=[],
                              safety={"max_fault_duration": "3h"})
    term = Terminal("facilitate", "--speed", "400", str(scenario), "--reports", "reports", cwd=tmp_path)
    try:
        term.answer("Who noticed", "alice")
        term.answer("Through which signal", "dashboard")
        term.answer("Who acknowledges", "alice")
        term.answer("Severity", "1")
        term.answer("Role to assign", "ic")
        term.answer("Who is the incident commander", "carol")
        term.answer("Role to assign", "done")
        term.answer("Audience", "internal")
        term.answer("> ", "first update")
        term.answer("> ", "")
        term.expect("Hypothesis")
        term.expect("ESCALATE")                          # SEV1 not mitigated 30 scenario minutes after declared
        term.child.sendline("a bad deploy")
        term.expect("A status update is due")            # the 15 min cadence has passed meanwhile
        term.answer("Audience", "exec")
        term.answer("> ", "executive update")
        term.answer("> ", "")
        term.answer("Hypothesis", "")
        term.answer("Action taken", "rolled back")
        term.answer("Action taken", "")
        term.answer("Is the impact halted", "y")          # in a tabletop this ends the simulated fault
        term.answer("Press Enter to check", "")
        term.expect("simulated fault is .*over")
        term.answer("Who declares the all-clear", "")
        term.answer("Who confirms it", "alice")
        for _ in range(3):
            term.answer("  1", "")
        term.answer("Root cause", "a bad deploy")
        term.answer("Action item 1", "")
        code = term.wait(30)
    finally:
        term.close()
    events = timeline_of(only_run(tmp_path / "reports"))
    assert code == 0, dump(events)
    updates = [(e.details["audience"], e.details["text"]) for e in events if e.kind == "status_update.sent"]
    assert updates == [("internal", "first update"), ("executive", "executive update")]
    gap = [e.offset for e in events if e.kind == "status_update.sent"]
    assert gap[1] - gap[0] >= 15 * 60  # scenario seconds
    escalations = [e.details["rule"] for e in events if e.kind == "escalation.prompted"]
    assert escalations == ["sev1_not_mitigated"]
    reverted = [e for e in events if e.kind == "fault.reverted"]
    assert len(reverted) == 1 and reverted[0].details["simulated"] and reverted[0].details.get("reason")
    assert _state(web.container)["Status"] == "running"


def test_a_tabletop_drill_resumes_on_scenario_time(tmp_path: Path, web_container) -> None:
    web = web_container()
    scenario = drill_scenario(tmp_path, container=web.name, url=web.url, duration="50m", runbook=False, injects=[])
    term = Terminal("facilitate", "--speed", "100", str(scenario), "--reports", "reports", cwd=tmp_path)
    try:
        term.answer("Who noticed", "alice")
        term.answer("Through which signal", "other")
        term.answer("Who acknowledges", "alice")
        term.expect("Severity")
        term.child.kill(signal.SIGKILL)
        term.wait(10)
    finally:
        term.close()
    run_dir = only_run(tmp_path / "reports")
    before = timeline_of(run_dir)
    term = Terminal("facilitate", "--resume", run_dir.name, "--reports", "reports", cwd=tmp_path)
    try:
        term.answer("Severity", "SEV3")                     # triage goes on where it stopped
        term.answer("Role to assign", "ic")
        term.answer("Who is the incident commander", "carol")
        term.answer("Role to assign", "done")
        term.answer("Audience", "")
        term.answer("> ", "update")
        term.answer("> ", "")
        term.answer("Hypothesis", "")
        term.answer("Action taken", "")
        term.answer("Is the impact halted", "y")
        term.answer("Press Enter to check", "")
        term.answer("Who declares the all-clear", "")
        term.answer("Who confirms it", "alice")
        for _ in range(3):
            term.answer("  1", "")
        term.answer("Root cause", "rc")
        term.answer("Action item 1", "")
        code = term.wait(30)
    finally:
        term.close()
    events = timeline_of(run_dir)
    assert code == 0, dump(events)
    assert "Who noticed" not in term.output
    resumed = next(e for e in events if e.kind == "drill.resumed")
    assert resumed.details["from_phase"] == "triage" and resumed.details["mode"] == "tabletop"
    assert [e.details.get("simulated") for e in events if e.kind == "fault.reverted"] == [True]
    offsets = [e.offset for e in events]
    assert offsets == sorted(offsets) and resumed.offset - before[-1].offset < 60  # the dead time is not replayed
    assert events[-1].kind == "run.finished" and events[-1].details["resumed"] is True
    assert _state(web.container)["Status"] == "running"
