"""The report's alerts section, from a hand-built timeline: the four attributes, MTTD, each alert's times."""

from __future__ import annotations

from gameday.report.render import render_markdown
from gameday.report.sections.alerts import build
from gameday.report.summary import summarize
from gameday.scenario.model import AlertExpectation
from gameday.scoring.alerting import AlertExpectations
from tests.observe.test_alerts_scoring import ev, fault, firing, resolved, timeline

EXPECT = AlertExpectations(expected=(AlertExpectation.of("InstanceDown", within=30.0), AlertExpectation.of("Never", within=5.0)),
                           not_firing=("DiskAlmostFull",))


def events() -> list:
    return timeline(
        ev(0.5, "alerts.watching", receiver="http://127.0.0.1:19099/alerts", alertmanager="http://127.0.0.1:19093",
           poll_interval_s=1.0, **EXPECT.to_details()),
        fault("kill", 10, 11, 40),
        firing(18.5, "InstanceDown", "a", job="checkout", severity="critical"),
        firing(20, "CheckoutErrorRateHigh", "b"),
        resolved(44, "InstanceDown", "a"),
        ev(30, "alerts.unreachable", alertmanager="http://127.0.0.1:19093", error="Alertmanager at x cannot be reached"),
    )


def test_no_section_when_the_run_did_not_watch_alerts() -> None:
    assert build(timeline(fault("kill", 1, 2, 3))) is None


def test_the_section_has_the_four_attributes_and_mttd() -> None:
    data = build(events())
    assert data is not None
    assert data.precision == 1.0 and data.recall == 1.0
    assert data.detection_s == 7.5
    assert data.reset_s is None  # CheckoutErrorRateHigh never resolved
    assert [x["status"] for x in data.expectations] == ["met", "missed"]
    assert [(a.alertname, a.verdict) for a in data.alerts] == [("InstanceDown", "expected"),
                                                               ("CheckoutErrorRateHigh", "noise")]


def test_the_markdown_shows_each_alert_with_fired_and_resolved_times() -> None:
    evs = events()
    text = render_markdown(summarize(evs), evs)
    section = text[text.index("## Alerts"):text.index("## Timeline")]
    assert "| Detection time (MTTD) | 7.5 s |" in section
    assert "| Precision | 100% |" in section and "| Recall | 100% |" in section
    assert "| Reset time | not reset |" in section
    fired = next(e for e in evs if e.kind == "alert.firing")
    gone = next(e for e in evs if e.kind == "alert.resolved")
    row = next(line for line in section.splitlines() if line.startswith("| InstanceDown |"))
    assert fired.at in row and gone.at in row and "| expected |" in row
    assert "**still firing**" in next(line for line in section.splitlines() if line.startswith("| CheckoutErrorRateHigh"))
    assert "Never within 5 s | **missed**" in section
    assert "DiskAlmostFull must not fire | met" in section
    assert "alerts.unreachable" in section


def test_an_alert_that_resolved_before_the_revert_is_said_so_never_a_negative_reset_time() -> None:
    evs = timeline(
        ev(0.5, "alerts.watching", receiver="http://127.0.0.1:19099/alerts", **EXPECT.to_details()),
        fault("kill", 10, 11, 40),
        firing(18.5, "InstanceDown", "a", job="checkout", severity="critical"),
        resolved(35, "InstanceDown", "a"),                  # cleared 5 s before the fault was reverted at 40
    )
    text = render_markdown(summarize(evs), evs)
    section = text[text.index("## Alerts"):text.index("## Timeline")]
    assert "-5.0 s" not in section
    assert "| Reset time | 5.0 s before the revert |" in section
    assert "| InstanceDown within 30 s | met | 7.5 s | yes, 5.0 s before the revert |" in section
    row = next(line for line in section.splitlines() if line.startswith("| InstanceDown |"))
    assert "| 5.0 s before the revert | expected |" in row


def test_another_alertmanagers_refused_alerts_are_a_problem_named_in_the_report_and_never_an_alert() -> None:
    evs = timeline(
        ev(0.5, "alerts.watching", receiver="http://127.0.0.1:29099/alerts", accepts_from="http://127.0.0.1:29093",
           **EXPECT.to_details()),
        fault("kill", 10, 11, 40),
        ev(12, "alerts.foreign_refused", sender="http://127.0.0.1:19093", accepts_from="http://127.0.0.1:29093",
           alertnames=["CheckoutLatencyHigh", "DatabaseUnreachable"]),
    )
    data = build(evs)
    assert data is not None and data.alerts == []
    text = render_markdown(summarize(evs), evs)
    section = text[text.index("## Alerts"):text.index("## Timeline")]
    assert ("alerts.foreign_refused: refused what another Alertmanager (http://127.0.0.1:19093) sent "
            "(CheckoutLatencyHigh, DatabaseUnreachable): this stack's is http://127.0.0.1:29093") in section
