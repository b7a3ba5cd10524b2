"""Alert scoring on hand-built timelines: precision, recall, detection time, reset time, expectations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gameday.clock import iso
from gameday.scenario.matchers import parse_matcher
from gameday.scenario.model import AlertExpectation
from gameday.scoring.alerting import AlertExpectations, alert_verdicts, score_alerts
from gameday.timeline import Event

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def ev(offset: float, kind: str, **details: Any) -> Event:
    return Event(at=iso(T0 + timedelta(seconds=offset)), offset=offset, kind=kind, details=details)


def wall(offset: float) -> str:
    return iso(T0 + timedelta(seconds=offset))


def fault(name: str, injected: float, effective: float, reverted: float) -> list[Event]:
    return [ev(injected, "fault.injected", fault=name), ev(effective, "fault.effective", fault=name),
            ev(reverted, "fault.reverted", fault=name)]


def firing(offset: float, name: str, fp: str, *, starts: float | None = None, via: str = "webhook",
           **labels: str) -> Event:
    return ev(offset, "alert.firing", alertname=name, labels={"alertname": name, **labels}, fingerprint=fp,
              starts_at=wall(starts if starts is not None else offset - 0.5), ends_at=None, via=via)


def resolved(offset: float, name: str, fp: str, via: str = "webhook") -> Event:
    return ev(offset, "alert.resolved", alertname=name, labels={"alertname": name}, fingerprint=fp,
              starts_at=None, ends_at=wall(offset - 0.5), via=via)


def timeline(*parts: Event | list[Event]) -> list[Event]:
    out: list[Event] = [ev(0.0, "run.started")]
    for p in parts:
        out.extend(p if isinstance(p, list) else [p])
    out.sort(key=lambda e: e.offset)
    out.append(ev(max(e.offset for e in out) + 1, "run.finished"))
    return out


EXPECT_DOWN = AlertExpectations(expected=(AlertExpectation.of("InstanceDown", within=30.0),))


def test_an_alert_during_the_fault_is_a_true_positive_with_its_detection_and_reset_time() -> None:
    events = timeline(fault("kill", 10, 11, 40), firing(18.5, "InstanceDown", "a"), resolved(44, "InstanceDown", "a"))
    score = score_alerts(events, EXPECT_DOWN)
    assert score.precision == 1.0
    assert score.recall == 1.0
    assert score.detection_s == pytest.approx(7.5)
    assert score.reset_s == pytest.approx(4.0)
    assert [r.status for r in score.expectations] == ["met"]
    assert score.noisy == [] and score.unresolved == []


def test_an_alert_before_the_fault_lowers_precision_and_is_noise() -> None:
    events = timeline(firing(3, "CheckoutLatencyHigh", "n"), fault("kill", 10, 11, 40),
                      firing(15, "InstanceDown", "a"), resolved(41, "InstanceDown", "a"))
    score = score_alerts(events, EXPECT_DOWN)
    assert score.precision == 0.5
    assert [ep.alertname for ep in score.noisy] == ["CheckoutLatencyHigh"]


def test_an_alert_already_firing_before_injection_is_not_credited_to_the_fault() -> None:
    # Received during the fault, but Prometheus started it 20 s before the fault was injected.
    events = timeline(fault("kill", 10, 11, 40), firing(12, "InstanceDown", "a", starts=-10))
    score = score_alerts(events, EXPECT_DOWN)
    assert score.precision == 0.0
    assert score.recall == 0.0
    assert [r.status for r in score.expectations] == ["missed"]


def test_a_fault_no_alert_saw_lowers_recall() -> None:
    events = timeline(fault("kill", 10, 11, 20), fault("latency", 100, 100.5, 120),
                      firing(14, "InstanceDown", "a"), resolved(22, "InstanceDown", "a"))
    score = score_alerts(events, AlertExpectations())
    assert score.recall == 0.5
    assert [d.detected for d in score.faults] == [True, False]
    assert score.faults[0].detection_s == pytest.approx(3.0)
    assert score.detection_s == pytest.approx(3.0)


def test_detection_is_measured_from_effective_not_injected() -> None:
    events = timeline(fault("kill", 10, 14, 40), firing(20, "InstanceDown", "a"))
    assert score_alerts(events, EXPECT_DOWN).detection_s == pytest.approx(6.0)


def test_an_expected_alert_after_its_deadline_is_late() -> None:
    events = timeline(fault("kill", 10, 11, 60), firing(50, "InstanceDown", "a"))
    score = score_alerts(events, EXPECT_DOWN)
    assert [r.status for r in score.expectations] == ["late"]
    assert score.late[0].detection_s == pytest.approx(39.0)
    verdict = alert_verdicts(score)[0]
    assert not verdict.met and verdict.detail.startswith("late:")


def test_the_verdict_says_whether_the_alert_resolved_before_or_after_the_revert() -> None:
    fixed_by_the_team = timeline(fault("kill", 10, 11, 60), firing(20, "InstanceDown", "a"), resolved(45, "InstanceDown", "a"))
    assert alert_verdicts(score_alerts(fixed_by_the_team, EXPECT_DOWN))[0].detail.endswith("; resolved 15.0s before revert")
    by_the_revert = timeline(fault("kill", 10, 11, 40), firing(20, "InstanceDown", "a"), resolved(44, "InstanceDown", "a"))
    assert alert_verdicts(score_alerts(by_the_revert, EXPECT_DOWN))[0].detail.endswith("; resolved 4.0s after revert")


def test_an_expected_alert_that_never_fires_is_missed() -> None:
    events = timeline(fault("kill", 10, 11, 20), firing(14, "CheckoutErrorRateHigh", "x"))
    score = score_alerts(events, EXPECT_DOWN)
    assert [r.status for r in score.missed] == ["missed"]
    assert [ep.alertname for ep in score.noisy] == ["CheckoutErrorRateHigh"]
    verdict = alert_verdicts(score)[0]
    assert not verdict.met and "missed" in verdict.detail


def test_label_matchers_must_all_match() -> None:
    expect = AlertExpectations(expected=(AlertExpectation.of("InstanceDown", labels={"job": "checkout"}, within=30.0),))
    wrong = timeline(fault("kill", 10, 11, 20), firing(14, "InstanceDown", "a", job="redis"))
    right = timeline(fault("kill", 10, 11, 20), firing(14, "InstanceDown", "a", job="checkout"))
    assert score_alerts(wrong, expect).expectations[0].status == "missed"
    assert score_alerts(right, expect).expectations[0].status == "met"


def test_an_alert_that_must_not_fire_fails_and_counts_against_precision() -> None:
    expect = AlertExpectations(expected=EXPECT_DOWN.expected, not_firing=("DiskAlmostFull",))
    events = timeline(fault("kill", 10, 11, 20), firing(14, "InstanceDown", "a"), firing(15, "DiskAlmostFull", "d"))
    score = score_alerts(events, expect)
    assert score.precision == 0.5
    verdicts = {v.name: v for v in alert_verdicts(score)}
    assert not verdicts["alert DiskAlmostFull does not fire"].met
    assert verdicts["alert InstanceDown fires within 30s"].met


def test_reset_time_is_unknown_while_an_alert_still_fires() -> None:
    events = timeline(fault("kill", 10, 11, 20), firing(14, "InstanceDown", "a"), firing(15, "CheckoutErrorRateHigh", "b"),
                      resolved(25, "InstanceDown", "a"))
    score = score_alerts(events, AlertExpectations())
    assert score.reset_s is None
    assert [ep.alertname for ep in score.unresolved] == ["CheckoutErrorRateHigh"]


def test_reset_time_is_the_last_attributed_alert_to_clear() -> None:
    events = timeline(fault("kill", 10, 11, 20), firing(14, "InstanceDown", "a"), firing(15, "CheckoutErrorRateHigh", "b"),
                      resolved(23, "InstanceDown", "a"), resolved(31, "CheckoutErrorRateHigh", "b"))
    assert score_alerts(events, AlertExpectations()).reset_s == pytest.approx(11.0)


def test_a_repeated_firing_of_one_fingerprint_is_one_episode() -> None:
    events = timeline(fault("kill", 10, 11, 20), firing(14, "InstanceDown", "a"), firing(15, "InstanceDown", "a", via="poll"))
    score = score_alerts(events, AlertExpectations())
    assert len(score.episodes) == 1 and score.episodes[0].via == "webhook"


def test_no_alert_and_no_fault_leave_precision_and_recall_undefined() -> None:
    score = score_alerts(timeline(ev(1, "phase.changed", phase="fault")), AlertExpectations())
    assert score.precision is None and score.recall is None and score.detection_s is None


def test_expectations_round_trip_through_the_timeline() -> None:
    expect = AlertExpectations(expected=(AlertExpectation.of("InstanceDown", labels={"job": "checkout"}, within=45.0),),
                               not_firing=("DiskAlmostFull",))
    events = [ev(0, "alerts.watching", receiver=None, **expect.to_details())]
    assert AlertExpectations.from_events(events) == expect


def test_an_alert_left_firing_from_before_the_run_is_shown_but_not_judged() -> None:
    events = timeline(ev(0.2, "alerts.watching", receiver=None, **EXPECT_DOWN.to_details()),
                      firing(0.5, "CheckoutErrorRateHigh", "old", starts=-120),
                      fault("kill", 10, 11, 40), firing(15, "InstanceDown", "a"), resolved(41, "InstanceDown", "a"))
    score = score_alerts(events, EXPECT_DOWN)
    assert [ep.alertname for ep in score.preexisting] == ["CheckoutErrorRateHigh"]
    assert score.precision == 1.0
    assert score.noisy == [] and score.unresolved == []
    assert score.reset_s == pytest.approx(1.0)


# --- label matchers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "labels", "expected"), [
    ('severity="critical"', {"severity": "critical"}, True),
    ('severity="critical"', {"severity": "warning"}, False),
    ('severity=~"critical|page"', {"severity": "page"}, True),
    ('severity=~"crit"', {"severity": "critical"}, False),  # anchored, as in Alertmanager
    ('team!="db"', {}, True),  # a missing label is "", which is not "db"
    ('team!="db"', {"team": "db"}, False),
    ('team=~".+"', {}, False),  # so a regex can require the label
    ('instance!~"127\\.0\\.0\\.1:.*"', {"instance": "127.0.0.1:18080"}, False),
    ('instance!~"127\\.0\\.0\\.1:.*"', {"instance": "127a0b0c1:18080"}, True),  # the dots are escaped
    ("job = checkout", {"job": "checkout"}, True),  # quotes and spaces are optional
])
def test_label_matchers_follow_alertmanager(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_matcher(text).matches(labels) is expected


@pytest.mark.parametrize(("text", "message"), [
    ("critical", "not a label matcher"),
    ('=~"x"', "not a label matcher"),
    ('sev=~"(unclosed"', "bad regex: missing \\)"),
    ("1abc=x", "not a label matcher"),
])
def test_a_bad_matcher_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_matcher(text)


def test_a_matcher_prints_back_to_what_it_parses_from() -> None:
    for text in ['severity=~"critical|page"', 'msg="say \\"hi\\""', 'path=~"a\\\\.b"']:
        matcher = parse_matcher(text)
        assert parse_matcher(str(matcher)) == matcher


def test_an_alert_is_expected_only_when_every_matcher_matches() -> None:
    expect = AlertExpectations(expected=(AlertExpectation.of("InstanceDown", labels={}, within=30.0,
                                                           matchers=['severity=~"critical|page"']),))
    events = timeline(fault("kill", 10, 11, 40), firing(14, "InstanceDown", "w", severity="warning"),
                      firing(16, "InstanceDown", "p", severity="page"))
    score = score_alerts(events, expect)
    assert [ep.fingerprint for ep in score.noisy] == ["w"]
    assert [r.status for r in score.expectations] == ["met"]
    assert score.detection_s == pytest.approx(5.0)  # the page received at 16, not the warning at 14


def test_matchers_survive_the_timeline_so_a_report_scores_the_same() -> None:
    expect = AlertExpectations(expected=(AlertExpectation.of("InstanceDown", labels={"job": "checkout"}, within=30.0,
                                                           matchers=['team!="db"']),))
    watching = ev(0.5, "alerts.watching", **expect.to_details())
    again = AlertExpectations.from_events([watching])
    assert again == expect
    assert again.expected[0].title == 'InstanceDown{job="checkout",team!="db"}'
