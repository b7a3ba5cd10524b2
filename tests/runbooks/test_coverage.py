"""Coverage: alert rules and scenarios against the runbooks folder."""

from __future__ import annotations

from pathlib import Path

from gameday.plugins import build_observers
from gameday.runbooks.coverage import check_coverage, runbook_name_from_url
from gameday.runbooks.observer import RunbookObserver
from gameday.scenario.loader import load_scenario

REPO = Path(__file__).resolve().parents[2]

RULES = """\
groups:
  - name: demo
    rules:
      - record: job:up:sum
        expr: sum(up)
      - alert: WebDown
        expr: up == 0
        annotations:
          runbook_url: runbooks/web-down.md
      - alert: WebSlow
        expr: x > 1
        annotations:
          runbook_url: https://git.example.com/ops/blob/main/runbooks/web-slow.md
      - alert: NoBook
        expr: x > 2
        annotations:
          runbook_url: runbooks/missing.md
      - alert: NoUrl
        expr: x > 3
"""

BOOK = "# {title}\n\n## Serves\n\n{serves}\n\n## Steps\n\n1. Do it.\n"


def project(tmp_path: Path) -> tuple[Path, Path, list[Path]]:
    books = tmp_path / "runbooks"
    books.mkdir()
    (books / "web-down.md").write_text(BOOK.format(title="Web down", serves="- alert: WebDown"))
    (books / "web-slow.md").write_text(BOOK.format(title="Web slow", serves="- symptom: slow pages"))
    (books / "orphan.md").write_text(BOOK.format(title="Orphan", serves="- alert: Gone\n- scenario: gone"))
    (books / "scenario-only.md").write_text(BOOK.format(title="S", serves="- symptom: x"))
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "a.yaml").write_text("version: 1\nname: web-a\nrunbook: ../runbooks/scenario-only.md\n")
    (scenarios / "b.yaml").write_text("version: 1\nname: web-b\n")
    (scenarios / "c.yaml").write_text("version: 1\nname: web-c\n\nrunbook: ../runbooks/nope.md\n")
    (scenarios / "bad.yaml").write_text("version: 1\nname: [unclosed\n")
    return books, rules, sorted(scenarios.glob("*.yaml"))


def test_coverage_finds_each_gap_with_file_and_line(tmp_path: Path) -> None:
    books, rules, scenarios = project(tmp_path)
    report = check_coverage(books, rule_files=[rules], scenario_files=scenarios)
    found = {(f.rule, f.path.name, f.line) for f in report.findings}
    assert found == {
        ("alert-runbook-missing", "rules.yml", 14),
        ("alert-no-runbook-url", "rules.yml", 18),
        ("alert-not-served", "web-slow.md", 3),
        ("serves-unknown-alert", "orphan.md", 3),
        ("serves-unknown-scenario", "orphan.md", 3),
        ("runbook-serves-nothing", "orphan.md", 3),
        ("scenario-no-runbook", "b.yaml", 1),
        ("scenario-runbook-missing", "c.yaml", 4),
        ("bad-scenario-file", "bad.yaml", 3),
    }
    assert report.alerts == {"WebDown": "web-down", "WebSlow": "web-slow", "NoBook": None, "NoUrl": None}
    assert report.scenarios == {"web-a": "scenario-only", "web-b": None, "web-c": None}
    assert report.runbooks["scenario-only"] == ["scenario:web-a"]


def test_runbook_urls_match_by_their_runbooks_tail() -> None:
    assert runbook_name_from_url("runbooks/instance-down.md") == "instance-down"
    assert runbook_name_from_url("https://github.com/o/r/blob/main/runbooks/x.md#step-2") == "x"
    assert runbook_name_from_url("https://wiki.example.com/pages/123") is None


