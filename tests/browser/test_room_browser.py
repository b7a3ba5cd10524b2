"""The drill room in a real browser (issue 18): Debian's Chromium driven by Playwright, one browser context per
participant (the facilitator and the seats each have their own cookies), acting through the pages only.

Each test starts its own room on a free 127.0.0.1 port and a tabletop of the demo drill at 100x, and waits
on what the pages show, with generous deadlines.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from gameday import events as ev
from gameday.room.guard import MAX_STREAMS
from gameday.timeline import read_timeline
from tests.browser.pages import (
    DEADLINE_MS,
    PHONE,
    Participants,
    act,
    clipped,
    expect,
    feed_ids,
    focus_ring,
    has_focus,
    horizontal_overflow,
    join_seat,
    outside_viewport,
    participants,
    relay_to,
    stream_record,
    tab_to,
)
from tests.room.conftest import Served, running_room

if TYPE_CHECKING:  # not at run time: -m 'not browser' collects these tests without Playwright installed
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

FINISHING_MS = 180_000
"""From the last action to the scorecard: the run's recovery, scoring and report under a loaded machine."""


def console_for(people: Participants, served: Served) -> Page:
    console = people.page()
    console.goto(served.facilitator_link)
    expect(console.get_by_test_id("room-status")).to_have_text("waiting")
    return console


def start(console: Page, *seats: Page) -> None:
    """The facilitator presses Start; the seats see the drill's first phase."""
    console.get_by_test_id("start").click()
    expect(console.get_by_test_id("room-status")).to_have_text(re.compile(r"^running"))
    for seat in seats:
        expect(seat.get_by_test_id("phase")).to_have_text("detect")


def feed_item(page: Page, kind: str) -> Any:
    return page.locator(f'[data-testid=feed-item][data-kind="{kind}"]')


def test_a_tabletop_of_the_demo_drill_runs_to_its_scorecard_in_three_browsers(browser: Any, tmp_path: Path) -> None:
    with running_room(tmp_path, speed=100.0, seats=2) as served, participants(browser) as people:
        console = console_for(people, served)
        ic = people.page()
        join_seat(ic, served.seat_links[0], name="alex", role="incident_commander")
        comms = people.page()
        join_seat(comms, served.seat_links[1], name="sam", role="communications")
        rows = console.get_by_test_id("seat-row")
        expect(rows.nth(0)).to_contain_text("alex")
        expect(rows.nth(1)).to_contain_text("sam")
        start(console, ic, comms)

        act(comms, "detect", signal="customer_report")
        expect(feed_item(ic, ev.INCIDENT_DETECTED)).to_have_count(1)  # the other seat sees it live
        act(ic, "acknowledge")
        act(ic, "advance", expect_message="now in triage")
        act(ic, "declare_severity", severity="SEV2", expect_message="declared SEV2")
        expect(comms.get_by_test_id("severity")).to_have_text("SEV2")
        act(ic, "assign_role", role="incident_commander", person="alex")
        act(ic, "assign_role", role="communications", person="sam")
        update = comms.get_by_test_id("form-status_update")
        update.locator("select[name=audience]").select_option("internal")
        update.get_by_role("button", name="Use the template").click()
        expect(update.locator("textarea[name=text]")).to_have_value(re.compile("Severity: SEV2"))
        act(comms, "status_update")
        act(ic, "advance", expect_message="now in investigate")
        act(ic, "hypothesis", text="PostgreSQL is down")
        act(ic, "advance", expect_message="now in mitigate")
        steps = ic.get_by_test_id("form-runbook_step").locator("select[name=step] option")
        expect(steps).not_to_have_count(0)
        for step in steps.evaluate_all("options => options.map(o => o.value)"):
            act(ic, "runbook_step", step=step, outcome="done")
        act(ic, "mitigated")
        act(ic, "advance", expect_message="now in verify")
        act(ic, "request_all_clear", expect_message="the probes are green: a second person confirms the all-clear")
        expect(comms.get_by_test_id("form-confirm_all_clear")).to_contain_text("Declared by alex")
        act(comms, "confirm_all_clear")
        act(ic, "advance", expect_message="now in review")
        act(ic, "record_review", went_well="the customer report was fast", root_cause="PostgreSQL was killed",
            action_items="restart policy | platform | 2026-12-15")
        act(ic, "advance", expect_message="now in done")

        expect(console.get_by_test_id("room-status")).to_have_text("finished", timeout=FINISHING_MS)
        expect(console.get_by_test_id("overall")).to_contain_text("Overall:")
        expect(console.get_by_test_id("capability")).not_to_have_count(0)
        for seat in (ic, comms):
            expect(seat.get_by_test_id("overall")).to_have_text(console.get_by_test_id("overall").inner_text())
        run_id = served.room.status.run_id
        console.get_by_test_id("report-link").click()
        expect(console).to_have_url(re.compile(f"/reports/{run_id}/$"))
        expect(console.locator("body")).to_contain_text("checkout-db-down-drill")

        run_dir = tmp_path / "reports" / run_id
        events = read_timeline(run_dir / "timeline.jsonl")
        assert events[-1].kind == ev.RUN_FINISHED and events[-1].details["outcome"] == "passed"
        resolved = ev.first(events, ev.INCIDENT_RESOLVED)
        assert resolved is not None and resolved.actor == "alex" and resolved.details["confirmed_by"] == "sam"
        updates = [e for e in events if e.kind == ev.STATUS_UPDATE_SENT]
        assert [e.actor for e in updates] == ["sam"] and "Severity: SEV2" in updates[0].details["text"]
        review = ev.first(events, ev.REVIEW_RECORDED)
        assert review is not None and review.details["action_items"][0]["owner"] == "platform"
        assert (run_dir / "scorecard.json").is_file()


