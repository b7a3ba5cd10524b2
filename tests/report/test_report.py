"""The postmortem report rendered from the fixture drill's timeline: Markdown, HTML and scorecard.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gameday.report.charts import build_charts
from gameday.report.markdown import to_html
from gameday.report.render import render_run
from gameday.report.sections import response
from gameday.scoring.scorecard import score
from gameday.testing import drill, ev
from gameday.timeline import read_timeline
from tests.scoring.drill_fixture import fixture_events

PEOPLE = ("dana", "lee", "sam", "robin")


def test_render_run_writes_markdown_html_and_scorecard_json(run_dir: Path) -> None:
    md_path = render_run(run_dir)
    assert md_path == run_dir / "report.md"
    md = md_path.read_text()
    html = (run_dir / "report.html").read_text()
    card = json.loads((run_dir / "scorecard.json").read_text())
    assert card == json.loads(json.dumps(score(read_timeline(run_dir / "timeline.jsonl")).to_dict(), default=str))
    assert card["overall"] == "S"
    assert "| Triage and declaration | **S** | declared SEV3 first, below the expected SEV2; raised to SEV2 later |" in md
    assert "**Overall: S**" in md and "Points 19 of 24" in md
    assert '<span class="rating s" id="overall-rating">S</span>' in html
    assert re.search(r'<td>Detection</td><td><span class="rating p"[^>]*>P</span></td>'
                     r"<td>detected by an alert 2 min 00 s after the fault became effective</td>", html)


def test_report_has_the_postmortem_sections_in_both_formats(run_dir: Path) -> None:
    render_run(run_dir)
    md = (run_dir / "report.md").read_text()
    html = (run_dir / "report.html").read_text()
    for heading in ("Summary", "Impact", "Root cause", "Scorecard", "Action items", "Lessons", "Response", "Timeline"):
        assert f"## {heading}\n" in md
        assert f"<h2>{heading}</h2>" in html
    assert "Checkout has no timeout on database calls" in md and "Checkout has no timeout on database calls" in html
    assert "### Where we got lucky" in md and "No standby was needed" in html
    assert "| Set a 500 ms statement timeout on checkout&#39;s database calls |" not in md  # md is not escaped
    assert "| Set a 500 ms statement timeout on checkout's database calls | SME | 2026-12-09 |" in md
    assert "Probe checkout-health failed 28 of 50 checks, from T+46 s to T+856 s (810 s)." in md


def test_html_has_the_charts_with_the_fault_window_and_phase_markers(run_dir: Path) -> None:
    render_run(run_dir)
    html = (run_dir / "report.html").read_text()
    for chart in ("probe-latency", "load-errors", "load-latency", "alerts"):
        assert f'<figure id="chart-{chart}"><svg' in html
    assert html.count('class="fault-window"') == 4
    assert html.count('class="phase"') == 4 * 4   # steady_state, fault, recovery, evaluation on each chart
    assert html.count('class="bad"') == 28         # one cross per failed probe check
    assert "alert CheckoutLatencyHigh" in html and "probe checkout-health red" in html


def test_chart_time_ticks_read_as_the_drill_writes_times_after_the_start(run_dir: Path) -> None:
    """T+1m30s on the console, in inject conditions and in the plan; the charts wrote T+1:30."""
    svg = "".join(chart.svg for chart in build_charts(read_timeline(run_dir / "timeline.jsonl")))
    ticks = re.findall(r">T\+([^<]+)</text>", svg)
    assert ticks and all(re.fullmatch(r"(\d+h)?(\d+m)?(\d+s)?|\d+ms", t) for t in ticks), ticks
    assert any("m" in t for t in ticks)  # the fixture drill lasts over a minute


def test_html_is_self_contained(run_dir: Path) -> None:
    render_run(run_dir)
    html = (run_dir / "report.html").read_text()
    assert "<script" not in html
    assert not re.search(r'(?:src|href)\s*=\s*"(?:https?:)?//', html)
    assert "@import" not in html and "url(" not in html
    assert "<style>" in html


def test_narrative_shows_roles_not_names(run_dir: Path) -> None:
    render_run(run_dir)
    for name in ("report.md", "report.html", "scorecard.json"):
        text = (run_dir / name).read_text().lower()
        for person in PEOPLE:
            assert not re.search(rf"\b{person}\b", text), f"{person} appears in {name}"
    md = (run_dir / "report.md").read_text()
    assert "| incident commander | incident.acknowledged |" in md
    assert "| communications lead | status_update.sent |" in md


def test_names_appear_when_the_run_opts_in(run_dir: Path) -> None:
    lines = (run_dir / "timeline.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["details"]["names_in_report"] = True
    (run_dir / "timeline.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    render_run(run_dir)
    md = (run_dir / "report.md").read_text()
    assert "| dana | incident.acknowledged |" in md
    assert "| robin | 2026-12-09 |" in md


def test_a_drill_stopped_halfway_still_renders(run_dir: Path) -> None:
    kept = [line for line in (run_dir / "timeline.jsonl").read_text().splitlines() if json.loads(line)["offset"] <= 340]
    (run_dir / "timeline.jsonl").write_text("\n".join(kept) + "\n")
    render_run(run_dir)
    md = (run_dir / "report.md").read_text()
    assert "not reached before the drill stopped" in md
    assert "No review was recorded." in md
    assert '<figure id="chart-probe-latency">' in (run_dir / "report.html").read_text()


def test_scenario_copy_supplies_alert_expectations_when_the_timeline_lacks_them(run_dir: Path) -> None:
    lines = [line for line in (run_dir / "timeline.jsonl").read_text().splitlines()
             if json.loads(line)["kind"] != "alerts.watching"]
    (run_dir / "timeline.jsonl").write_text("\n".join(lines) + "\n")
    render_run(run_dir)
    assert json.loads((run_dir / "scorecard.json").read_text())["metrics"]["alerts"]["judged"] is False
    (run_dir / "scenario.yaml").write_text("version: 1\nname: x\nexpect:\n  alerts:\n    - name: PostgresReplicaLag\n"
                                           "      within: 1m\n")
    render_run(run_dir)
    alerts = json.loads((run_dir / "scorecard.json").read_text())["metrics"]["alerts"]
    assert alerts["expected"] == ["PostgresReplicaLag"]
    assert alerts["late"] == ["PostgresReplicaLag"]     # fired 241 - 31 = 210 s after the fault, deadline 60 s
    assert alerts["noisy"] == ["CheckoutLatencyHigh"]


def test_response_section_is_left_out_without_a_human_side() -> None:
    machine_only = [e for e in fixture_events() if not e.kind.startswith(("incident.", "severity.", "role.",
                    "status_update.", "runbook.", "review.", "hypothesis.", "inject.", "all_clear."))]
    assert response.build(machine_only) is None
    assert response.build(fixture_events()) is not None


def test_charts_follow_the_data_there_is() -> None:
    assert build_charts([]) == []
    only_alert = drill("SEV2", ev(50, "alert.firing", "alertmanager", alertname="A", fingerprint="1"))
    assert [c.id for c in build_charts(only_alert)] == ["alerts"]


def test_markdown_converter_escapes_and_keeps_tables() -> None:
    html = to_html("## Title\n\nSome **bold** and `code <b>`.\n\n| a | b |\n|---|---|\n| x \\| y | <script> |\n\n- one\n- two\n")
    assert "<h2>Title</h2>" in html
    assert "<strong>bold</strong>" in html and "<code>code &lt;b&gt;</code>" in html
    assert "<td>x | y</td><td>&lt;script&gt;</td>" in html
    assert "<ul><li>one</li><li>two</li></ul>" in html
    assert "<script>" not in html
    assert to_html("```text\na <b>\n  b\n```\nafter") == "<pre><code>a &lt;b&gt;\n  b</code></pre>\n<p>after</p>"


def test_long_series_are_thinned_per_pixel_but_keep_their_spikes() -> None:
    from gameday.report.charts import Axis, thin

    axis = Axis(start=0.0, end=10_000.0, window=None)
    points = [(float(t), 40.0) for t in range(10_000)]
    points[5_000] = (5_000.0, 9_000.0)
    kept = thin(points, axis)
    assert len(kept) < 2_000
    assert (5_000.0, 9_000.0) in kept
    assert kept == sorted(kept)


def test_the_summary_of_a_run_nobody_responded_to_says_so() -> None:
    from gameday.report.postmortem import story

    firing = ev(70, "alert.firing", "alertmanager", alertname="A", fingerprint="1")
    assert story(score(drill("SEV2", firing))) == [
        "The incident started at T+10 s (fault.effective).",
        "An alert fired 1 min 00 s later.",
        "Nobody responded in this run: it ran without a facilitator or scripted responders.",
    ]
