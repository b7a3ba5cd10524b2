"""The drill room over HTTP, against a real uvicorn: links, seats, refusals, CSRF, the event stream, a drill."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest

from gameday import events as ev
from gameday.clock import FakeClock
from gameday.room.guard import MAX_STREAMS, READ_BURST, READ_PER_S
from gameday.timeline import read_timeline
from tests.conftest import wait_for
from tests.room.conftest import Participant, Served, read_events

ServeRoom = Callable[..., Served]


def begun(served: Served, facilitator: Participant) -> None:
    """Start the drill and wait for its fault phase (the team can act from then on)."""
    answer = facilitator.control("start")
    assert answer.status_code == 200, answer.text
    wait_for(lambda: facilitator.state()["room"]["status"] == "running", timeout=60)


def test_each_link_opens_its_own_page_and_pages_carry_no_token(serve_room: ServeRoom) -> None:
    served = serve_room()
    facilitator = served.facilitator()
    seat = served.seat(1)
    assert facilitator.page == "/console" and seat.page == "/seat"
    console = facilitator.http.get("/console")
    page = seat.http.get("/seat")
    assert console.status_code == 200 and 'data-testid="start"' in console.text
    assert page.status_code == 200 and 'data-testid="join-form"' in page.text
    tokens = [served.room.facilitator_token, *(s.token for s in served.room.seats)]
    for text in (console.text, page.text, seat.http.get("/static/room.js").text,
                 seat.http.get("/static/forms.html").text, str(seat.state())):
        assert not any(token in text for token in tokens)
    assert "default-src 'none'" in console.headers["content-security-policy"]
    assert seat.http.get("/console").headers["location"] == "/seat"  # a seat never gets the console


def test_a_wrong_token_or_no_cookie_is_refused(serve_room: ServeRoom) -> None:
    served = serve_room()
    outsider = served.facilitator()
    outsider.http.cookies.clear()
    token = served.room.facilitator_token
    bad = outsider.http.get("/join/" + token[:-1] + ("y" if token.endswith("x") else "x"))  # "...x" was one in 64
    assert bad.status_code == 403 and "not valid for this room" in bad.text
    assert outsider.http.get("/api/state").status_code == 403
    assert outsider.http.get("/console").status_code == 403
    assert outsider.http.get("/reports/").status_code == 403
    outsider.http.cookies.set("gameday_room", "guess")
    assert outsider.http.get("/api/state").status_code == 403


def test_a_request_without_the_csrf_header_or_from_another_origin_is_refused(serve_room: ServeRoom) -> None:
    served = serve_room()
    seat = served.seat(1)
    body = {"name": "ana", "role": "sme"}
    no_header = seat.http.post("/api/seat", json=body)
    assert no_header.status_code == 403 and "X-Gameday-CSRF" in no_header.json()["error"]
    other = served.seat(2)
    assert seat.post("/api/seat", body, **{"X-Gameday-CSRF": other.csrf}).status_code == 403  # another seat's value
    foreign = seat.post("/api/seat", body, Origin="http://evil.example")
    assert foreign.status_code == 403 and "another site" in foreign.json()["error"]
    form = seat.http.post("/api/seat", content=b"name=ana&role=sme", headers={
        "X-Gameday-CSRF": seat.csrf, "Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415
    assert seat.state()["you"]["role"] == ""  # none of them took the seat
    same_origin = seat.post("/api/seat", body, Origin=served.base)
    assert same_origin.status_code == 200 and seat.state()["you"]["role"] == "sme"


def test_bodies_are_bounded_and_each_seat_is_rate_limited(serve_room: ServeRoom) -> None:
    served = serve_room()
    seat = served.seat(1)
    huge = seat.post("/api/seat", {"name": "x" * 20_000, "role": "sme"})
    assert huge.status_code == 413
    answers = [seat.post("/api/seat", {"name": "", "role": "sme"}).status_code for _ in range(40)]
    assert answers[0] == 409 and 429 in answers  # refused (no name) until the bucket is empty
    other = served.seat(2)
    assert other.post("/api/seat", {"name": "bo", "role": "observer"}).status_code == 200  # its own bucket


def test_reads_are_budgeted_per_link_and_refused_with_a_retry_after(serve_room: ServeRoom) -> None:
    clock = FakeClock()  # the room's own clock: no read is regained until the test moves it
    served = serve_room(clock=clock)
    seat = served.seat(1)
    other = served.seat(2)
    answers = [seat.http.get("/api/state").status_code for _ in range(READ_BURST + 1)]
    assert answers == [200] * READ_BURST + [429]
    refused = seat.http.get("/api/state")
    assert refused.json()["error"] == "too many reads at once: wait a moment"
    assert refused.headers["retry-after"] == "1"
    with seat.http.stream("GET", "/api/events") as stream:  # a stream opened is a read too
        assert stream.status_code == 429
    page = seat.http.get("/seat")
    assert page.status_code == 429 and "Too many pages" in page.text
    assert other.http.get("/api/state").status_code == 200  # each link its own budget
    assert seat.post("/api/seat", {"name": "ana", "role": "sme"}).status_code == 200  # actions: a budget apart
    clock.advance(1.0)
    regained = [seat.http.get("/api/state").status_code for _ in range(int(READ_PER_S) + 1)]
    assert regained == [200] * int(READ_PER_S) + [429]


def test_a_link_holds_a_few_streams_at_once_and_a_dropped_one_resumes_in_its_slot(serve_room: ServeRoom) -> None:
    served = serve_room(speed=100.0)
    facilitator = served.facilitator()
    sme = served.seat(1, name="bob", role="sme")
    slots = served.room.seats[0].limits.streams
    begun(served, facilitator)
    with ExitStack() as tabs:
        for _ in range(MAX_STREAMS - 1):  # the person's other tabs, open throughout
            assert tabs.enter_context(sme.http.stream("GET", "/api/events")).status_code == 200
        first = read_events(sme, until=lambda es: len(es) >= 1)  # the last slot: read, then the connection drops
        wait_for(lambda: slots.held == MAX_STREAMS - 1, timeout=60)  # the room saw the close and freed its slot
        sme.ok("detect", person="bob", signal="other")  # while disconnected
        again = read_events(sme, last_id=first[-1]["id"],
                            until=lambda es: any(e["kind"] == ev.INCIDENT_DETECTED for e in es))
        ids = [e["id"] for e in first + again]
        assert ids == sorted(set(ids)), "the resumed stream repeated or reordered an event"
        wait_for(lambda: slots.held == MAX_STREAMS - 1, timeout=60)
        with sme.http.stream("GET", "/api/events") as fourth:
            assert fourth.status_code == 200
            with sme.http.stream("GET", "/api/events") as fifth:
                assert fifth.status_code == 429 and fifth.headers["retry-after"] == "1"
                assert json.loads(fifth.read())["error"] == "too many event streams open from your link: close a tab"
            with facilitator.http.stream("GET", "/api/events") as theirs:
                assert theirs.status_code == 200  # another link's slots are its own
    wait_for(lambda: slots.held == 0, timeout=60)
    whole = read_events(sme, until=lambda es: any(e["kind"] == ev.INCIDENT_DETECTED for e in es))
    assert [e["id"] for e in whole][:len(ids)] == ids  # nothing lost across the drop


def test_a_seat_cannot_take_the_facilitators_a_roles_or_the_rooms_own_name(serve_room: ServeRoom) -> None:
    served = serve_room()
    seat = served.seat(1)
    for name in ("facilitator", " Facilitator ", "the facilitator", "Incident Commander", "incident_commander",
                 "IC", "communications lead", "Comms", "SME", "scribe", "observer", "harness", "alertmanager",
                 "seat 2", "Seat-3"):
        refused = seat.post("/api/seat", {"name": name, "role": "sme"})
        assert refused.status_code == 409, name
        assert refused.json()["error"] == (f"the name '{name.strip()}' is reserved (the timeline would read as the "
                                           "facilitator, a role or the room acting): give your own name")
    assert seat.state()["you"]["role"] == ""  # none of them took the seat
    for number, name in enumerate(("Sam Scribe", "oncall", "seat two"), start=2):  # a person's own names
        assert served.seat(number).post("/api/seat", {"name": name, "role": "observer"}).status_code == 200, name


def test_invisible_characters_feed_punctuation_and_look_alikes_do_not_get_past_the_reserved_names(
        serve_room: ServeRoom) -> None:
    seat = serve_room().seat(1)
    for name in ("facilitator\u200b", "alex, seat 2", "Facilitator (seat 2)"):  # invisible or feed punctuation
        refused = seat.post("/api/seat", {"name": name, "role": "sme"})
        assert refused.status_code == 409 and "the feed could misread" in refused.json()["error"], name
    for name in ("\uff26acilitator", "fac\u0131litator", "seat3", "\u0441omms"):  # look-alikes of reserved names
        refused = seat.post("/api/seat", {"name": name, "role": "sme"})
        assert refused.status_code == 409 and "is reserved" in refused.json()["error"], name
    assert seat.post("/api/seat", {"name": "Zo\u00eb O'Brien", "role": "observer"}).status_code == 200


def test_a_seat_cannot_act_for_another_role_and_nothing_is_recorded(serve_room: ServeRoom) -> None:
    served = serve_room()
    facilitator = served.facilitator()
    comms = served.seat(1, name="sam", role="communications")
    watcher = served.seat(2, name="olu", role="observer")
    assert comms.act("hypothesis", text="early").json()["error"] == "the drill has not begun"
    begun(served, facilitator)
    refused = comms.act("acknowledge", person="sam")
    assert refused.status_code == 409
    assert refused.json()["error"] == ("only the incident commander or sme can acknowledge the page; "
                                       "you are the communications")
    assert watcher.act("detect", person="olu", signal="alert").status_code == 409
    assert comms.act("release_inject", inject="inject-1").json()["error"].startswith("only the facilitator")
    assert comms.control("stop").json()["error"] == "only the facilitator can stop the drill"
    kinds = [e.kind for e in served.room.events()]
    assert ev.INCIDENT_ACKNOWLEDGED not in kinds and ev.INCIDENT_DETECTED not in kinds
    assert watcher.state()["you"]["actions"] == {}
    assert comms.state()["you"]["actions"]["status_update"][0] == "triage"  # the core's phases, for the page


def test_a_seat_acts_only_under_its_own_name_and_its_events_say_which_seat(serve_room: ServeRoom) -> None:
    served = serve_room(speed=2.0)  # inject-1 (at 30 s) is due after 15 s, long after the facilitator releases it
    facilitator = served.facilitator()
    sme = served.seat(2, name="oncall", role="sme")
    ic = served.seat(3, name="alex", role="incident_commander")
    begun(served, facilitator)
    sme.ok("detect", person="alex", signal="customer_report")  # the name typed is not the seat's: ignored
    ic.ok("acknowledge", person="oncall")
    ic.ok("advance")
    events = served.room.events()
    detected, acked = ev.first(events, ev.INCIDENT_DETECTED), ev.first(events, ev.INCIDENT_ACKNOWLEDGED)
    assert detected is not None and acked is not None
    assert (detected.actor, detected.details["person"]) == ("oncall", "oncall")
    assert (detected.details["seat"], detected.details["seat_role"]) == (2, "sme")
    assert (acked.actor, acked.details["person"], acked.details["seat"]) == ("alex", "alex", 3)
    phase = ev.last(events, ev.DRILL_PHASE)
    assert phase is not None and phase.details["phase"] == "triage" and phase.details["seat"] == 3
    assert phase.details["seat_role"] == "incident_commander"
    facilitator.ok("release_inject", inject="inject-1")
    released = ev.last(served.room.events(), ev.INJECT_RELEASED)
    assert released is not None and "seat" not in released.details  # the facilitator is no seat
    assert ev.undocumented(served.room.events()) == []


def test_seat_names_are_unique_and_the_facilitator_moves_only_joined_seats_keeping_one_commander(
        serve_room: ServeRoom) -> None:
    served = serve_room()
    facilitator = served.facilitator()
    served.seat(1, name="alex", role="incident_commander")
    second = served.seat(2)
    refused = second.post("/api/seat", {"name": " Alex ", "role": "sme"})
    assert refused.status_code == 409
    assert refused.json()["error"] == "the name 'Alex' is taken by seat 1: choose another"
    assert second.post("/api/seat", {"name": "sam", "role": "sme"}).status_code == 200
    moved = facilitator.control("set_role", seat=2, role="incident_commander")
    assert moved.json()["error"] == "another seat is the incident commander"
    unjoined = facilitator.control("set_role", seat=3, role="scribe")
    assert unjoined.json()["error"] == "seat 3 has not joined yet: its person chooses a role on joining"
    assert facilitator.control("set_role", seat=2, role="scribe").status_code == 200
    seats = {s["number"]: s for s in facilitator.state()["seats"]}
    assert (seats[2]["role"], seats[3]["role"]) == ("scribe", None)
    assert served.seat(3, name="kim", role="communications").state()["you"]["role"] == "communications"


def test_a_reconnect_with_last_event_id_gets_exactly_the_missed_events(serve_room: ServeRoom) -> None:
    served = serve_room()
    facilitator = served.facilitator()
    sme = served.seat(1, name="bob", role="sme")
    begun(served, facilitator)
    first = read_events(sme, until=lambda es: any(e["kind"] == ev.DRILL_PHASE for e in es)
                        or any(e["kind"] == ev.INJECT_RELEASED for e in es))
    last = first[-1]["id"]
    sme.ok("detect", person="bob", signal="alert", alert="DatabaseUnreachable")  # while disconnected
    sme.ok("acknowledge", person="bob")
    again = read_events(sme, last_id=last, until=lambda es: any(e["kind"] == ev.INCIDENT_ACKNOWLEDGED for e in es))
    ids = [e["id"] for e in first + again]
    assert ids == sorted(set(ids)), "an event was repeated or came out of order"
    whole = read_events(sme, until=lambda es: any(e["kind"] == ev.INCIDENT_ACKNOWLEDGED for e in es))
    assert [e["id"] for e in whole] == ids  # nothing lost across the drop
    assert {ev.INCIDENT_DETECTED, ev.INCIDENT_ACKNOWLEDGED} <= {e["kind"] for e in again}


def test_a_seat_never_sees_the_fault_or_a_withheld_inject(serve_room: ServeRoom) -> None:
    served = serve_room()
    facilitator = served.facilitator()
    sme = served.seat(1, name="bob", role="sme")
    begun(served, facilitator)
    assert facilitator.ok("withhold_inject", inject="inject-6") == "done"
    seen = read_events(facilitator, until=lambda es: any(e["kind"] == ev.INJECT_WITHHELD for e in es))
    assert ev.FAULT_INJECTED in {e["kind"] for e in seen}
    sme.ok("detect", person="bob", signal="other")  # after the withheld inject: the seat's stream reaches it
    mine = read_events(sme, until=lambda es: any(e["kind"] == ev.INCIDENT_DETECTED for e in es))
    assert ev.INJECT_WITHHELD in {e["kind"] for e in read_events(
        facilitator, until=lambda es: any(e["kind"] == ev.INCIDENT_DETECTED for e in es))}
    assert not {ev.FAULT_INJECTED, ev.FAULT_INTENDED, ev.INJECT_WITHHELD, ev.RUN_STARTED} & {e["kind"] for e in mine}
    drill = sme.state()["drill"]
    assert "injects" not in drill and "fault_live" not in drill


def test_a_tabletop_of_the_demo_drill_runs_to_its_scorecard_over_http(serve_room: ServeRoom, tmp_path: Path) -> None:
    served = serve_room(speed=100.0)
    facilitator = served.facilitator()
    ic = served.seat(1, name="alex", role="incident_commander")
    comms = served.seat(2, name="sam", role="communications")
    sme = served.seat(3, name="oncall", role="sme")
    scribe = served.seat(4, name="kim", role="scribe")
    begun(served, facilitator)
    sme.ok("detect", person="oncall", signal="customer_report")
    sme.ok("acknowledge", person="oncall")
    assert ic.ok("advance") == "now in triage"
    assert ic.ok("declare_severity", severity="2") == "declared SEV2"
    ic.ok("assign_role", role="incident_commander", person="alex")
    ic.ok("assign_role", role="communications", person="sam")
    assert ic.act("advance").json()["error"] == "cannot leave the triage phase: send the first status update first"
    template = comms.state()["drill"]["templates"]["internal"]
    assert "Severity: SEV2" in template
    comms.ok("status_update", audience="internal", text="checkout down | SEV2 | investigating")
    ic.ok("advance")
    sme.ok("hypothesis", text="PostgreSQL is down")
    ic.ok("advance")
    steps = sme.state()["drill"]["checklist"]
    assert steps and not sme.state()["drill"]["can_run_commands"]
    refused = sme.act("run_step", step=steps[0]["step"], confirmed=True)
    assert refused.json()["error"] == "a tabletop runs no commands: tick the step done, failed or skipped"
    for step in steps:
        sme.ok("runbook_step", step=step["step"], outcome="done")
    ic.ok("mitigated")
    ic.ok("advance")
    wait_for(lambda: not served.room.host.core().state.fault_live, timeout=60)
    assert ic.ok("request_all_clear") == "the probes are green: a second person confirms the all-clear"
    assert "second person" in ic.act("confirm_all_clear").json()["error"]
    sme.ok("confirm_all_clear")
    ic.ok("advance")
    scribe.ok("record_review", went_well=["the customer report was fast"], went_poorly=[], got_lucky=[],
              root_cause="PostgreSQL was killed", action_items=[
                  {"text": "restart policy", "owner": "platform", "due": "2026-12-15"}])
    assert ic.ok("advance") == "now in done"
    wait_for(lambda: facilitator.state()["room"]["status"] == "finished", timeout=120)
    room = facilitator.state()["room"]
    assert room["outcome"] == "passed" and room["scorecard"]["overall"] is not None
    assert any(c["rating"] for c in room["scorecard"]["capabilities"])
    run_dir = tmp_path / "reports" / room["run_id"]
    events = read_timeline(run_dir / "timeline.jsonl")
    resolved = ev.first(events, ev.INCIDENT_RESOLVED)
    assert resolved is not None and resolved.actor == "alex" and resolved.details["confirmed_by"] == "oncall"
    assert (resolved.details["seat"], resolved.details["seat_role"]) == (3, "sme")  # the seat that confirmed
    assert all("seat" in e.details for e in events if e.kind in ev.HUMAN_KINDS and e.actor in ("alex", "sam",
                                                                                                 "oncall", "kim"))
    assert [e.actor for e in events if e.kind == ev.STATUS_UPDATE_SENT] == ["sam"]
    assert ev.undocumented(events) == []
    assert (run_dir / "scorecard.json").is_file()
    runs = ic.http.get("/reports/")
    assert runs.status_code == 200 and room["run_id"] in runs.text
    report = ic.http.get(f"/reports/{room['run_id']}/")
    assert report.status_code == 200 and "checkout-db-down-drill" in report.text
    assert ic.http.get("/reports/..%2F..%2Fetc/").status_code == 404
    assert ic.http.get("/trends").status_code == 200


@pytest.mark.parametrize("op", ["pause", "resume"])
def test_a_live_drill_clock_is_never_paused(serve_room: ServeRoom, op: str) -> None:
    served = serve_room(speed=None)
    facilitator = served.facilitator()
    answer = facilitator.control(op)
    assert answer.status_code == 409 and answer.json()["error"] == "only a running tabletop's clock can be paused"


def _as_if_its_process_died(run_dir: Path) -> None:
    """Point run.started at a process that has exited, as after a crash (resume refuses a live one)."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    path = run_dir / "timeline.jsonl"
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    assert first["kind"] == ev.RUN_STARTED
    first["details"]["pid"] = dead.pid
    path.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")


