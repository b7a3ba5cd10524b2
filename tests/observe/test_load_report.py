"""The report's load section: before / during / after the fault, from the timeline alone."""

from __future__ import annotations

from typing import Any

from gameday.observe.stats import hist_percentile
from gameday.report.render import render_markdown
from gameday.report.sections.load import build
from gameday.report.summary import summarize
from gameday.timeline import Event


def ev(offset: float, event_kind: str, /, **details: Any) -> Event:
    return Event(at=f"2026-01-01T00:00:{offset:06.3f}Z", offset=offset, kind=event_kind,
                 actor="load" if event_kind.startswith("load.") else "harness", details=details)


def second(offset: float, phase: str | None, requests: int, failures: int, hist: dict[str, int]) -> Event:
    details: dict[str, Any] = {"requests": requests, "failures": failures, "interval_s": 1.0, "rps": float(requests),
                               "error_rate": failures / requests if requests else 0.0, "hist": hist,
                               "p99_ms": float(max(map(int, hist))) if hist else None}
    if phase is not None:
        details["phase"] = phase
    return ev(offset, "load.stats", **details)


def run_events(with_phase: bool = True) -> list[Event]:
    phase = (lambda p: p) if with_phase else (lambda p: None)
    return [
        ev(0.0, "run.started", run_id="r1", scenario="s", faults=[]),
        ev(1.0, "load.started", locustfile="/x/checkout.py", host="http://127.0.0.1:18080", users=4),
        second(2.0, phase("steady_state"), 100, 0, {"10": 90, "20": 10}),
        second(3.0, phase("steady_state"), 100, 0, {"10": 100}),
        ev(3.5, "fault.injected", fault="kill", kind="container_kill", target="web"),
        second(4.0, phase("fault"), 50, 40, {"1": 40, "900": 10}),
        second(5.0, phase("fault"), 50, 50, {"1": 50}),
        ev(5.5, "fault.reverted", fault="kill"),
        second(6.0, phase("recovery"), 80, 8, {"30": 80}),
        ev(6.5, "load.finished", requests=380, failures=98, error_rate=0.2579, rps=76.0, duration_s=5.0,
           complete=True),
        ev(7.0, "run.finished", outcome="passed", exit_code=0),
    ]


def test_no_load_means_no_section() -> None:
    assert build([ev(0.0, "run.started"), ev(1.0, "run.finished")]) is None


def test_periods_follow_the_phase_recorded_on_each_second() -> None:
    data = build(run_events())
    assert data is not None
    before, during, after = data.periods
    assert (before.period, during.period, after.period) == ("before", "during", "after")
    assert (before.requests, before.failures, before.rps, before.error_rate) == (200, 0, 100.0, 0.0)
    assert (during.requests, during.failures, during.error_rate) == (100, 90, 0.9)
    assert during.worst_error_rate == 1.0
    assert (after.requests, after.failures, after.error_rate) == (80, 8, 0.1)
    # Percentiles over all the phase's requests, not averages of per-second percentiles.
    assert (before.p50_ms, before.p95_ms, before.p99_ms) == (10.0, 10.0, 20.0)
    assert (during.p50_ms, during.p95_ms) == (1.0, 900.0)
    assert data.totals["requests"] == 380 and data.complete


def test_without_phases_the_fault_window_decides() -> None:
    data = build(run_events(with_phase=False))
    assert data is not None
    assert [(p.period, p.requests) for p in data.periods] == [("before", 200), ("during", 100), ("after", 80)]


def test_percentile_of_a_histogram_is_nearest_rank() -> None:
    assert hist_percentile({}, 0.5) is None
    assert hist_percentile({5: 1}, 0.99) == 5.0
    assert hist_percentile({1: 50, 2: 50}, 0.5) == 1.0
    assert hist_percentile({1: 50, 2: 50}, 0.51) == 2.0
    assert hist_percentile({1: 99, 1000: 1}, 0.99) == 1.0
    assert hist_percentile({1: 98, 1000: 2}, 0.99) == 1000.0


def test_the_section_renders_a_before_during_after_table() -> None:
    events = run_events()
    text = render_markdown(summarize(events), events)
    assert "## Load" in text
    assert "| before the fault | 2.0 | 200 | 0 | 100.0 | 10 ms | 10 ms | 20 ms | 0.0% |" in text
    assert "| during the fault | 2.0 | 100 | 90 | 50.0 | 1 ms | 900 ms | 900 ms | 90.0% | 100% errors" in text
    assert "| after the fault | 1.0 | 80 | 8 | 80.0 |" in text
    assert "Total: 380 requests, 98 failed (25.8%)" in text
    assert "load.stats" not in text.split("## Timeline")[1]  # per-second samples stay out of the timeline table


def test_an_unfinished_load_says_its_totals_were_summed() -> None:
    events = [e for e in run_events() if e.kind != "load.finished"]
    events.insert(-1, ev(6.5, "load.finished", requests=380, failures=98, error_rate=0.2579, rps=76.0,
                         duration_s=5.0, complete=False))
    text = render_markdown(summarize(events), events)
    assert "stopped without its final totals" in text