def test_the_shipped_runbooks_cover_every_demo_alert() -> None:
    rules = sorted((REPO / "src/gameday/stack/files/prometheus/rules").glob("*.yml"))
    report = check_coverage(REPO / "runbooks", rule_files=rules,
                            scenario_files=sorted((REPO / "scenarios").glob("*.yaml")))
    assert [f.one_line() for f in report.findings if f.is_error] == []
    assert set(report.alerts) >= {"CheckoutLatencyHigh", "CheckoutErrorRateHigh", "InstanceDown",
                                  "DatabaseUnreachable", "DiskAlmostFull", "AuthenticationFailures",
                                  "DatabaseConnectionsExhausted", "DatabaseLockContention", "DatabaseReadOnly",
                                  "CacheOutOfMemory", "CacheUnresponsive", "DnsResolutionFailing",
                                  "CheckoutClockSkew", "DatabasePacketLoss", "CacheUnreachable"}
    assert all(report.alerts.values())
    # Every shipped scenario names its runbook. The six older ones measure the harness alone (its revert
    # restores service), so they name theirs for the people of a drill and a scripted run does not follow it.
    shipped = {load_scenario(p).name: load_scenario(p) for p in sorted((REPO / "scenarios").glob("*.yaml"))}
    assert set(report.scenarios) == set(shipped)
    assert [name for name, book in sorted(report.scenarios.items()) if book is None] == []
    assert not [f for f in report.findings if f.rule == "scenario-no-runbook"]
    harness_alone = {"checkout-db-down", "checkout-db-latency", "checkout-cache-flaky", "checkout-disk-full",
                     "checkout-db-credentials-revoked", "checkout-cache-credentials-revoked"}
    assert report.people_only == harness_alone
    for scenario in harness_alone:
        assert report.scenarios[scenario] == scenario
        assert not any(isinstance(o, RunbookObserver) for o in build_observers(shipped[scenario])), scenario
    assert all(any(isinstance(o, RunbookObserver) for o in build_observers(s))
               for name, s in shipped.items() if name not in harness_alone and not s.responses)
    # The data-store scenarios name the runbook of the alert they page with: covered, no warning.
    for scenario, book in (("checkout-db-connections-exhausted", "database-connections-exhausted"),
                           ("checkout-db-lock", "database-lock-contention"),
                           ("checkout-db-read-only", "database-read-only"),
                           ("checkout-cache-out-of-memory", "cache-out-of-memory"),
                           ("checkout-cache-paused", "cache-unresponsive"),
                           ("checkout-cpu-starved", "checkout-cpu-starved"),
                           ("checkout-db-partitioned", "database-unreachable"),
                           ("checkout-dns-failure", "dns-resolution-failing"),
                           ("checkout-clock-skew", "checkout-clock-skew"),
                           ("checkout-db-packet-loss", "database-packet-loss"),
                           ("checkout-cache-oom-killed", "cache-unreachable")):
        assert report.scenarios[scenario] == book


def test_a_scenario_without_runbook_gets_the_line_to_add_when_a_runbook_serves_it(tmp_path: Path) -> None:
    books, rules, scenarios = project(tmp_path)
    (books / "for-b.md").write_text(BOOK.format(title="B", serves="- scenario: web-b"))
    report = check_coverage(books, rule_files=[rules], scenario_files=scenarios)
    (finding,) = [f for f in report.findings if f.rule == "scenario-no-runbook"]
    assert finding.message.endswith("serves it: add `runbook: ../runbooks/for-b.md`)")
    assert report.runbooks["for-b"] == ["scenario:web-b"]


def test_a_runbook_named_for_people_covers_its_scenario_and_is_reported_so(tmp_path: Path) -> None:
    books, rules, scenarios = project(tmp_path)
    (tmp_path / "scenarios" / "b.yaml").write_text("version: 1\nname: web-b\nrunbook: ../runbooks/web-down.md\nfollow_runbook: false\n")
    report = check_coverage(books, rule_files=[rules], scenario_files=scenarios)
    assert report.scenarios["web-b"] == "web-down"
    assert report.people_only == {"web-b"}
    assert not [f for f in report.findings if f.rule == "scenario-no-runbook"]
