"""A live drill in the room, end to end: ``gameday room SCENARIO`` (no --speed) kills a real container, the
facilitator and a seat play the drill through HTTP, the seat restarts the container with the runbook's own
command, and the run ends as the terminal's live drill ends: the fault reverted, the timeline, the scorecard,
the reports and the history.

The target is a busybox httpd container on host networking, on a free 127.0.0.1 port (tests/conftest.py's
``web_container``), with the facilitator tests' drill (tests/facilitator/conftest.py's ``drill_scenario``).
"""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from gameday import events as ev
from gameday.report.postmortem import build_postmortem
from gameday.report.run_inputs import scoring_context
from gameday.timeline import read_timeline
from tests.conftest import http_ok, wait_for
from tests.facilitator.conftest import drill_scenario, dump, only_run
from tests.room.conftest import Participant, gameday, read_links

pytestmark = pytest.mark.docker


def _status(container: Any) -> str:
    container.reload()
    return str(container.attrs["State"]["Status"])


def _probe(client: Participant, name: str) -> bool | None:
    return next((p["ok"] for p in client.state()["probes"] if p["name"] == name), None)


def test_a_live_drill_in_the_room_injects_a_real_fault_and_ends_as_the_terminals_would(
        tmp_path: Path, web_container: Any) -> None:
    web = web_container()
    scenario = drill_scenario(tmp_path, container=web.name, url=web.url, duration="60s")
    room = gameday("room", "--seats", "1", "--reports", "reports", "--history", "history.sqlite", str(scenario),
                   cwd=tmp_path)
    lines: list[str] = []
    try:
        links = read_links(room, lines, seats=1)
        assert sorted(links) == ["1", "facilitator"], "".join(lines)
        assert "a real fault is injected" in "".join(lines)  # a live drill, not a tabletop
        base = links["facilitator"].split("/join/")[0]
        facilitator = Participant(base, links["facilitator"])
        alex = Participant(base, links["1"])
        assert alex.post("/api/seat", {"name": "alex", "role": "incident_commander"}).status_code == 200
        assert facilitator.state()["room"]["mode"] == "live"
        assert _status(web.container) == "running" and http_ok(web.url)  # nothing is broken before Start

        assert facilitator.control("start").status_code == 200
        wait_for(lambda: facilitator.state()["room"]["status"] == "running", timeout=120)
        wait_for(lambda: _status(web.container) != "running", timeout=60)  # the engine killed the real container
        wait_for(lambda: _probe(alex, "web") is False, timeout=60)  # and the seat sees the real probe turn red
        assert facilitator.control("pause").json()["error"] == "only a running tabletop's clock can be paused"

        alex.ok("detect", signal="probe")
        alex.ok("acknowledge")
        assert alex.ok("advance") == "now in triage"
        assert alex.ok("declare_severity", severity="SEV2") == "declared SEV2"
        alex.ok("assign_role", role="incident_commander", person="alex")
        facilitator.ok("status_update", audience="internal", text="web down | SEV2 | investigating")
        assert alex.ok("advance") == "now in investigate"
        alex.ok("hypothesis", text="the web container died")
        assert alex.ok("advance") == "now in mitigate"
        assert alex.state()["drill"]["can_run_commands"]  # a live drill runs the runbook's commands
        unconfirmed = alex.act("run_step", step=2, confirmed=False)
        assert unconfirmed.status_code == 409 and _status(web.container) != "running"  # nothing ran
        # The seat is shown each command before it runs it, and its output after, as the terminal prints them.
        commands = {c["step"]: c["command"] for c in alex.state()["drill"]["checklist"] if c["command"]}
        assert commands[2] == f"docker start {web.name}"
        checked = alex.ok("run_step", step=1, confirmed=True)
        assert checked.startswith("exit 0") and checked.endswith(": exited"), checked  # docker inspect's answer
        start_output = alex.ok("run_step", step=2, confirmed=True)  # docker start, by the room
        assert start_output.startswith("exit 0") and start_output.endswith(f": {web.name}"), start_output
        wait_for(lambda: _status(web.container) == "running", timeout=60)
        alex.ok("mitigated")
        assert alex.ok("advance") == "now in verify"
        wait_for(lambda: _probe(alex, "web") is True, timeout=60)
        assert alex.ok("request_all_clear") == "the probes are green: a second person confirms the all-clear"
        facilitator.ok("confirm_all_clear", second="kim")
        assert alex.ok("advance") == "now in review"
        alex.ok("record_review", went_well=["the probe showed it at once"], went_poorly=[], got_lucky=[],
                root_cause="the web container was killed and nothing restarts it",
                action_items=[{"text": "add a restart policy", "owner": "platform", "due": "2026-12-15"}])
        assert alex.ok("advance") == "now in done"
        wait_for(lambda: facilitator.state()["room"]["status"] == "finished", timeout=180)
        shown = facilitator.state()["room"]
        for client in (facilitator, alex):
            client.close()
    finally:
        room.send_signal(signal.SIGTERM)
        rest = room.communicate(timeout=120)[0]
    assert room.returncode == 0, "".join(lines) + rest  # finished and passed
    assert "Traceback" not in rest

    run_dir = only_run(tmp_path / "reports")
    events = read_timeline(run_dir / "timeline.jsonl")
    kinds = [e.kind for e in events]
    started = ev.first(events, ev.RUN_STARTED)
    assert started is not None and started.details["drill"] is True
    assert started.details.get("mode") != "tabletop"  # a tabletop names itself; a live run is the default
    injected, reverted = ev.first(events, ev.FAULT_INJECTED), ev.first(events, ev.FAULT_REVERTED)
    assert injected is not None and reverted is not None, dump(events)
    assert injected.details["kind"] == "container_kill" and web.name in json.dumps(injected.details)
    # The accepted all-clear ended the 60 s window early; the harness's revert found the container running.
    assert ev.FAULT_PHASE_ENDED in kinds and reverted.details["duration_s"] < 50
    probes = [e.details["ok"] for e in events if e.kind == ev.PROBE_CHECKED]
    assert False in probes and probes[-1] is True  # the real probe went red under the fault, green after
    steps = [(e.details["step"], e.details["exit_code"], e.details["seat"]) for e in events if e.kind == ev.RUNBOOK_STEP]
    assert steps == [(1, 0, 1), (2, 0, 1)]
    resolved = ev.first(events, ev.INCIDENT_RESOLVED)
    assert resolved is not None and (resolved.actor, resolved.details["confirmed_by"]) == ("alex", "kim")
    assert kinds.index(ev.FAULT_INJECTED) < kinds.index(ev.INCIDENT_DETECTED) < kinds.index(ev.INCIDENT_RESOLVED)
    assert kinds.index(ev.INCIDENT_RESOLVED) < kinds.index(ev.FAULT_REVERTED) < kinds.index(ev.RUN_FINISHED)
    assert events[-1].kind == ev.RUN_FINISHED and events[-1].details["outcome"] == "passed"
    assert all(e.details.get("drill") is True and "t_s" in e.details for e in events if e.kind in ev.HUMAN_KINDS)
    assert ev.undocumented(events) == []

    # The scorecard is the one finish step's: the room showed what scorecard.json holds, and the saved
    # timeline scores the same offline.
    saved = json.loads((run_dir / "scorecard.json").read_text())
    card = build_postmortem(events, scoring_context(run_dir)).scorecard
    assert shown["outcome"] == "passed" and shown["scorecard"]["overall"] == saved["overall"] == card.overall
    assert shown["scorecard"]["overall"] is not None
    assert {c["id"]: c["rating"] for c in shown["scorecard"]["capabilities"]} == \
        {c.id: c.rating for c in card.capabilities}
    assert (run_dir / "report.html").is_file() and (run_dir / "report.md").is_file()
    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        assert run_dir.name in json.dumps(db.execute("SELECT * FROM runs").fetchall())
    assert _status(web.container) == "running" and http_ok(web.url)  # left as found
