"""Targeted rubric cases: each one changes one thing about a drill and checks the rating it earns."""

from __future__ import annotations

from dataclasses import replace

from gameday.scenario.model import AlertExpectation
from gameday.scoring.metrics import ScoringContext
from gameday.scoring.scorecard import score
from gameday.scoring.severity import DEFAULT_SEVERITIES
from gameday.testing import drill, ev, full_response
from tests.scoring.drill_fixture import fixture_events


def _reason(card, capability: str) -> str:
    return next(c.reason for c in card.capabilities if c.id == capability)


def test_an_on_time_complete_response_is_performed_throughout() -> None:
    card = score(drill("SEV2", *full_response("SEV2")))
    rated = {c.id: c.rating for c in card.capabilities}
    assert rated == {"detection": "P", "alerting": None, "acknowledgement": "P", "triage": "P",
                     "mitigation": "P", "communication": "P", "resolution": "P", "review": "P"}
    assert card.overall == "P"
    assert "no alert expectations" in _reason(card, "alerting")


def test_missing_declaration_rates_triage_unable() -> None:
    events = [e for e in drill("SEV2", *full_response("SEV2")) if e.kind != "severity.declared"]
    card = score(events)
    assert card.rating("triage") == "U"
    assert _reason(card, "triage") == "no severity was declared"
    # targets still come from the expected severity, so skipping the declaration buys no slack
    assert card.metrics.governing_severity == "SEV2"
    declare = next(t for t in card.metrics.targets if t.interval == "time_to_declare_from_detection")
    assert declare.met is False and declare.note == "never happened"


def test_late_updates_miss_the_cadence() -> None:
    # SEV1 cadence: at most 30 min (1800 s) of silence. Updates at T+100 and T+2100: a 2000 s gap.
    card = score(drill("SEV1", *full_response("SEV1", update_offsets=(100.0, 2100.0), resolved=2200.0)))
    u = card.metrics.updates
    assert u.largest_gap_s == 2000.0 and u.cadence_s == 1800.0 and u.cadence_met is False
    cadence = next(t for t in card.metrics.targets if t.interval == "longest_update_silence")
    assert cadence.met is False and cadence.note == "missed by 200 s"
    assert card.rating("communication") == "S"   # missed by less than 2x: a minor challenge
    assert "the longest silence between updates took 33 min 20 s, target 30 min 00 s" in _reason(card, "communication")


def test_silence_over_twice_the_cadence_is_a_major_challenge() -> None:
    card = score(drill("SEV1", *full_response("SEV1", update_offsets=(100.0, 3800.0), resolved=3900.0)))
    assert card.rating("communication") == "M"


def test_silence_after_the_last_update_counts_until_resolution() -> None:
    card = score(drill("SEV1", *full_response("SEV1", update_offsets=(100.0,), resolved=2500.0)))
    assert card.metrics.updates.largest_gap_s is None          # one update: no gap between updates
    assert card.metrics.updates.longest_silence_s == 2400.0    # 2500 - 100
    assert card.metrics.updates.cadence_met is False


def test_wrong_severity_never_corrected_is_a_major_triage_challenge() -> None:
    card = score(drill("SEV1", *full_response("SEV3")))
    assert card.metrics.severity.verdict == "under"
    assert card.rating("triage") == "M"
    assert _reason(card, "triage") == "declared SEV3, less severe than the expected SEV1"
    # the stricter severity governs the targets: SEV1's 30 min cadence, not SEV3's business hours
    assert card.metrics.governing_severity == "SEV1"
    assert card.metrics.updates.cadence_s == 1800.0


def test_declaring_higher_than_expected_is_acceptable() -> None:
    card = score(drill("SEV3", *full_response("SEV2")))
    assert card.metrics.severity.verdict == "over"
    assert card.rating("triage") == "P"


def test_no_events_at_all_rates_nothing_and_does_not_crash() -> None:
    card = score([])
    assert card.overall is None and card.points == 0 and card.max_points == 0
    assert all(c.rating is None and c.reason == "nothing was recorded" for c in card.capabilities)
    assert card.metrics.empty and "the timeline is empty" in card.notes
    assert all(t.met is None for t in card.metrics.targets)