def test_a_restarted_room_resumes_the_drill_where_it_stopped(serve_room: ServeRoom, tmp_path: Path) -> None:
    served = serve_room(speed=100.0)
    facilitator = served.facilitator()
    sme = served.seat(1, name="oncall", role="sme")
    begun(served, facilitator)
    sme.ok("detect", person="oncall", signal="other")
    sme.ok("acknowledge", person="oncall")
    facilitator.ok("advance")
    assert facilitator.control("stop").status_code == 200
    wait_for(lambda: facilitator.state()["room"]["status"] == "finished", timeout=120)
    run_id = facilitator.state()["room"]["run_id"]
    run_dir = tmp_path / "reports" / run_id
    _as_if_its_process_died(run_dir)

    again = serve_room(resume=run_id, scenario=None, speed=None)
    facilitator = again.facilitator()
    ic = again.seat(1, name="alex", role="incident_commander")
    comms = again.seat(2, name="sam", role="communications")
    begun(again, facilitator)
    drill = ic.state()["drill"]
    assert drill["phase"] == "triage" and drill["acknowledged"]  # nothing asked twice
    ic.ok("declare_severity", severity="SEV2")
    ic.ok("assign_role", role="incident_commander", person="alex")
    comms.ok("status_update", audience="internal", text="resumed; investigating")
    for _ in ("investigate", "mitigate"):
        ic.ok("advance")
    ic.ok("mitigated")
    ic.ok("advance")
    ic.ok("request_all_clear")
    comms.ok("confirm_all_clear")
    ic.ok("advance")
    ic.ok("record_review", went_well=["resumed cleanly"], root_cause="a drill test", action_items=[])
    ic.ok("advance")
    wait_for(lambda: facilitator.state()["room"]["status"] == "finished", timeout=120)
    events = read_timeline(run_dir / "timeline.jsonl")
    kinds = [e.kind for e in events]
    assert kinds.count(ev.DRILL_RESUMED) == 1 and kinds.count(ev.INCIDENT_ACKNOWLEDGED) == 1
    assert kinds[-1] == ev.RUN_FINISHED and events[-1].details["resumed"] is True
    assert facilitator.state()["room"]["scorecard"]["overall"] is not None


def test_the_facilitator_pauses_a_tabletop_and_nothing_is_recorded_until_it_resumes(serve_room: ServeRoom) -> None:
    served = serve_room(speed=100.0)
    facilitator = served.facilitator()
    sme = served.seat(1, name="bob", role="sme")
    begun(served, facilitator)
    assert sme.control("pause").json()["error"] == "only the facilitator can pause the drill"
    assert facilitator.control("pause").status_code == 200
    assert facilitator.control("pause").json()["error"] == "the drill is already paused"
    stopped_at = sme.state()["drill"]["t_s"]
    refused = sme.act("detect", person="bob", signal="other")
    assert refused.status_code == 409 and refused.json()["error"] == "the drill is paused: the facilitator resumes it"
    assert sme.state()["room"]["paused"] and sme.state()["drill"]["t_s"] == stopped_at  # scenario time stands
    assert facilitator.control("resume").status_code == 200
    sme.ok("detect", person="bob", signal="other")
    kinds = [e.kind for e in served.room.events()]
    assert kinds.index(ev.TABLETOP_PAUSED) < kinds.index(ev.TABLETOP_RESUMED) < kinds.index(ev.INCIDENT_DETECTED)
