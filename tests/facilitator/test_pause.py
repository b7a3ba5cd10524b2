"""Pausing a tabletop: the scenario clock stands still, what is due waits, and the record says so.

All on a fake clock: the base clock moves only when the test says, so no test here sleeps.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console

from gameday import events as ev
from gameday.clock import FakeClock
from gameday.facilitator.clock import ScaledClock
from gameday.facilitator.events import DrillRecorder
from gameday.facilitator.loop import DrillLoop
from gameday.facilitator.pause import LIVE_REFUSAL, TabletopPause, pause_interjection
from gameday.facilitator.prompts import Asker
from gameday.scenario.model import Scenario
from gameday.scoring.metrics import compute_metrics
from gameday.timeline import Timeline

SPEED = 30


@pytest.fixture
def base() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clock(base: FakeClock) -> ScaledClock:
    return ScaledClock(base, SPEED)


@pytest.fixture
def timeline(tmp_path: Path, clock: ScaledClock) -> Iterator[Timeline]:
    t = Timeline(tmp_path / "timeline.jsonl", clock)
    t.record(ev.PHASE_CHANGED, phase="fault")
    yield t
    t.close()


@pytest.fixture
def recorder(timeline: Timeline) -> DrillRecorder:
    return DrillRecorder(timeline, fault_start=0.0, mode="tabletop")


def test_a_paused_clock_stands_still_while_real_time_passes_and_runs_on_from_where_it_stopped(
        base: FakeClock, clock: ScaledClock) -> None:
    wall0, mono0 = clock.wall(), clock.monotonic()
    base.advance(1)                                   # 1 real second: 30 scenario seconds
    assert clock.monotonic() - mono0 == pytest.approx(30)
    assert clock.pause() and clock.paused
    assert not clock.pause()                          # a second pause changes nothing
    base.advance(100)
    assert clock.monotonic() - mono0 == pytest.approx(30)
    assert clock.wall() - wall0 == timedelta(seconds=30)
    assert clock.paused_for() == pytest.approx(100)
    assert clock.resume() == pytest.approx(100)
    assert clock.resume() is None and not clock.paused
    base.advance(2)
    assert clock.monotonic() - mono0 == pytest.approx(90)
    assert clock.wall() - wall0 == timedelta(seconds=90)


def test_an_inject_due_during_a_pause_is_released_only_after_resume(
        base: FakeClock, clock: ScaledClock, timeline: Timeline, recorder: DrillRecorder) -> None:
    scenario = Scenario.model_validate({
        "version": 1, "name": "x", "faults": [{"kind": "container_kill", "target": "web", "duration": "10m"}],
        "injects": [{"at": "60s", "text": "Customer Success: checkout fails"}]})
    loop = DrillLoop(scenario, recorder, clock, name="t")
    pause = TabletopPause(clock, recorder)
    base.advance(1)                                   # T+30s
    loop.tick()
    assert pause.pause(by="facilitator")
    base.advance(600)                                 # ten real minutes: the inject would have been due long ago
    loop.tick()
    assert not [e for e in timeline.events if e.kind == ev.INJECT_RELEASED]
    assert pause.resume() == pytest.approx(600)
    loop.tick()
    assert not [e for e in timeline.events if e.kind == ev.INJECT_RELEASED]   # still T+30s
    base.advance(1)                                   # T+60s in scenario time
    loop.tick()
    released = [e for e in timeline.events if e.kind == ev.INJECT_RELEASED]
    assert len(released) == 1 and released[0].details["t_s"] == pytest.approx(60)


def test_a_pause_is_recorded_at_one_offset_with_its_real_length_and_said_in_the_score(
        base: FakeClock, clock: ScaledClock, timeline: Timeline, recorder: DrillRecorder) -> None:
    pause = TabletopPause(clock, recorder)
    base.advance(1)                                   # T+30s
    recorder.record(ev.INCIDENT_DETECTED, actor="alice", signal="probe", alert=None, person="alice")
    assert pause.pause(by="alice")
    assert not pause.pause()                          # already paused: nothing more recorded
    base.advance(200)
    assert pause.resume(by="bob") == pytest.approx(200)
    assert pause.resume() is None
    base.advance(1)                                   # T+60s
    recorder.record(ev.INCIDENT_ACKNOWLEDGED, actor="alice", person="alice")
    events = list(timeline.events)
    paused = next(e for e in events if e.kind == ev.TABLETOP_PAUSED)
    resumed = next(e for e in events if e.kind == ev.TABLETOP_RESUMED)
    assert (paused.actor, resumed.actor) == ("alice", "bob")
    assert paused.offset == resumed.offset == pytest.approx(30)
    assert resumed.details["paused_real_s"] == pytest.approx(200)
    assert paused.details["drill"] is True and paused.details["mode"] == "tabletop"
    assert not ev.undocumented(events)
    acknowledged = next(e for e in events if e.kind == ev.INCIDENT_ACKNOWLEDGED)
    assert acknowledged.offset - paused.offset == pytest.approx(30)   # the 200 real seconds count nowhere
    notes = compute_metrics(events).notes
    assert any("paused once (3 min 20 s of real time)" in n and "no time here includes a pause" in n
               for n in notes), notes


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200, color_system=None, highlight=False), out


def test_pause_and_resume_typed_at_a_prompt_are_consumed_and_other_answers_wait_for_resume(
        base: FakeClock, clock: ScaledClock, timeline: Timeline, recorder: DrillRecorder) -> None:
    console, out = _console()
    pause = TabletopPause(clock, recorder)
    interject = pause_interjection(pause, console)
    assert not interject("alice")                     # an answer, not a command
    assert interject("/pause") and pause.paused
    assert interject("alice")                         # refused while paused: nothing may be recorded now
    assert interject("/PAUSE")
    assert interject(" /resume ") and not pause.paused
    assert interject("/resume")
    text = out.getvalue()
    assert "PAUSED at T+0s" in text and "the drill is paused: type /resume to continue" in text
    assert "already paused" in text and "RESUMED at T+0s" in text and "not paused" in text
    assert [e.kind for e in timeline.events].count(ev.TABLETOP_PAUSED) == 1


def test_a_live_drill_refuses_pause_and_records_nothing(timeline: Timeline) -> None:
    console, out = _console()
    interject = pause_interjection(None, console)
    assert interject("/pause") and not interject("alice")
    assert LIVE_REFUSAL in out.getvalue()
    assert [e.kind for e in timeline.events] == [ev.PHASE_CHANGED]


def test_the_asker_offers_every_answer_to_its_interjection_first_at_every_kind_of_prompt(
        monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["/pause", "alice", "/pause", "y", "/pause", "", "line one", "", "/pause", "n"])
    seen: list[str] = []

    def interject(answer: str) -> bool:
        seen.append(answer)
        return answer == "/pause"

    console, _ = _console()
    monkeypatch.setattr(console, "input", lambda *a, **k: next(answers))
    ask = Asker(console, interject=interject)
    assert ask.text("Who noticed?") == "alice"
    assert ask.confirm("Is the impact halted?", default=False) is True
    assert ask.paragraph("Type the update") == "line one"
    assert ask.confirm("Run it?", default=True) is False
    assert seen.count("/pause") == 4