def test_a_seat_that_tries_another_roles_action_is_refused_and_nothing_is_recorded(
        browser: Any, tmp_path: Path) -> None:
    with running_room(tmp_path, speed=100.0, seats=2) as served, participants(browser) as people:
        console = console_for(people, served)
        comms = people.page()
        join_seat(comms, served.seat_links[0], name="sam", role="communications")
        sme = people.page()
        join_seat(sme, served.seat_links[1], name="oncall", role="sme")
        start(console, comms, sme)
        act(sme, "detect", signal="alert", alert="DatabaseUnreachable")
        expect(sme.get_by_test_id("form-acknowledge")).to_be_visible()
        ack = comms.get_by_test_id("form-acknowledge")
        expect(ack).to_be_hidden()  # the page offers a seat only its role's actions...

        # ...so a seat trying another role's action is a page altered in the browser: the server decides.
        with comms.expect_response(lambda r: r.url.endswith("/api/action")) as answer:
            ack.evaluate("form => form.requestSubmit()")
        refusal = "only the incident commander or sme can acknowledge the page; you are the communications"
        assert answer.value.status == 409 and answer.value.json()["error"] == refusal
        notice = comms.get_by_test_id("notice")
        expect(notice).to_have_text(refusal)
        expect(notice).to_have_class("error")
        assert ev.INCIDENT_ACKNOWLEDGED not in {e.kind for e in served.room.events()}
        expect(sme.get_by_test_id("form-acknowledge")).to_be_visible()  # still nobody's acknowledgement

        # The facilitator moves the seat to the SME role from the console; the seat's page follows.
        row = console.get_by_test_id("seat-row").filter(has_text="sam")
        row.get_by_role("combobox").select_option("sme")
        row.get_by_role("button", name="Set").click()
        expect(comms.get_by_test_id("whoami")).to_have_text("sam, sme")
        act(comms, "acknowledge")
        acknowledged = ev.first(served.room.events(), ev.INCIDENT_ACKNOWLEDGED)
        assert acknowledged is not None and acknowledged.actor == "sam"


def test_a_seat_whose_connection_drops_gets_every_event_it_missed_once(browser: Any, tmp_path: Path) -> None:
    with running_room(tmp_path, speed=100.0, seats=2) as served, relay_to(served.base) as relay, \
            participants(browser) as people:
        console = console_for(people, served)
        ic = people.page()
        join_seat(ic, served.seat_links[0], name="alex", role="incident_commander")
        seat = people.page(record=True)  # reaches the room through the relay
        join_seat(seat, served.seat_links[1].replace(served.base, relay.base), name="kim", role="scribe")
        start(console, ic, seat)
        expect(seat.get_by_test_id("feed-item")).not_to_have_count(0)

        relay.cut()
        expect(seat.get_by_test_id("notice")).to_have_text("reconnecting to the room...")
        act(ic, "detect", signal="customer_report")
        act(ic, "acknowledge")
        act(ic, "advance", expect_message="now in triage")
        expect(feed_item(seat, ev.INCIDENT_DETECTED)).to_have_count(0)  # missed while cut off
        relay.restore()
        expect(seat.get_by_test_id("notice")).to_have_text("connected")
        for kind in (ev.INCIDENT_DETECTED, ev.INCIDENT_ACKNOWLEDGED):
            expect(feed_item(seat, kind)).to_have_count(1)

        console.get_by_test_id("stop").click()
        expect(console.get_by_test_id("room-status")).to_have_text("finished", timeout=FINISHING_MS)
        events = read_timeline(tmp_path / "reports" / served.room.status.run_id / "timeline.jsonl")
        seen = [i + 1 for i in range(len(events)) if served.room.visible(events, i, facilitator=False)]
        expect(seat.get_by_test_id("feed-item")).to_have_count(len(seen))
        assert feed_ids(seat) == seen  # the seat's feed is the run's timeline as a seat sees it
        shown = dict(seat.get_by_test_id("feed-item").evaluate_all(
            "items => items.map(i => [Number(i.dataset.id), i.dataset.kind])"))
        assert [shown[i] for i in seen] == [events[i - 1].kind for i in seen]
        stream = stream_record(seat)
        assert stream["ids"] == seen, "the stream lost, repeated or reordered an event"
        assert stream["opens"] >= 2 and stream["errors"] >= 1  # it did drop and come back


