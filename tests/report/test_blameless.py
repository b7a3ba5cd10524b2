"""Blameless by construction: people become roles in everything the report narrates."""

from __future__ import annotations

from pathlib import Path

from gameday.report.blameless import UNASSIGNED, Narrator
from gameday.report.render import render_run
from gameday.testing import drill, ev


def events():
    return drill(
        "SEV2",
        ev(20, "role.assigned", "facilitator", role="incident_commander", person="Alice"),
        ev(21, "role.assigned", "facilitator", role="sme", person="bob"),
        ev(22, "role.assigned", "facilitator", role="sme", person="chen"),
        ev(30, "incident.acknowledged", "alice", person="alice"),
        ev(40, "status_update.sent", "dora", audience="internal", text="Alice and Bob are on it; ask alice."),
        ev(50, "inject.released", "Customer Success", kind="customer_report", text="customers complain"),
        ev(60, "review.recorded", "team", root_cause="x", went_well=["bob found it"], went_poorly=[], got_lucky=[],
           action_items=[{"text": "fix", "owner": "chen", "due": "d"}, {"text": "doc", "owner": "erin", "due": "d"}]),
    )


def test_people_get_the_label_of_their_first_role() -> None:
    n = Narrator(events())
    assert n.who("Alice") == "incident commander"
    assert (n.who("bob"), n.who("chen")) == ("SME 1", "SME 2")
    assert n.who("dora") == "responder 1"           # acted, never assigned a role
    assert n.who("Customer Success") == "Customer Success"   # an inject's source is not a participant
    assert n.who("harness") == "harness" and n.who("probe:web") == "probe:web"


def test_names_in_free_text_and_owners_are_replaced() -> None:
    n = Narrator(events())
    update = next(n.event(e) for e in events() if e.kind == "status_update.sent")
    assert update.actor == "responder 1"
    assert update.details["text"] == "incident commander and SME 1 are on it; ask incident commander."
    review = next(n.event(e) for e in events() if e.kind == "review.recorded")
    assert review.details["went_well"] == ["SME 1 found it"]
    # chen took part (SME 2 in the narrative); erin did not: an owner outside the drill is named as recorded.
    assert [i["owner"] for i in review.details["action_items"]] == ["SME 2", "erin"]


def test_action_item_owners_are_shown_as_recorded_or_unassigned(tmp_path: Path) -> None:
    """An owner is who follows an item up, not blame: a team, a role, a person outside the drill are named;
    a drill participant keeps their role label, so the owners column never undoes the narrative's labels."""
    items = [{"text": "restart policy", "owner": "platform-team", "due": "2026-12-15"},
             {"text": "inhibit the alert", "owner": "incident_commander", "due": "2026-12-31"},
             {"text": "runbook", "owner": "BOB", "due": "2026-12-31"},
             {"text": "nobody yet", "owner": "", "due": ""},
             {"text": "no owner key"}]
    timeline = [*events()[:-1], ev(60, "review.recorded", "team", root_cause="x", went_well=[], went_poorly=[],
                                   got_lucky=[], action_items=items)]
    n = Narrator(timeline)
    assert [n.action_item(i)["owner"] for i in items] == \
        ["platform-team", "incident commander", "SME 1", UNASSIGNED, UNASSIGNED]
    opted = Narrator(timeline, names=True)
    assert [opted.action_item(i)["owner"] for i in items] == \
        ["platform-team", "incident_commander", "BOB", UNASSIGNED, UNASSIGNED]
    run = tmp_path / "run"
    run.mkdir()
    (run / "timeline.jsonl").write_text("".join(e.to_json() + "\n" for e in sorted(timeline, key=lambda e: e.offset)))
    render_run(run)
    report = (run / "report.md").read_text()
    assert "| restart policy | platform-team | 2026-12-15 |" in report
    assert "| nobody yet | unassigned | - |" in report
    assert "named in the record" not in report and "named in the record" not in (run / "report.html").read_text()
    assert "<td>platform-team</td>" in (run / "report.html").read_text()


def test_opting_in_keeps_names() -> None:
    opted = [ev(0, "run.started", run_id="r", names_in_report=True), *events()[1:]]
    n = Narrator(opted)
    assert n.names and n.who("bob") == "bob" and n.text("ask alice") == "ask alice"


def test_html_escapes_whatever_the_timeline_says(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    hostile = [*events(), ev(70, "status_update.sent", "dora", audience="internal",
                                 text="<script>alert(1)</script> & <img src=x onerror=y>")]
    (run / "timeline.jsonl").write_text("".join(e.to_json() + "\n" for e in sorted(hostile, key=lambda e: e.offset)))
    render_run(run)
    html = (run / "report.html").read_text()
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img" in html


def test_the_automated_runbook_executor_is_not_a_person() -> None:
    n = Narrator([*events(), ev(80, "runbook.step", "runbook", step=1, title="t", outcome="done")])
    assert n.who("runbook") == "runbook"
