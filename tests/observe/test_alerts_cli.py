"""`gameday doctor` and the unknown-alert warning of `gameday validate`, against real Prometheus/Alertmanager."""

# ruff: noqa: F811 - the fixtures are imported from alerting_fixtures and named as parameters

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gameday.cli.main import main
from gameday.testing import free_port
from tests.observe.alerting_fixtures import MetricsTarget, StackFactory, alert_stack, metrics_target  # noqa: F401 - fixtures


def write_scenario(path: Path, *, alerts: list[str], prometheus: str | None = None,
                   alertmanager: str | None = None) -> Path:
    stack: dict[str, Any] = {"targets": {"web": {"container": "web"}}}
    if prometheus:
        stack["prometheus"] = {"url": prometheus}
    if alertmanager:
        stack["alertmanager"] = {"url": alertmanager}
    raw = {"version": 1, "name": "alert-names", "stack": stack,
           "faults": [{"kind": "container_kill", "target": "web", "duration": "2s"}],
           "expect": {"alerts": [{"name": a, "within": "30s"} for a in alerts]}}
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_doctor_says_in_one_line_that_alertmanager_is_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["doctor", "--alertmanager", url]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"gameday: error: Alertmanager at {url} cannot be reached:")


def test_doctor_with_nothing_to_check_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 2
    assert capsys.readouterr().err.startswith("gameday: error: nothing to check")


def test_doctor_sees_the_rules_and_a_test_alert_reach_the_receiver(
    alert_stack: StackFactory, metrics_target: MetricsTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = alert_stack(metrics_target.address)
    code = main(["doctor", "--alertmanager", stack.alertmanager_url, "--prometheus", stack.prometheus_url,
                 "--receiver-port", str(stack.receiver_port), "--timeout", "15"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Alertmanager at" in out and "answers (version" in out
    assert "GamedayTestFault" in out and "GamedayTestTargetDown" in out
    assert "ok    the route works" in out


def test_doctor_fails_when_no_route_leads_to_the_receiver(
    alert_stack: StackFactory, metrics_target: MetricsTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = alert_stack(metrics_target.address, webhook=False)
    code = main(["doctor", "--alertmanager", stack.alertmanager_url, "--receiver-port", str(free_port()),
                 "--timeout", "3"])
    err = capsys.readouterr().err
    assert code == 2
    assert "accepted a test alert but it did not reach" in err and "docs/alerting.md" in err


def test_doctor_warns_about_an_expected_alert_prometheus_does_not_know(
    tmp_path: Path, alert_stack: StackFactory, metrics_target: MetricsTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = alert_stack(metrics_target.address)
    path = write_scenario(tmp_path / "s.yaml", alerts=["GamedayTestFault", "GamedayTestTypo"],
                          prometheus=stack.prometheus_url, alertmanager=stack.alertmanager_url)
    code = main(["doctor", str(path), "--no-route-check"])
    out = capsys.readouterr().out
    assert code == 0
    assert "warning: unknown alert 'GamedayTestTypo'" in out
    assert "unknown alert 'GamedayTestFault'" not in out


def test_validate_warns_about_an_unknown_alert_listing_the_shipped_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_scenario(tmp_path / "s.yaml", alerts=["InstanceDown", "InstanceDwon"])
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    warning, = [line for line in out if "warning" in line]
    assert warning == (f"{path}:15:11: expect.alerts[1].name: warning: unknown alert 'InstanceDwon'; "
                       "did you mean 'InstanceDown'?")
    listing = out[out.index(warning) + 1]
    assert listing.startswith("  ") and "alerts known from gameday's demo rule files: " in listing
    for known in ("InstanceDown", "CheckoutLatencyHigh", "DatabaseUnreachable", "DiskAlmostFull"):
        assert known in listing
    assert "characters left out" not in listing, "the list is whole (it was cut mid-name past 400 characters)"
    assert out[-1] == f"{path}: ok"


def test_an_unknown_alert_among_many_rules_lists_what_fits_and_counts_the_rest(tmp_path: Path) -> None:
    from gameday.observe.alert_rules import KnownRules, unknown_alert_warnings
    from gameday.scenario import load_scenario

    path = write_scenario(tmp_path / "s.yaml", alerts=["Alert007"])
    rules = KnownRules(names=frozenset(f"Alert{i:03d}x" for i in range(200)), sources=("rules.yml",))
    warning, listing = unknown_alert_warnings(path, load_scenario(path), known=rules)
    assert "warning: unknown alert 'Alert007'; did you mean 'Alert007x'" in warning
    assert listing.startswith("  200 alerts known from rules.yml: Alert000x, Alert001x,")
    assert listing.endswith(" more") and len(listing) < 400


def test_validate_knows_the_rules_of_the_scenarios_prometheus(
    tmp_path: Path, alert_stack: StackFactory, metrics_target: MetricsTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = alert_stack(metrics_target.address)
    path = write_scenario(tmp_path / "s.yaml", alerts=["GamedayTestFault"], prometheus=stack.prometheus_url)
    assert main(["validate", str(path)]) == 0
    assert "warning" not in capsys.readouterr().out


def test_validate_line_and_column_point_at_the_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_scenario(tmp_path / "s.yaml", alerts=["NoSuchAlert"])
    main(["validate", "-q", str(path)])
    line = capsys.readouterr().out.strip()
    _, lineno, col = line.split(":")[:3]
    text = path.read_text().splitlines()[int(lineno) - 1]
    assert text[int(col) - 1:].startswith("NoSuchAlert")


def _stack_scenario(path: Path, stack: dict[str, Any]) -> Path:
    raw = {"version": 1, "name": "route", "stack": {"targets": {"web": {"container": "web"}}, **stack},
           "faults": [{"kind": "container_kill", "target": "web", "duration": "2s"}]}
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_doctor_checks_the_route_to_the_stacks_own_receiver_and_its_alertmanagers_name(
    tmp_path: Path, alert_stack: StackFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = alert_stack("unused", prometheus=False, external_url=True)
    path = _stack_scenario(tmp_path / "s.yaml", stack.stack())
    assert main(["doctor", str(path), "--timeout", "15"]) == 0
    out = capsys.readouterr().out
    assert (f"ok    the route works: a test alert reached {stack.receiver_url} in" in out
            and f"sent by the Alertmanager at {stack.alertmanager_url}" in out)
    assert "warn" not in out


def test_doctor_fails_when_the_stack_file_names_another_alertmanager_than_the_one_that_sends(
    tmp_path: Path, alert_stack: StackFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = alert_stack("unused", prometheus=False, external_url=True)
    named = {**stack.stack()["alertmanager"], "external_url": "http://127.0.0.1:1"}
    path = _stack_scenario(tmp_path / "s.yaml", {"alertmanager": named})
    assert main(["doctor", str(path), "--timeout", "15"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert (f"alertmanager.external_url is http://127.0.0.1:1, but this Alertmanager sends {stack.alertmanager_url}: "
            "a run would refuse its alerts") in err


def test_doctor_tells_a_stack_without_its_alertmanagers_name_what_to_write(
    tmp_path: Path, alert_stack: StackFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """Alertmanager's default external URL is http://<host name>:<port>; doctor shows the one it sends."""
    stack = alert_stack("unused", prometheus=False)
    path = _stack_scenario(tmp_path / "s.yaml", stack.stack())
    assert main(["doctor", str(path), "--timeout", "15"]) == 0
    out = capsys.readouterr().out
    port = stack.alertmanager_url.rsplit(":", 1)[1]
    assert "warn  the stack does not name its Alertmanager: set alertmanager.external_url: http://" in out
    assert f":{port} in its stack file" in out
