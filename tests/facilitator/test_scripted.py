"""Scripted responders: the same drill without people, for CI and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gameday import events as ev
from gameday.engine.run import RunOptions, run_scenario
from gameday.facilitator.drill import tabletop_scripted
from gameday.scenario.loader import load_scenario
from tests.conftest import http_ok
from tests.facilitator.conftest import drill_scenario, dump, human, only_run, timeline_of

# The steps that need the fault live (the judge's Verify at "mitigated" fails, the first all-clear is refused)
# come 2.5 s into a 5 s window, and the accepted all-clear 15 s after it: on a busy machine (load 160) the kill
# took 1 s and the revert's restart 7 s. The order of the steps and injects is the loop's, whatever the load.
RESPONSES: list[dict[str, Any]] = [
    {"at": "200ms", "actor": "oncall", "action": "acknowledge"},
    {"at": "400ms", "actor": "oncall", "action": "declare", "severity": "SEV2"},
    {"at": "500ms", "actor": "oncall", "action": "assign", "role": "incident_commander", "text": "carol"},
    {"at": "600ms", "actor": "carol", "action": "hypothesis", "text": "the web container died"},
    {"at": "700ms", "actor": "sme", "action": "runbook_step", "step": 3, "outcome": "done"},
    {"at": "800ms", "actor": "comms", "action": "status_update", "audience": "customer", "text": "We are aware."},
    {"at": "2500ms", "actor": "carol", "action": "mitigated"},
    {"at": "2600ms", "actor": "carol", "action": "all_clear"},    # the fault is still live: refused
    {"at": "20s", "actor": "carol", "action": "all_clear", "text": "bob"},  # after the revert from T+5s
    {"at": "20100ms", "actor": "team", "action": "review", "text": "no restart policy on the web container",
     "went_well": ["paged fast"], "went_poorly": ["the all-clear came too early"], "got_lucky": ["quiet hour"],
     "action_items": [{"text": "add a restart policy", "owner": "bob", "due": "2026-12-01"}]},
]


@pytest.mark.docker
def test_scripted_responses_produce_the_expected_events_in_order(tmp_path: Path, web_container) -> None:
    web = web_container()
    path = drill_scenario(tmp_path, container=web.name, url=web.url, duration="5s", responses=RESPONSES,
                          injects=[{"at": "100ms", "kind": "noise", "text": "lunch?"},
                                   {"unless": {"no_acknowledge_by": "150ms"}, "text": "the pager is ringing"},
                                   {"unless": {"no_severity_by": "1s"}, "kind": "executive", "text": "status?"}])
    result = run_scenario(load_scenario(path), RunOptions(reports_dir=tmp_path / "reports", scenario_file=path,
                                                          handle_signals=False))
    events = timeline_of(result.run_dir)
    assert result.exit_code == 0, dump(events)
    assert ev.undocumented(events) == []  # every kind and detail written is in gameday/events.py
    assert [e.kind for e in events if e.details.get("drill") or (e.kind == "runbook.step"
            and e.details["section"] == "steps")] == [
        "run.started",
        "inject.released",        # noise at T+100ms
        "inject.released",        # nobody acknowledged by T+150ms
        "incident.detected", "incident.acknowledged", "severity.declared", "role.assigned", "hypothesis.noted",
        "runbook.step", "status_update.sent", "inject.withheld",  # SEV declared by T+1s
        "incident.mitigated", "all_clear.refused", "incident.resolved", "review.recorded",
    ], dump(events)
    by_kind = {e.kind: e for e in events}
    assert by_kind["incident.detected"].details["signal"] in ("probe", "other")
    assert by_kind["incident.acknowledged"].actor == "oncall"
    # Judged at the declare's scripted time, however late the loop got to it.
    assert by_kind["inject.withheld"].details["reason"] == "severity.declared at T+0.4s"
    assert by_kind["role.assigned"].details == {**by_kind["role.assigned"].details, "role": "incident_commander",
                                                "person": "carol"}
    # The runbook executor performs runbook steps (step 3 has no command: skipped as a step for a person).
    step = next(e.details for e in events if e.kind == "runbook.step" and e.details["section"] == "steps")
    assert step["step"] == 3 and step["title"] == "Tell the channel the service is back"
    # Judged beside the script once the team says it is mitigated, after its Verify block ran: the
    # fault was still live then, so Verify failed and the service came back only by the harness revert.
    verify = next(e for e in events if e.kind == "runbook.step" and e.details["section"] == "verify")
    assert verify.details["outcome"] == "failed" and verify.offset < by_kind["runbook.judged"].offset
    assert by_kind["runbook.judged"].details["failing_steps"] == [verify.details["step"]]
    # The judge waits for the outcome it reports: the probes turn green after the harness revert, whichever
    # of the revert and a probe round came first.
    assert by_kind["runbook.judged"].details["restored_by"] == "harness revert", dump(events)
    assert by_kind["runbook.judged"].details["restored"] is False
    assert by_kind["runbook.judged"].details["reason"] == "service came back only after the harness reverted the fault"
    assert by_kind["runbook.judged"].offset > next(e.offset for e in events if e.kind == "revert.started")
    assert "web" in by_kind["all_clear.refused"].details["reason"]
    assert by_kind["incident.resolved"].details["confirmed_by"] == "bob"
    review = by_kind["review.recorded"].details
    assert review["root_cause"] == "no restart policy on the web container"
    assert (review["went_well"], review["went_poorly"], review["got_lucky"]) == \
        (["paged fast"], ["the all-clear came too early"], ["quiet hour"])
    assert review["action_items"] == [{"text": "add a restart policy", "owner": "bob", "due": "2026-12-01"}]
    assert all(e.details["drill"] is True and e.details["mode"] == "scripted" for e in events
               if e.kind in ("incident.resolved", "inject.released"))
    # T+ times are scenario time from the fault phase start: the steps happened no earlier than scripted.
    assert by_kind["incident.resolved"].details["t_s"] >= 20.0
    assert http_ok(web.url)


@pytest.mark.docker
def test_tabletop_replay_touches_nothing_and_runs_on_scenario_time(tmp_path: Path, web_container) -> None:
    web = web_container()
    web.container.reload()
    started_at = web.container.attrs["State"]["StartedAt"]
    responses = [{"at": "1m", "action": "acknowledge"}, {"at": "2m", "action": "declare", "severity": "SEV1"},
                 {"at": "5m", "action": "all_clear"},                 # simulated fault still live: refused
                 {"at": "6m", "action": "mitigated"},                 # ends the simulated fault
                 {"at": "7m", "action": "all_clear"}, {"at": "8m", "action": "review", "text": "rc"}]
    path = drill_scenario(tmp_path, container=web.name, url=web.url, duration="30m", runbook=False,
                          responses=responses, injects=[{"at": "3m", "text": "CS: customers complain"}])
    result = tabletop_scripted(load_scenario(path), path, reports_dir=tmp_path / "reports", speed=120)
    events = timeline_of(only_run(tmp_path / "reports"))
    assert result.exit_code == 0, dump(events)
    assert human(events) == ["incident.detected", "incident.acknowledged", "severity.declared", "inject.released",
                             "all_clear.refused", "incident.mitigated", "incident.resolved", "review.recorded"]
    assert events[0].details["mode"] == "tabletop" and events[0].details["time"] == "scenario"
    fault_start = next(e.offset for e in events if e.kind == "phase.changed" and e.details["phase"] == "fault")
    intended, mitigated, reverted, resolved = (next(e for e in events if e.kind == kind) for kind in (
        "fault.intended", "incident.mitigated", "fault.reverted", "incident.resolved"))
    # The mitigation at 6m ended the simulated 30 min fault, before the all-clear at 7m found it over; its
    # duration is scenario time, as the offsets are (a real-clock duration would read about 3 s).
    assert reverted.details["simulated"] is True and mitigated.offset <= reverted.offset < resolved.offset
    assert mitigated.offset - intended.offset <= reverted.details["duration_s"] <= reverted.offset - fault_start
    # 7 scenario minutes, 3.5 real seconds: no earlier than scripted, and within 10 real seconds of it on a
    # busy machine (a responder on the real clock would write t_s 50,400).
    assert 420 <= resolved.details["t_s"] < 420 + 10 * 120
    assert not (result.run_dir / "journal.jsonl").exists()
    web.container.reload()
    assert web.container.attrs["State"]["StartedAt"] == started_at and http_ok(web.url)
