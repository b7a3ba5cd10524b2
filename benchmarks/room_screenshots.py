"""Screenshots of the drill room for docs/room.md: the facilitator's console and a seat at phone width.

    python -m benchmarks.room_screenshots [--out docs] [--speed 5]

Serves a tabletop of the demo drill (scenarios/checkout-db-down-drill.yaml) on a free 127.0.0.1 port, plays
it through the pages in Debian's Chromium (Playwright, as tests/browser does) to the mitigate phase, pauses
the clock so nothing moves, and writes ``room-console.png`` (its first 1280x1000 screen) and ``room-seat.png`` (the
communications seat at 375x740). Needs the dev and room extras and the chromium package (scripts/setup.sh).
Prints how long each part took.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.browser.pages import PHONE, act, find_chromium, join_seat, launch, participants
from tests.room.conftest import running_room

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the two PNG files")
    parser.add_argument("--speed", type=float, default=5.0, help="the tabletop's speed (scenario time per second)")
    args = parser.parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="room-shots-") as tmp, sync_playwright() as playwright:
        browser = launch(playwright, find_chromium())
        launched = time.monotonic()
        with running_room(Path(tmp), speed=args.speed, seats=3) as served, participants(browser) as people:
            console = people.page(viewport={"width": 1280, "height": 1000})
            console.goto(served.facilitator_link)
            ic = people.page()
            join_seat(ic, served.seat_links[0], name="alex", role="incident_commander")
            comms = people.page(viewport=PHONE)
            join_seat(comms, served.seat_links[1], name="sam", role="communications")
            sme = people.page()
            join_seat(sme, served.seat_links[2], name="oncall", role="sme")
            console.get_by_test_id("start").click()
            expect(ic.get_by_test_id("phase")).to_have_text("detect")
            started = time.monotonic()

            act(sme, "detect", signal="alert", alert="DatabaseUnreachable")
            act(sme, "acknowledge")
            act(ic, "advance")
            act(ic, "declare_severity", severity="SEV2")
            act(ic, "assign_role", role="incident_commander", person="alex")
            act(ic, "assign_role", role="communications", person="sam")
            update = comms.get_by_test_id("form-status_update")
            update.locator("select[name=audience]").select_option("internal")
            update.get_by_role("button", name="Use the template").click()
            act(comms, "status_update")
            act(ic, "advance")
            act(sme, "hypothesis", text="/health names postgres: the database is down or unreachable")
            act(ic, "advance")
            act(sme, "runbook_step", step="1", outcome="done")
            act(sme, "runbook_step", step="2", outcome="done")

            console.get_by_test_id("pause").click()  # a still picture: the clock and the injects wait
            expect(console.get_by_test_id("room-status")).to_have_text(re.compile("paused"))
            for page in (console, comms):
                expect(page.get_by_test_id("mode")).to_contain_text("paused")
            update.locator("select[name=audience]").select_option("customer")
            update.get_by_role("button", name="Use the template").click()
            played = time.monotonic()
            args.out.mkdir(parents=True, exist_ok=True)
            console.screenshot(path=str(args.out / "room-console.png"))  # the first screenful: the rest is forms
            comms.screenshot(path=str(args.out / "room-seat.png"), full_page=True)
            shot = time.monotonic()
            console.get_by_test_id("resume").click()
            console.get_by_test_id("stop").click()
            expect(console.get_by_test_id("room-status")).to_have_text("finished", timeout=180_000)
        browser.close()
    print(f"browser launch {launched - began:.1f} s; room up, 4 pages joined and started {started - launched:.1f} s; "
          f"drill played to mitigate {played - started:.1f} s; two screenshots {shot - played:.1f} s; "
          f"total {time.monotonic() - began:.1f} s")
    print(f"wrote {args.out / 'room-console.png'} and {args.out / 'room-seat.png'}")


if __name__ == "__main__":
    main()