def test_a_drill_stopped_halfway_leaves_later_phases_not_reached() -> None:
    # The fixture cut just after the first status update (T+331): no mitigation, resolution, review, run.finished.
    events = [e for e in fixture_events() if e.offset <= 340]
    card = score(events)
    assert card.finished is False
    # triage is M here: the SEV3 declaration was not yet raised to SEV2 (that happens at T+421)
    assert {c.id: c.rating for c in card.capabilities} == {
        "detection": "P", "alerting": "S", "acknowledgement": "P", "triage": "M",
        "mitigation": None, "communication": "P", "resolution": None, "review": None,
    }
    assert _reason(card, "resolution").startswith("not reached before the drill stopped")
    resolve = next(t for t in card.metrics.targets if t.interval == "time_to_resolve_from_detection")
    assert resolve.met is None
    assert any("stopped before it finished" in n for n in card.notes)
    # 5 rated: P S P M P. A median of them (P) would rate a drill nobody completed: it is "incomplete" overall,
    # saying how far it got; the points are those of what was rated (3+2+3+1+3 = 12 of 15).
    assert (card.overall, card.points, card.max_points) == ("incomplete", 12, 15)
    assert card.overall_meaning == "stopped before it finished"
    assert card.overall_reason.startswith("the drill stopped before it finished (the record ends without run.finished")
    assert "rated so far: Detection P, Alerting S, Acknowledgement P, Triage and declaration M, Communication P" \
        in card.overall_reason
    assert card.tally.startswith("Points 12 of 15 for the 5 capabilities rated so far;")


def test_an_interrupted_run_counts_as_stopped_even_with_run_finished() -> None:
    events = [e for e in fixture_events() if e.offset <= 340]
    events.append(ev(341, "run.finished", outcome="interrupted", exit_code=130))
    assert score(events).rating("resolution") is None


def test_a_finished_run_that_never_resolved_is_unable_to_resolve() -> None:
    events = [e for e in drill("SEV2", *full_response("SEV2")) if e.kind not in ("incident.resolved",)]
    card = score(events)
    assert card.rating("resolution") == "U"
    assert _reason(card, "resolution") == "the incident was never resolved (no all-clear)"


def test_customers_reporting_first_is_a_minor_detection_challenge() -> None:
    response = [e for e in full_response("SEV2") if e.kind != "incident.detected"]
    card = score(drill("SEV2", ev(60, "incident.detected", "ic", signal="customer_report"), *response))
    assert card.rating("detection") == "S"
    assert "customers reported it" in _reason(card, "detection")


def test_detection_later_than_twice_the_target_is_major() -> None:
    card = score(drill("SEV2", ev(10 + 601, "incident.detected", "ic", signal="probe")))
    assert card.rating("detection") == "M"      # 601 s > 2 x 300 s


def test_missed_and_noisy_alerts() -> None:
    firing = ev(50, "alert.firing", "alertmanager", alertname="A", labels={}, fingerprint="1", via="webhook")
    both = ScoringContext(expected_alerts=(AlertExpectation.of("A"), AlertExpectation.of("B")))
    card = score(drill("SEV2", firing), both)
    assert card.metrics.alerts.missed == ["B"] and card.rating("alerting") == "M"
    only_b = ScoringContext(expected_alerts=(AlertExpectation.of("B"),))
    card = score(drill("SEV2", firing), only_b)
    assert card.rating("alerting") == "U" and card.metrics.alerts.noisy == ["A"]


def test_label_matchers_from_the_scenario_copy_decide_which_alert_counts() -> None:
    warning = ev(50, "alert.firing", "alertmanager", alertname="A", labels={"severity": "warning"}, fingerprint="1",
                 via="webhook")
    page = ScoringContext(expected_alerts=(AlertExpectation.of("A", matchers=['severity=~"critical|page"']),))
    card = score(drill("SEV2", warning), page)
    assert card.metrics.alerts.missed == ['A{severity=~"critical|page"}'] and card.metrics.alerts.noisy == ["A"]
    any_severity = ScoringContext(expected_alerts=(AlertExpectation.of("A", matchers=['severity=~".+"']),))
    assert score(drill("SEV2", warning), any_severity).metrics.alerts.missed == []


