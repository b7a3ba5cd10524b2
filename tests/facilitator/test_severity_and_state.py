"""Severity table, escalation triggers, update cadence and the drill state, all from a timeline."""

from __future__ import annotations

from typing import Any

import pytest

from gameday.facilitator.severity import (
    current_severity,
    due_escalations,
    status_update_due,
)
from gameday.facilitator.state import drill_state
from gameday.scoring.severity import DEFAULT_SEVERITIES, table_for
from gameday.timeline import Event

MIN = 60.0


def ev(offset: float, kind: str, actor: str = "t", **details: Any) -> Event:
    return Event(at="2026-01-01T00:00:00.000Z", offset=offset, kind=kind, actor=actor, details=details)


@pytest.mark.parametrize(("text", "expected"), [("SEV1", "SEV1"), ("sev2", "SEV2"), (" Sev 3 ", "SEV3"), ("4", "SEV4"),
                                                ("SEV9", None), ("", None), ("P1", None), ("sev-1", "SEV1")])
def test_severities_are_read_the_way_people_type_them(text: str, expected: str | None) -> None:
    assert DEFAULT_SEVERITIES.parse(text) == expected


def level(key: str) -> Any:
    found = DEFAULT_SEVERITIES.get(key)
    assert found is not None
    return found


def test_the_default_table_follows_the_incident_process() -> None:
    assert level("SEV1").respond_within_s == 15 * MIN
    assert (level("SEV1").update_every_min_s, level("SEV1").update_every_s) == (15 * MIN, 30 * MIN)
    assert level("SEV2").respond_text == "30 min" and level("SEV3").cadence_text == "business hours"
    assert level("SEV3").postmortem_text == "within 1 week" and level("SEV1").title == "critical"
    assert level("SEV4").update_every_s is None and level("SEV4").respond_text == "next business day"


TEAM = {"SEV1": {"name": "P1", "respond_within_s": 5 * MIN, "update_every_s": 20 * MIN,
                 "escalate_unmitigated_after_s": 10 * MIN},
        "SEV2": {"name": "P2", "escalate_unmitigated_after_s": 45 * MIN}}


def test_a_team_table_renames_levels_and_changes_targets() -> None:
    table = table_for([ev(0, "run.started", severities=TEAM)])
    assert [lv.name for lv in table] == ["P1", "P2", "SEV3", "SEV4"]
    assert table.parse("p1") == "SEV1" and table.parse("2") == "SEV2" and table.parse("P5") is None
    assert table.choices() == "P1, P2, SEV3 or SEV4"
    p1 = table.get("P1")
    assert p1 is not None and p1.respond_text == "5 min" and p1.cadence_text == "every 20 min"
    assert p1.acknowledge_within_s == level("SEV1").acknowledge_within_s  # not given: the default stays
    assert table_for([ev(0, "run.started")]) == DEFAULT_SEVERITIES


def test_escalation_and_cadence_follow_the_team_table() -> None:
    table = table_for([ev(0, "run.started", severities=TEAM)])
    events = [ev(0, "phase.changed", phase="fault")]
    assert [e.rule for e in due_escalations(events, fault_start=0, now=5 * MIN, expected_severity="SEV1", table=table)] \
        == ["respond_within"]
    assert due_escalations(events, fault_start=0, now=5 * MIN, expected_severity="SEV1") == []  # default: 15 min
    declared = [ev(0, "incident.detected"), ev(1, "incident.acknowledged"), ev(60, "severity.declared", severity="SEV2")]
    due = due_escalations(declared, fault_start=0, now=60 + 45 * MIN, table=table)
    assert [e.rule for e in due] == ["sev2_not_mitigated"] and "P2 not mitigated 45 min" in due[0].reason
    assert due_escalations(declared, fault_start=0, now=60 + 45 * MIN) == []  # the default escalates SEV1 only
    updated = [ev(10, "severity.declared", severity="SEV1"), ev(20, "status_update.sent", audience="internal", text="x")]
    assert status_update_due(updated, fault_start=0, now=20 + 16 * MIN) == pytest.approx(MIN)  # default: 15-30 min
    assert status_update_due(updated, fault_start=0, now=20 + 16 * MIN, table=table) is None  # the team's: 20 min
    assert status_update_due(updated, fault_start=0, now=20 + 21 * MIN, table=table) == pytest.approx(MIN)


