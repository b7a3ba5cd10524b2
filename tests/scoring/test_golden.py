"""Golden test: the scorecard of the fixed drill timeline, every number derived by hand.

The fixture (tests/scoring/fixtures/drill-timeline.jsonl) is a SEV2 drill: 3 s of database latency on
checkout. Its offsets (seconds from run.started) that matter:

    31.0    fault.effective                  <- the incident's start
    151.0   alert.firing CheckoutLatencyHigh (expected, within 300 s)
    181.0   incident.detected (signal alert)
    211.0   incident.acknowledged
    241.0   alert.firing PostgresReplicaLag  (not expected: noise)
    271.0   severity.declared SEV3           (expected SEV2: under-declared)
    272-275 role.assigned IC, communications, scribe, sme
    331.0   status_update.sent internal
    391/451 runbook.step 1, 2 done
    421.0   severity.declared SEV2           (raised to the expected level)
    511/571 runbook.step 3 failed, then done
    631.0   runbook.step 4 skipped
    631.5   status_update.sent customer
    851.0   all_clear.refused
    870.4   fault.reverted
    871.0   runbook.step 5 done
    901.0   incident.mitigated
    931.0   status_update.sent internal; alert.resolved CheckoutLatencyHigh
    1231.0  status_update.sent executive
    1261.0  incident.resolved
    1441.0  review.recorded (2 action items, one without a due date; 5 lessons)
    1502.5  run.finished passed
"""

from __future__ import annotations

import json

import pytest

from gameday.scoring.scorecard import Scorecard, score
from tests.scoring.drill_fixture import fixture_events


@pytest.fixture(scope="module")
def card() -> Scorecard:
    return score(fixture_events())


def test_intervals_are_measured_from_the_fault_becoming_effective(card: Scorecard) -> None:
    m = card.metrics
    assert m.start_event == "fault.effective" and m.start == 31.0
    # detection is the earlier of the alert (151) and the human report (181): 151 - 31 = 120
    assert m.detection_signal == "alert"
    assert {name: i.seconds for name, i in m.intervals.items()} == {
        "time_to_detect": 120.0,                      # 151 - 31
        "time_to_acknowledge": 180.0,                 # 211 - 31
        "time_to_acknowledge_from_alert": 60.0,       # 211 - 151
        "time_to_acknowledge_from_detection": 60.0,   # 211 - 151 (detection is the alert)
        "time_to_declare": 240.0,                     # 271 - 31 (the first declaration counts)
        "time_to_declare_from_detection": 120.0,      # 271 - 151
        "time_to_first_update": 300.0,                # 331 - 31
        "time_to_mitigate": 870.0,                    # 901 - 31
        "time_to_resolve": 1230.0,                    # 1261 - 31
        "time_to_resolve_from_detection": 1110.0,     # 1261 - 151
    }


def test_updates_gaps_and_cadence(card: Scorecard) -> None:
    u = card.metrics.updates
    assert u.count == 4
    assert u.audiences == {"internal": 2, "customer": 1, "executive": 1}
    assert u.first_from_declaration_s == 60.0        # 331 - 271
    assert u.gaps_s == [300.5, 299.5, 300.0]         # 631.5-331, 931-631.5, 1231-931
    assert u.largest_gap_s == 300.5
    assert u.longest_silence_s == 300.5              # the last silence, 1261 - 1231 = 30, is shorter
    assert u.cadence_s == 3600.0 and u.cadence_met is True   # SEV2: every 30-60 min


def test_severity_under_declared_then_corrected(card: Scorecard) -> None:
    s = card.metrics.severity
    assert (s.expected, s.first_declared, s.final_declared, s.most_severe_declared) == ("SEV2", "SEV3", "SEV2", "SEV2")
    assert s.verdict == "under_corrected" and s.declarations == 2
    assert card.metrics.governing_severity == "SEV2"


def test_time_targets(card: Scorecard) -> None:
    got = [(t.interval, t.limit_s, t.actual_s, t.met) for t in card.metrics.targets]
    assert got == [
        ("time_to_detect", 300.0, 120.0, True),                       # MTTD < 5 min
        ("time_to_acknowledge_from_detection", 1800.0, 60.0, True),   # SEV2 respond within 30 min
        ("time_to_declare_from_detection", 1800.0, 120.0, True),
        ("first_update_from_declaration", 3600.0, 60.0, True),        # cadence top: 60 min
        ("longest_update_silence", 3600.0, 300.5, True),
        ("time_to_resolve_from_detection", None, 1110.0, None),       # SEV2 has no resolve target
    ]
    assert (card.targets_met, card.targets_timed) == (5, 5)


def test_runbook_and_alerts(card: Scorecard) -> None:
    rb = card.metrics.runbook
    assert (rb.attempted, rb.succeeded, rb.failed, rb.retried, rb.skipped, rb.missing) == (
        [1, 2, 3, 5], [1, 2, 3, 5], [], [3], [4], [])
    assert rb.restored is True
    a = card.metrics.alerts
    assert (a.expected, a.fired, a.missed, a.late, a.noisy) == (
        ["CheckoutLatencyHigh"], ["CheckoutLatencyHigh", "PostgresReplicaLag"], [], [], ["PostgresReplicaLag"])
    assert a.detection_s == 120.0      # 151 - 31
    assert a.reset_s == 60.6           # 931 - 870.4


def test_golden_ratings_with_reasons(card: Scorecard) -> None:
    assert [(c.id, c.rating, c.reason) for c in card.capabilities] == [
        ("detection", "P", "detected by an alert 2 min 00 s after the fault became effective"),
        ("alerting", "S", "unexpected (noisy) alert(s): PostgresReplicaLag"),
        ("acknowledgement", "P", "acknowledged 1 min 00 s after detection"),
        ("triage", "S", "declared SEV3 first, below the expected SEV2; raised to SEV2 later"),
        ("mitigation", "S", "runbook step(s) failed before succeeding: 3; runbook step(s) skipped: 4"),
        ("communication", "P", "4 update(s) (1 customer, 1 executive, 2 internal), cadence every 30-60 min kept"),
        ("resolution", "S", "all-clear asked for 1 time(s) while probes were still red"),
        ("review", "S", "1 action item(s) lack an owner or due date"),
    ]


def test_overall_is_the_lower_median_and_says_why(card: Scorecard) -> None:
    # P x3, S x5 sorted best first: P P P S | S S S S -> the lower middle (5th) is S.
    assert card.overall == "S"
    assert card.overall_reason.startswith("median of 8 rated capabilities (Px3, Sx5); the lower middle rating is taken")
    assert (card.points, card.max_points) == (3 * 3 + 5 * 2, 24)
    assert card.finished is True and card.notes == []


def test_scorecard_json_has_no_peoples_names(card: Scorecard) -> None:
    text = json.dumps(card.to_dict())
    for person in ("dana", "lee", "sam", "robin"):
        assert f'"{person}"' not in text
    assert json.loads(text)["overall"] == "S"
