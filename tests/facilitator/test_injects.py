"""The inject schedule (master scenario events list): timed, conditional and noise injects, from the timeline alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gameday.clock import FakeClock
from gameday.facilitator.events import DrillRecorder
from gameday.facilitator.injects import InjectScheduler
from gameday.facilitator.loop import DrillLoop
from gameday.scenario.model import InjectSpec, Scenario
from gameday.timeline import Timeline


def inject(**raw: object) -> InjectSpec:
    return InjectSpec.model_validate(raw)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timeline(tmp_path: Path, clock: FakeClock) -> Iterator[Timeline]:
    t = Timeline(tmp_path / "timeline.jsonl", clock)
    clock.advance(10)  # the fault phase starts 10 s into the run
    t.record("phase.changed", phase="fault")
    yield t
    t.close()


def release(scheduler: InjectScheduler, timeline: Timeline, clock: FakeClock, until: float) -> list[str]:
    """Step the fake clock to T+until, recording what the scheduler decides; returns 'kind:inject@t'."""
    out = []
    start = scheduler.fault_start
    while clock.monotonic() - timeline.origin - start <= until:
        t = timeline.now() - start
        for d in scheduler.due(list(timeline.events), t):
            kind = "inject.released" if d.release else "inject.withheld"
            timeline.record(kind, actor=d.spec.source if d.release else "facilitator", **d.details())
            out.append(f"{'released' if d.release else 'withheld'}:{d.inject}@{t:g}")
        clock.advance(1)
    return out


def test_a_timed_inject_is_released_at_its_time_and_not_before(timeline: Timeline, clock: FakeClock) -> None:
    scheduler = InjectScheduler([inject(at="5s", text="CS: checkout errors")], fault_start=10.0)
    assert scheduler.due(list(timeline.events), 4.9) == []
    assert release(scheduler, timeline, clock, 8) == ["released:inject-1@5"]
    event = next(e for e in timeline.events if e.kind == "inject.released")
    assert event.details["text"] == "CS: checkout errors" and event.details["condition"] is None
    assert event.offset == pytest.approx(15.0)


def test_a_conditional_inject_is_released_when_no_alert_fired_by_its_deadline(timeline: Timeline,
                                                                               clock: FakeClock) -> None:
    spec = inject(unless={"no_alert_by": "3s"}, kind="customer_report", source="Customer Success",
                  text="3 enterprise customers report failed checkouts")
    scheduler = InjectScheduler([spec], fault_start=10.0)
    assert release(scheduler, timeline, clock, 6) == ["released:inject-1@3"]
    event = next(e for e in timeline.events if e.kind == "inject.released")
    assert event.details["condition"] == "no alert fired by T+3s"
    assert event.details["kind"] == "customer_report" and event.details["source"] == "Customer Success"


def test_a_conditional_inject_is_withheld_when_the_alert_fired_in_time(timeline: Timeline, clock: FakeClock) -> None:
    scheduler = InjectScheduler([inject(unless={"no_alert_by": "3s"}, text="customers complain")], fault_start=10.0)
    clock.advance(2)
    timeline.record("alert.firing", alertname="CheckoutDown")
    assert release(scheduler, timeline, clock, 6) == ["withheld:inject-1@3"]
    withheld = next(e for e in timeline.events if e.kind == "inject.withheld")
    assert "alert.firing at T+2.0s" in withheld.details["reason"]
    assert not [e for e in timeline.events if e.kind == "inject.released"]


def test_an_alert_after_the_deadline_does_not_withhold_the_inject(timeline: Timeline, clock: FakeClock) -> None:
    scheduler = InjectScheduler([inject(unless={"no_alert_by": "3s"}, text="customers complain")], fault_start=10.0)
    clock.advance(4)
    timeline.record("alert.firing", alertname="CheckoutDown")  # too late: T+4 > T+3
    assert scheduler.due(list(timeline.events), 4.0)[0].release is True


def test_an_executive_asks_when_no_severity_is_declared_in_time(timeline: Timeline, clock: FakeClock) -> None:
    specs = [inject(unless={"no_severity_by": "4s"}, kind="executive", source="VP Engineering",
                    text="What is going on with checkout?"),
             inject(unless={"no_acknowledge_by": "2s"}, text="the pager is still ringing")]
    scheduler = InjectScheduler(specs, fault_start=10.0)
    clock.advance(1)
    timeline.record("incident.acknowledged", actor="alice")
    assert release(scheduler, timeline, clock, 6) == ["withheld:inject-2@2", "released:inject-1@4"]


def test_at_and_unless_together_release_at_the_later_time(timeline: Timeline, clock: FakeClock) -> None:
    scheduler = InjectScheduler([inject(at="5s", unless={"no_alert_by": "2s"}, text="x")], fault_start=10.0)
    assert scheduler.due(list(timeline.events), 4.0) == []
    assert release(scheduler, timeline, clock, 6) == ["released:inject-1@5"]


def test_noise_injects_are_released_and_marked_as_noise(timeline: Timeline, clock: FakeClock) -> None:
    specs = [inject(at="1s", kind="noise", source="#random", text="is the coffee machine broken again?"),
             inject(at="2s", kind="graph", source="dashboard", text="a red herring: CPU spike on an unrelated host")]
    scheduler = InjectScheduler(specs, fault_start=10.0)
    assert release(scheduler, timeline, clock, 3) == ["released:inject-1@1", "released:inject-2@2"]
    kinds = [e.details["kind"] for e in timeline.events if e.kind == "inject.released"]
    assert kinds == ["noise", "graph"]


def test_injects_due_at_once_come_in_time_then_scenario_order(timeline: Timeline) -> None:
    specs = [inject(at="3s", text="c"), inject(at="1s", text="a"), inject(at="3s", text="d"), inject(at="2s", text="b")]
    due = InjectScheduler(specs, fault_start=10.0).due(list(timeline.events), 5.0)
    assert [d.spec.text for d in due] == ["a", "b", "c", "d"]


def test_an_inject_already_in_the_timeline_is_never_released_again(timeline: Timeline, clock: FakeClock) -> None:
    """A resumed drill reads what was released from the timeline; the scheduler has no state of its own."""
    specs = [inject(at="1s", text="a"), inject(at="5s", text="b")]
    first = InjectScheduler(specs, fault_start=10.0)
    assert release(first, timeline, clock, 2) == ["released:inject-1@1"]
    again = InjectScheduler(specs, fault_start=10.0)  # as after a restart
    assert [d.inject for d in again.due(list(timeline.events), 6.0)] == ["inject-2"]
    assert again.next_due(list(timeline.events)) == 5.0


def test_the_drill_loop_records_injects_with_drill_context(tmp_path: Path) -> None:
    clock = FakeClock()
    timeline = Timeline(tmp_path / "t.jsonl", clock)
    timeline.record("phase.changed", phase="fault")
    scenario = Scenario.model_validate({
        "version": 1, "name": "x", "faults": [{"kind": "container_kill", "target": "web", "duration": "5s"}],
        "injects": [{"at": "2s", "text": "hello"}]})
    loop = DrillLoop(scenario, DrillRecorder(timeline, fault_start=0.0, mode="live"), clock, name="t")
    loop.tick()
    clock.advance(2)
    loop.tick()
    loop.tick()
    released = [e for e in timeline.events if e.kind == "inject.released"]
    assert len(released) == 1
    assert released[0].details["drill"] is True and released[0].details["t_s"] == 2.0
    assert released[0].details["mode"] == "live" and released[0].actor == "facilitator"
    timeline.close()


class _Declare:
    """A script of one step: severity declared at T+0.4s."""

    def __init__(self, recorder: DrillRecorder) -> None:
        self.recorder = recorder
        self.done = False

    def next_due(self) -> float | None:
        return None if self.done else 0.4

    def perform_next(self) -> None:
        self.done = True
        self.recorder.record("severity.declared", actor="oncall", severity="SEV2")


def test_a_scripted_step_the_loop_performs_late_still_counts_at_its_scripted_time(tmp_path: Path) -> None:
    """A busy machine starves the loop's thread until T+1.5s: the declare scripted at T+0.4s is written then,
    and it still withholds the inject "unless no severity by T+1s", as on a quiet machine."""
    clock = FakeClock()
    timeline = Timeline(tmp_path / "t.jsonl", clock)
    timeline.record("phase.changed", phase="fault")
    scenario = Scenario.model_validate({
        "version": 1, "name": "x", "faults": [{"kind": "container_kill", "target": "web", "duration": "5s"}],
        "injects": [{"unless": {"no_severity_by": "1s"}, "kind": "executive", "text": "status?"},
                    {"unless": {"no_acknowledge_by": "1s"}, "text": "the pager is ringing"}]})
    recorder = DrillRecorder(timeline, fault_start=0.0, mode="scripted")
    loop = DrillLoop(scenario, recorder, clock, name="t", script=_Declare(recorder), escalations=False)
    clock.advance(1.5)
    loop.tick()
    decided = [(e.kind, e.details["inject"]) for e in timeline.events if e.kind.startswith("inject.")]
    assert decided == [("inject.withheld", "inject-1"), ("inject.released", "inject-2")]
    withheld = next(e for e in timeline.events if e.kind == "inject.withheld")
    assert withheld.details["reason"] == "severity.declared at T+0.4s"
    declared = next(e for e in timeline.events if e.kind == "severity.declared")
    assert declared.details["t_s"] == 1.5  # the record still says when it was written
    timeline.close()


def test_a_person_acting_after_the_deadline_does_not_withhold_the_inject_a_late_loop_decides(tmp_path: Path) -> None:
    """Only the script's own steps count at their scripted time: a person's declare written after the deadline
    (the loop deciding late) is after it."""
    clock = FakeClock()
    timeline = Timeline(tmp_path / "t.jsonl", clock)
    timeline.record("phase.changed", phase="fault")
    scenario = Scenario.model_validate({
        "version": 1, "name": "x", "faults": [{"kind": "container_kill", "target": "web", "duration": "5s"}],
        "injects": [{"unless": {"no_severity_by": "1s"}, "kind": "executive", "text": "status?"}]})
    recorder = DrillRecorder(timeline, fault_start=0.0, mode="live")
    loop = DrillLoop(scenario, recorder, clock, name="t", escalations=False)
    clock.advance(1.2)
    recorder.record("severity.declared", actor="alice", severity="SEV2")
    clock.advance(0.3)
    loop.tick()
    assert [e.kind for e in timeline.events if e.kind.startswith("inject.")] == ["inject.released"]
    timeline.close()