def test_no_acknowledgement_within_the_target_prompts_an_escalation_once() -> None:
    events = [ev(0, "phase.changed", phase="fault")]
    assert due_escalations(events, fault_start=0, now=14 * MIN, expected_severity="SEV1") == []
    due = due_escalations(events, fault_start=0, now=15 * MIN, expected_severity="SEV1")
    assert [e.rule for e in due] == ["respond_within"] and "15 min" in due[0].reason
    events.append(ev(15 * MIN, "escalation.prompted", rule="respond_within", reason=due[0].reason))
    assert due_escalations(events, fault_start=0, now=20 * MIN, expected_severity="SEV1") == []


def test_a_sev1_not_mitigated_in_30_minutes_goes_to_leadership() -> None:
    events = [ev(0, "phase.changed", phase="fault"), ev(60, "incident.detected"), ev(60, "incident.acknowledged"),
              ev(120, "severity.declared", severity="SEV1")]
    assert due_escalations(events, fault_start=0, now=120 + 29 * MIN) == []
    assert [e.rule for e in due_escalations(events, fault_start=0, now=120 + 30 * MIN)] == ["sev1_not_mitigated"]
    mitigated = [*events, ev(500, "incident.mitigated")]
    assert due_escalations(mitigated, fault_start=0, now=120 + 30 * MIN) == []


def test_an_incident_open_over_two_hours_needs_a_leadership_briefing() -> None:
    events = [ev(0, "incident.detected"), ev(1, "incident.acknowledged"), ev(2, "severity.declared", severity="SEV3"),
              ev(3, "incident.mitigated")]
    assert [e.rule for e in due_escalations(events, fault_start=0, now=2 * 60 * MIN)] == ["open_over_2h"]
    assert due_escalations([*events, ev(9, "incident.resolved")], fault_start=0, now=3 * 60 * MIN) == []


def test_status_updates_fall_due_at_the_severity_cadence() -> None:
    events = [ev(10, "severity.declared", severity="SEV1")]
    assert status_update_due(events, fault_start=0, now=11) == pytest.approx(1.0)  # the first one: now
    events.append(ev(20, "status_update.sent", audience="internal", text="x"))
    assert status_update_due(events, fault_start=0, now=20 + 14 * MIN) is None
    assert status_update_due(events, fault_start=0, now=20 + 16 * MIN) == pytest.approx(MIN)
    events.append(ev(30, "severity.declared", severity="SEV4"))  # downgraded: no cadence any more
    assert current_severity(events) == "SEV4" and status_update_due(events, fault_start=0, now=10_000) is None


def test_the_drill_state_is_rebuilt_from_the_timeline() -> None:
    events = [ev(0, "drill.phase", phase="detect"), ev(1, "incident.detected"), ev(2, "incident.acknowledged"),
              ev(2, "drill.phase", phase="triage"), ev(3, "severity.declared", severity="SEV2"),
              ev(4, "role.assigned", role="incident_commander", person="carol"),
              ev(5, "fault.injected", fault="f"), ev(6, "runbook.step", step=2, outcome="failed"),
              ev(7, "alert.firing", alertname="WebDown"), ev(8, "alert.firing", alertname="WebDown")]
    state = drill_state(events)
    assert state.phase == "triage" and state.phase_index == 1
    assert state.detected and state.acknowledged and state.severity == "SEV2"
    assert state.has_role("incident_commander") and not state.has_role("scribe")
    assert state.fault_live and state.steps_recorded == {2: "failed"} and state.alerts_fired == ["WebDown"]
    assert not drill_state([*events, ev(9, "fault.reverted", fault="f")]).fault_live