def test_alert_expectations_come_from_the_timeline_when_the_observer_wrote_them() -> None:
    watching = ev(1, "alerts.watching", expected=[{"name": "A", "labels": {}, "within_s": 30.0}], not_firing=[])
    late = ev(100, "alert.firing", "alertmanager", alertname="A", labels={}, fingerprint="1", via="poll")
    card = score(drill("SEV2", watching, late))
    assert card.metrics.alerts.late == ["A"]          # 100 - 10 = 90 s > 30 s
    assert card.rating("alerting") == "S"


def test_runbook_step_that_never_succeeds_is_major_and_gaps_are_missing_steps() -> None:
    steps = [ev(200, "runbook.step", "sme", step=1, title="a", outcome="done"),
             ev(210, "runbook.step", "sme", step=3, title="c", outcome="failed")]
    card = score(drill("SEV2", *full_response("SEV2"), *steps))
    rb = card.metrics.runbook
    assert (rb.failed, rb.missing) == ([3], [2])
    assert card.rating("mitigation") == "M"
    assert "failed and never succeeded: 3" in _reason(card, "mitigation")


def test_sev1_unmitigated_past_30_minutes_is_major_without_an_escalation() -> None:
    # full_response declares SEV1 at T+80; mitigated at T+80+1900 misses the 30 min (1800 s) trigger.
    late = full_response("SEV1", update_offsets=(100.0, 1000.0, 1900.0), resolved=2200.0)
    late = [e for e in late if e.kind != "incident.mitigated"] + [ev(80 + 1900, "incident.mitigated", "ic")]
    card = score(drill("SEV1", *late))
    trigger = next(t for t in card.metrics.targets if t.interval == "time_to_mitigate_from_sev1")
    assert (trigger.actual_s, trigger.limit_s, trigger.met) == (1900.0, 1800.0, False)
    assert card.rating("mitigation") == "M"
    assert _reason(card, "mitigation") == "SEV1 not mitigated within 30 min 00 s and not escalated"
    escalated = score(drill("SEV1", *late, ev(80 + 1805, "escalation.prompted", "facilitator", reason="30 min")))
    assert escalated.rating("mitigation") == "S"


def test_sev4_needs_no_updates() -> None:
    card = score(drill("SEV4", *full_response("SEV4", update_offsets=())))
    assert card.rating("communication") is None
    assert _reason(card, "communication") == "SEV4 needs no status updates"


def test_severity_names_are_configurable() -> None:
    table = DEFAULT_SEVERITIES.with_overrides({"SEV1": {"name": "P1"}, "SEV2": {"name": "P2"}})
    p2 = table.get("p2")
    assert table.get("P1") is table.get("SEV1") and p2 is not None and p2.id == "SEV2"
    card = score(drill("SEV1", *full_response("SEV2")), ScoringContext(severities=table))
    assert _reason(card, "triage") == "declared P2, less severe than the expected P1"


def test_acknowledging_before_the_alert_is_said_in_words_never_as_a_negative_time() -> None:
    alert = ev(90, "alert.firing", "alertmanager", alertname="A", labels={}, fingerprint="1", via="webhook")
    card = score(drill("SEV2", *full_response("SEV2"), alert))   # noticed on a dashboard at 60, ack 70, alert 90
    from_alert = card.metrics.intervals["time_to_acknowledge_from_alert"]
    assert (from_alert.seconds, from_alert.early_s) == (None, 20.0)
    assert from_alert.text == "acknowledged 20 s before the first alert fired (from a dashboard)"
    assert _reason(card, "acknowledgement") == "acknowledged 10 s after detection, 20 s before the first alert fired"
    assert card.rating("acknowledgement") == "P"