def test_a_seat_joins_and_acts_with_the_keyboard_alone(browser: Any, tmp_path: Path) -> None:
    with running_room(tmp_path, speed=100.0, seats=1) as served, participants(browser) as people:
        console = console_for(people, served)
        seat = people.page()
        seat.goto(served.seat_links[0])
        keys = seat.keyboard
        tab_to(seat, seat.get_by_test_id("seat-name"))
        keys.type("oncall")
        tab_to(seat, seat.get_by_test_id("seat-role"))
        for _ in range(3):  # incident commander, communications lead, scribe, SME
            keys.press("ArrowDown")
        expect(seat.get_by_test_id("seat-role")).to_have_value("sme")
        join = seat.get_by_test_id("seat-submit")
        tab_to(seat, join)
        assert join.evaluate("b => getComputedStyle(b).outlineStyle") != "none"  # a visible focus ring
        keys.press("Enter")
        expect(seat.get_by_test_id("whoami")).to_have_text("oncall, sme")
        start(console, seat)

        detect = seat.get_by_test_id("form-detect")
        tab_to(seat, detect.locator("select[name=signal]"))
        keys.press("ArrowDown")  # alert -> customer report
        expect(detect.locator("select[name=signal]")).to_have_value("customer_report")
        tab_to(seat, detect.get_by_role("button", name="Noticed"))
        keys.press("Enter")
        expect(feed_item(seat, ev.INCIDENT_DETECTED)).to_have_count(1)
        expect(feed_item(seat, ev.INCIDENT_DETECTED)).to_contain_text("(oncall, seat 1)")  # which seat acted
        expect(detect.locator("input[name=person]")).to_be_hidden()  # a seat is its own person: nothing to type
        tab_to(seat, seat.get_by_test_id("form-acknowledge").get_by_role("button", name="Acknowledge"))
        keys.press("Enter")
        expect(feed_item(seat, ev.INCIDENT_ACKNOWLEDGED)).to_have_count(1)
        detected = ev.first(served.room.events(), ev.INCIDENT_DETECTED)
        assert detected is not None and detected.details["signal"] == "customer_report"
        assert detected.details["person"] == "oncall"


def test_the_seat_view_fits_a_phone_without_horizontal_scrolling(browser: Any, tmp_path: Path) -> None:
    with running_room(tmp_path, speed=100.0, seats=1) as served, participants(browser) as people:
        console = console_for(people, served)
        seat = people.page(viewport=PHONE)
        seat.goto(served.seat_links[0])
        expect(seat.get_by_test_id("seat-submit")).to_be_in_viewport()
        assert horizontal_overflow(seat) == 0 and outside_viewport(seat) == []
        join_seat(seat, served.seat_links[0], name="oncall", role="sme")
        start(console, seat)
        act(seat, "detect", signal="alert", alert="DatabaseUnreachable")
        expect(feed_item(seat, ev.INJECT_RELEASED)).not_to_have_count(0)  # long lines of text in the feed
        ack = seat.get_by_test_id("form-acknowledge").get_by_role("button", name="Acknowledge")
        expect(ack).to_be_visible()
        assert horizontal_overflow(seat) == 0, "the seat page scrolls sideways at phone width"
        assert outside_viewport(seat) == []
        box = ack.bounding_box()
        assert box is not None and box["height"] >= 40  # a finger-sized target
        ack.scroll_into_view_if_needed()
        expect(ack).to_be_in_viewport()
        ack.click()
        expect(feed_item(seat, ev.INCIDENT_ACKNOWLEDGED)).to_have_count(1, timeout=DEADLINE_MS)


