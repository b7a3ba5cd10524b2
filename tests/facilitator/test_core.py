"""The one drill core: each action checked against the phase and the actor's role, recorded as facilitate does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gameday import events as ev
from gameday.clock import FakeClock
from gameday.facilitator.core import AT_THE_SCREEN, ActionRefused, Actor, DrillCore
from gameday.facilitator.events import DrillRecorder
from gameday.testing.runs import memory_scenario
from gameday.timeline import Timeline

RUNBOOK = """# Web down

## Steps
1. Look at the logs
   ```sh {run}
   echo looked
   ```
2. Restart it
"""

IC = Actor("incident_commander", "carol")
COMMS = Actor("communications", "dave")
SME = Actor("sme", "bob")
WATCHER = Actor("observer", "erin")


OPEN: list[Timeline] = []


@pytest.fixture(autouse=True)
def _close_timelines() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


def make_core(tmp_path: Path, *, mode: str = "live", green: bool = True) -> DrillCore:
    (tmp_path / "web-down.md").write_text(RUNBOOK)
    scenario = memory_scenario(runbook="web-down.md", steady_state={"probes": [
        {"name": "web", "http": {"url": "http://127.0.0.1:9/health"}}]}, injects=[
        {"at": "30s", "kind": "noise", "source": "#random", "text": "VPN slow?"},
        {"at": "60s", "kind": "log", "source": "logs", "text": "connection refused"}])
    timeline = Timeline(tmp_path / "timeline.jsonl", FakeClock())
    OPEN.append(timeline)
    timeline.record(ev.PHASE_CHANGED, phase="fault")
    recorder = DrillRecorder(timeline, fault_start=0.0, mode=mode)  # type: ignore[arg-type]
    return DrillCore(scenario, recorder, scenario_dir=tmp_path, env={},
                     probe_check=lambda s: [("web", green, "" if green else "HTTP 503")])


def human(core: DrillCore) -> list[tuple[str, str]]:
    return [(e.kind, e.actor) for e in core.events() if e.kind in ev.HUMAN_KINDS and e.kind != ev.DRILL_PHASE]


def test_a_seat_can_act_only_as_its_role_and_a_refusal_records_nothing(tmp_path: Path) -> None:
    core = make_core(tmp_path)
    core.enter("detect")
    before = len(core.events())
    with pytest.raises(ActionRefused, match="only the incident commander or sme can acknowledge the page; "
                                            "you are the communications"):
        core.acknowledge(COMMS, person="dave")
    with pytest.raises(ActionRefused, match="you are the observer"):
        core.detect(WATCHER, person="erin", signal="alert")
    assert len(core.events()) == before


def test_an_action_out_of_its_phase_is_refused(tmp_path: Path) -> None:
    core = make_core(tmp_path)
    core.enter("detect")
    with pytest.raises(ActionRefused, match="cannot declare a severity in the detect phase"):
        core.declare_severity(IC, "SEV2")
    with pytest.raises(ActionRefused, match="cannot leave the detect phase: say who noticed first"):
        core.advance(IC)


def test_a_drill_driven_by_seats_writes_the_events_the_terminal_writes(tmp_path: Path) -> None:
    core = make_core(tmp_path)
    core.enter("detect")
    core.detect(SME, person="bob", signal="alert", alert="WebDown")
    core.acknowledge(SME, person="bob")
    assert core.advance(IC) == "triage"
    core.declare_severity(IC, "sev 2")
    core.assign_role(IC, role="incident_commander", person="carol")
    with pytest.raises(ActionRefused, match="send the first status update first"):
        core.advance(IC)
    assert "Severity: SEV2" in core.template("internal")
    core.status_update(COMMS, audience="internal", text="Checkout down; investigating.")
    core.advance(IC)
    core.hypothesis(SME, "the web container died")
    core.declare_severity(IC, "SEV1")
    core.advance(IC)
    event, result = core.run_step(SME, step=1, confirmed=True)
    assert result.ok and event.details["output"] == "looked" and event.details["ran"] is True
    core.runbook_step(SME, step=2, outcome="done")
    core.mitigated(IC)
    core.advance(IC)
    pending = core.request_all_clear(IC)
    assert pending is not None and pending.by == "carol"
    with pytest.raises(ActionRefused, match="needs a second person"):
        core.confirm_all_clear(Actor("sme", "Carol"), second="Carol")
    core.confirm_all_clear(SME, second="bob")
    core.advance(IC)
    core.record_review(Actor("scribe", "sam"), went_well=["fast page"], went_poorly=[], got_lucky=[""],
                       root_cause="no restart policy",
                       action_items=[{"text": "add one", "owner": "platform", "due": "2026-12-15"}])
    assert core.advance(IC) == "done"
    assert human(core) == [
        (ev.INCIDENT_DETECTED, "bob"), (ev.INCIDENT_ACKNOWLEDGED, "bob"), (ev.SEVERITY_DECLARED, "carol"),
        (ev.ROLE_ASSIGNED, "carol"), (ev.STATUS_UPDATE_SENT, "dave"), (ev.HYPOTHESIS_NOTED, "bob"),
        (ev.SEVERITY_DECLARED, "carol"), (ev.RUNBOOK_STEP, "bob"), (ev.RUNBOOK_STEP, "bob"),
        (ev.INCIDENT_MITIGATED, "carol"), (ev.INCIDENT_RESOLVED, "carol"), (ev.REVIEW_RECORDED, "sam"),
        (ev.DRILL_FINISHED, "facilitator")]
    moved = [(e.details["phase"], e.actor) for e in core.events() if e.kind == ev.DRILL_PHASE]
    assert moved[:2] == [("detect", "facilitator"), ("triage", "carol")], moved  # who moved the drill on
    upgrade = [e for e in core.events() if e.kind == ev.SEVERITY_DECLARED][-1]
    assert upgrade.details["severity"] == "SEV1" and upgrade.details["previous"] == "SEV2"
    review = ev.last(core.events(), ev.REVIEW_RECORDED)
    assert review is not None and review.details["got_lucky"] == [] and review.details["action_items"][0]["due"] == "2026-12-15"
    assert ev.undocumented(core.events()) == []
    with pytest.raises(ActionRefused, match="the drill is over"):
        core.hypothesis(IC, "too late")


def test_the_terminal_acts_as_the_facilitator_and_names_actors_by_role(tmp_path: Path) -> None:
    core = make_core(tmp_path)
    core.enter("detect")
    core.detect(AT_THE_SCREEN, person="alice", signal="customer_report", alert="ignored")
    core.acknowledge(AT_THE_SCREEN, person="bob")
    core.enter("triage")
    core.declare_severity(AT_THE_SCREEN, "SEV2")
    core.assign_role(AT_THE_SCREEN, role="communications", person="dave")
    core.status_update(AT_THE_SCREEN, audience="customer", text="  We know.\n  More soon.")
    detected = ev.first(core.events(), ev.INCIDENT_DETECTED)
    assert detected is not None and detected.details["alert"] is None
    assert human(core)[2:] == [(ev.SEVERITY_DECLARED, "bob"), (ev.ROLE_ASSIGNED, "facilitator"),
                               (ev.STATUS_UPDATE_SENT, "dave")]
    update = ev.last(core.events(), ev.STATUS_UPDATE_SENT)
    assert update is not None and update.details["text"] == "  We know.\n  More soon."  # verbatim, as typed


def test_red_probes_refuse_the_all_clear_for_the_record(tmp_path: Path) -> None:
    core = make_core(tmp_path, green=False)
    core.enter("verify")
    assert core.request_all_clear(IC) is None
    refused = ev.last(core.events(), ev.ALL_CLEAR_REFUSED)
    assert refused is not None and refused.details["reason"] == "web: HTTP 503"
    with pytest.raises(ActionRefused, match="nobody has asked for the all-clear"):
        core.confirm_all_clear(SME, second="bob")


def test_a_tabletop_ticks_steps_but_runs_no_command(tmp_path: Path) -> None:
    core = make_core(tmp_path, mode="tabletop")
    core.enter("mitigate")
    with pytest.raises(ActionRefused, match="a tabletop runs no commands"):
        core.run_step(SME, step=1, confirmed=True)
    with pytest.raises(ActionRefused, match="no step 9"):
        core.runbook_step(SME, step=9, outcome="done")


def test_an_unconfirmed_command_is_not_run(tmp_path: Path) -> None:
    core = make_core(tmp_path)
    core.enter("mitigate")
    with pytest.raises(ActionRefused, match="confirm running step 1"):
        core.run_step(SME, step=1, confirmed=False)
    assert ev.first(core.events(), ev.RUNBOOK_STEP) is None


def test_the_facilitator_releases_and_withholds_injects_once(tmp_path: Path) -> None:
    core = make_core(tmp_path)
    core.enter("detect")
    with pytest.raises(ActionRefused, match="only the facilitator can release an inject"):
        core.release_inject(IC, "inject-1")
    released = core.release_inject(AT_THE_SCREEN, "inject-2")
    assert released.kind == ev.INJECT_RELEASED and released.details["text"] == "connection refused"
    core.withhold_inject(AT_THE_SCREEN, "inject-1")
    with pytest.raises(ActionRefused, match="inject-1 is already released or withheld"):
        core.release_inject(AT_THE_SCREEN, "inject-1")
    assert [i["state"] for i in core.injects()] == ["withheld", "released"]
    with pytest.raises(ActionRefused, match="no inject 'inject-7'"):
        core.withhold_inject(AT_THE_SCREEN, "inject-7")


def test_over_long_answers_are_refused_not_cut(tmp_path: Path) -> None:
    core = make_core(tmp_path)
    core.enter("investigate")
    with pytest.raises(ActionRefused, match="at most 4000 characters"):
        core.hypothesis(IC, "x" * 4001)