def test_no_interval_of_any_timeline_is_ever_a_negative_time() -> None:
    """Declared, updated, mitigated and resolved before the only alert, with no incident.detected: every span
    whose end came first is words, and its target is met (it came before the moment the target runs from)."""
    alert = ev(450, "alert.firing", "alertmanager", alertname="A", labels={}, fingerprint="1", via="webhook")
    early = [e for e in full_response("SEV1", update_offsets=(75.0, 100.0)) if e.kind != "incident.detected"]
    early.append(ev(79, "severity.declared", "ic", severity="SEV1"))
    card = score(drill("SEV1", *early, alert))
    m = card.metrics
    assert all(i.seconds is None or i.seconds >= 0 for i in m.intervals.values())
    assert all(t.actual_s is None or t.actual_s >= 0 for t in m.targets)
    assert m.updates.first_from_declaration_s is None and m.updates.first_before_declaration_s == 4.0
    assert m.intervals["time_to_resolve_from_detection"].text == "resolved 50 s before detection"
    assert m.intervals["time_to_declare_from_detection"].text == "declared 6 min 11 s before detection"
    ack = next(t for t in m.targets if t.interval == "time_to_acknowledge_from_detection")
    assert (ack.met, ack.note) == (True, "met: acknowledged 6 min 20 s before detection")
    first = next(t for t in m.targets if t.interval == "first_update_from_declaration")
    assert (first.met, first.note) == (True, "met: first update sent 4 s before the declaration")
    assert _reason(card, "acknowledgement") == "acknowledged 6 min 20 s before detection"
    assert _reason(card, "resolution").endswith("resolved 50 s before detection")
    assert not any(i.text.startswith("-") for i in m.intervals.values())


def test_a_drill_stopped_at_the_facilitator_is_unfinished_until_resumed() -> None:
    base = [e for e in drill("SEV2", *full_response("SEV2")) if e.kind not in ("incident.resolved", "review.recorded")]
    stopped = [*base, ev(350, "drill.stopped", "facilitator", signal="SIGINT", phase="verify")]
    assert score(stopped).finished is False
    assert score(stopped).rating("resolution") is None
    resumed = [*stopped, ev(360, "drill.resumed", "facilitator", from_phase="verify")]
    assert score(resumed).finished is True
    assert score(resumed).rating("resolution") == "U"


def test_steps_never_recorded_up_to_the_runbooks_total_are_missing() -> None:
    steps = [ev(190, "runbook.started", "runbook", runbook="r", steps=3, total_steps=4),
             ev(200, "runbook.step", "runbook", step=1, title="a", outcome="done", total_steps=4),
             ev(210, "runbook.step", "runbook", step=2, title="b", outcome="done", total_steps=4)]
    rb = score(drill("SEV2", *full_response("SEV2"), *steps)).metrics.runbook
    assert (rb.total_steps, rb.missing) == (4, [3, 4])


def test_a_plain_run_without_responders_rates_only_what_machines_did() -> None:
    firing = ev(50, "alert.firing", "alertmanager", alertname="A", labels={}, fingerprint="1", via="webhook")
    card = score(drill("SEV2", firing), ScoringContext(expected_alerts=(AlertExpectation.of("A"),)))
    assert {c.id: c.rating for c in card.capabilities} == {
        "detection": "P", "alerting": "P", "acknowledgement": None, "triage": None,
        "mitigation": None, "communication": None, "resolution": None, "review": None,
    }
    assert _reason(card, "review").startswith("nobody responded in this run")
    assert score(drill("SEV2")).rating("detection") is None   # no alert, no people: nothing to rate


def test_the_team_severity_table_recorded_at_the_start_sets_the_targets() -> None:
    events = drill("SEV1", *full_response("SEV1", update_offsets=(100.0, 1100.0), resolved=1200.0))
    assert score(events).metrics.updates.cadence_met is True  # 1000 s of silence: within the default 30 min
    team = {"SEV1": {"name": "P1", "update_every_s": 600.0}}
    recorded = [replace(e, details={**e.details, "severities": team}) if e.kind == "run.started" else e for e in events]
    card = score(recorded)
    assert (card.metrics.updates.cadence_s, card.metrics.updates.cadence_met) == (600.0, False)
    assert card.rating("communication") != "P"