def test_the_facilitator_starts_releases_pauses_and_stops_with_the_keyboard_alone(
        browser: Any, tmp_path: Path) -> None:
    # At 2x the demo drill's log inject (T+90s) is 45 s away: still pending when the keyboard reaches it.
    with running_room(tmp_path, speed=2.0, seats=1) as served, participants(browser) as people:
        console = console_for(people, served)
        keys = console.keyboard
        status = console.get_by_test_id("room-status")
        start_button = console.get_by_test_id("start")
        tab_to(console, start_button)
        assert focus_ring(console) != "none"
        keys.press("Enter")
        expect(status).to_have_text("running")
        # Start is disabled by what it did: the focus waits above the controls, never on Stop.
        expect(console.locator("#controls-title")).to_be_focused()
        assert tab_to(console, console.get_by_test_id("pause")) == 1  # Start is skipped: disabled

        release = console.get_by_test_id("release_inject-inject-3")
        tab_to(console, release)
        assert focus_ring(console) != "none"
        keys.press("Enter")
        row = console.locator('[data-testid=inject-row][data-inject="inject-3"]')
        expect(row.locator("td").nth(3)).to_have_text("released")
        expect(release).to_have_count(0)
        expect(row).to_be_focused()  # its buttons went: the focus stays on its row, visibly
        assert focus_ring(console) != "none"
        expect(feed_item(console, ev.INJECT_RELEASED).filter(has_text="psycopg")).to_have_count(1)

        pause = console.get_by_test_id("pause")
        tab_to(console, pause, back=True)
        keys.press("Space")
        expect(status).to_have_text("running (clock paused)")
        expect(console.locator("#controls-title")).to_be_focused()
        resume = console.get_by_test_id("resume")
        assert tab_to(console, resume) == 1  # the control that is enabled now is the next stop
        stop = console.get_by_test_id("stop")
        assert tab_to(console, stop) == 1
        assert focus_ring(console) != "none"
        keys.press("Enter")
        expect(status).to_have_text("finished", timeout=FINISHING_MS)
        kinds = [e.kind for e in read_timeline(tmp_path / "reports" / served.room.status.run_id / "timeline.jsonl")]
        assert kinds.index(ev.INJECT_RELEASED) < kinds.index(ev.TABLETOP_PAUSED) < kinds.index(ev.DRILL_STOPPED)
        released = [e for e in served.room.events() if e.kind == ev.INJECT_RELEASED]
        assert [e.details["inject"] for e in released if e.details.get("by") == "facilitator"] == ["inject-3"]
        assert not has_focus(start_button)


def test_the_consoles_inject_buttons_are_on_screen_at_1280_wide(browser: Any, tmp_path: Path) -> None:
    with running_room(tmp_path, speed=2.0, seats=1) as served, participants(browser) as people:
        console = people.page(viewport={"width": 1280, "height": 800})
        console.goto(served.facilitator_link)
        start(console)
        rows = console.get_by_test_id("inject-row")
        expect(rows).not_to_have_count(0)
        buttons = console.locator("[data-testid^=release_inject-], [data-testid^=withhold_inject-]")
        expect(buttons.first).to_be_visible()
        assert clipped(console, "#injects button") == [], "an inject's button is cut off or needs scrolling"
        assert clipped(console, "#seats select, #seats button, #controls button") == []
        assert horizontal_overflow(console) == 0
        expect(buttons.first).to_be_in_viewport(ratio=1)  # the first pending inject's, on the first screen


def test_a_page_refused_an_event_stream_connects_when_a_slot_is_free_and_misses_nothing(
        browser: Any, tmp_path: Path) -> None:
    with running_room(tmp_path, speed=100.0, seats=1) as served, participants(browser) as people, \
            ExitStack() as others:
        console = console_for(people, served)
        seat = people.page(record=True)
        join_seat(seat, served.seat_links[0], name="kim", role="scribe")
        start(console, seat)
        cookies = {c["name"]: c["value"] for c in seat.context.cookies()}
        slots = served.room.seats[0].limits.streams
        tabs = []  # the same person's other tabs, as plain HTTP clients, until every slot is held
        for _ in range(MAX_STREAMS - 1):
            client = others.enter_context(httpx.Client(base_url=served.base, cookies=cookies, timeout=60))
            tab = others.enter_context(client.stream("GET", "/api/events"))
            assert tab.status_code == 200
            tabs.append(tab)
        assert slots.held == MAX_STREAMS

        late = seat.context.new_page()  # one tab too many: its stream is refused (429), and the browser gives up
        late.goto(served.base + "/seat")
        expect(late.get_by_test_id("notice")).to_have_text("reconnecting to the room...")
        expect(late.get_by_test_id("phase")).to_have_text("detect")  # the state is read all the same
        assert stream_record(late)["opens"] == 0 and stream_record(late)["errors"] >= 1
        tabs[0].close()  # a tab closed: its slot is free, and the page's own retry takes it
        expect(late.get_by_test_id("notice")).to_have_text("connected")
        console.get_by_test_id("stop").click()
        expect(console.get_by_test_id("room-status")).to_have_text("finished", timeout=FINISHING_MS)
        events = read_timeline(tmp_path / "reports" / served.room.status.run_id / "timeline.jsonl")
        seen = [i + 1 for i in range(len(events)) if served.room.visible(events, i, facilitator=False)]
        expect(late.get_by_test_id("feed-item")).to_have_count(len(seen))
        assert feed_ids(late) == seen and stream_record(late)["ids"] == seen  # from the first event, once each
