"""The demo stack's alert rules: each carries severity, summary and runbook_url, and each fires on the
series it is meant for (checked by Prometheus's own rule engine: `promtool test rules`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import gameday

RULES = Path(gameday.__file__).parent / "stack" / "files" / "prometheus" / "rules" / "checkout.yml"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
EXPECTED = {"CheckoutLatencyHigh", "CheckoutErrorRateHigh", "InstanceDown", "DatabaseUnreachable",
            "DiskAlmostFull", "AuthenticationFailures",
            # the data-store faults' (issue 17): one alert per way a store answers and refuses
            "DatabaseConnectionsExhausted", "DatabaseLockContention", "DatabaseReadOnly", "CacheOutOfMemory",
            "CacheUnresponsive",
            # dns_failure's (issue 17): a name checkout cannot resolve
            "DnsResolutionFailing",
            # clock_skew's (issue 17): checkout's clock against Prometheus'
            "CheckoutClockSkew",
            # packet_loss's (issue 17): segments checkout sends again; memory_pressure's OOM kill of the cache
            "DatabasePacketLoss", "CacheUnreachable"}


def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(RULES.read_text())
    return [r for g in data["groups"] for r in g["rules"] if "alert" in r]


def kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def test_the_shipped_alerts_are_defined() -> None:
    assert {r["alert"] for r in rules()} == EXPECTED


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_every_rule_has_severity_summary_and_its_runbook(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in {"critical", "warning", "info"}
    assert rule["annotations"]["summary"]
    assert rule["annotations"]["runbook_url"] == f"runbooks/{kebab(rule['alert'])}.md"


def test_promtool_accepts_the_rule_file() -> None:
    result = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=30,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(EXPECTED)} rules found" in result.stdout


def alert(name: str, **labels: str) -> dict[str, Any]:
    rule = next(r for r in rules() if r["alert"] == name)
    return {"exp_labels": {**rule.get("labels", {}), **labels}}


# Series at 1s resolution: healthy for 30 s, then broken. `for: 10s` means firing by t=50s.
UNIT_TESTS: list[dict[str, Any]] = [
    {   # latency: every request takes 0.1-1 s from t=30 s
        "interval": "1s",
        "input_series": [
            {"series": 'checkout_request_duration_seconds_bucket{endpoint="/orders",le="0.1"}', "values": "0+10x30 300x30"},
            {"series": 'checkout_request_duration_seconds_bucket{endpoint="/orders",le="1"}', "values": "0+10x60"},
            {"series": 'checkout_request_duration_seconds_bucket{endpoint="/orders",le="+Inf"}', "values": "0+10x60"},
        ],
        "alert_rule_test": [
            {"eval_time": "25s", "alertname": "CheckoutLatencyHigh", "exp_alerts": []},
            {"eval_time": "58s", "alertname": "CheckoutLatencyHigh", "exp_alerts": [alert("CheckoutLatencyHigh")]},
        ],
    },
    {   # errors: a third of requests answer 503 from t=30 s
        "interval": "1s",
        "input_series": [
            {"series": 'checkout_requests_total{endpoint="/orders",method="POST",status="200"}', "values": "0+10x60"},
            {"series": 'checkout_requests_total{endpoint="/orders",method="POST",status="503"}', "values": "0x30 0+5x30"},
        ],
        "alert_rule_test": [
            {"eval_time": "25s", "alertname": "CheckoutErrorRateHigh", "exp_alerts": []},
            {"eval_time": "55s", "alertname": "CheckoutErrorRateHigh", "exp_alerts": [alert("CheckoutErrorRateHigh")]},
        ],
    },
    {   # a scrape target stops answering; postgres connections fail; the spool fills
        "interval": "1s",
        "input_series": [
            {"series": 'up{job="checkout",instance="127.0.0.1:18080"}', "values": "1x30 0x30"},
            {"series": 'checkout_dependency_errors_total{dependency="postgres",reason="connect"}', "values": "0x30 1+1x30"},
            {"series": "checkout_spool_free_bytes", "values": "60000000x30 1000000x30"},
            {"series": "checkout_spool_size_bytes", "values": "67108864x60"},
        ],
        "alert_rule_test": [
            {"eval_time": "25s", "alertname": "InstanceDown", "exp_alerts": []},
            {"eval_time": "50s", "alertname": "InstanceDown",
             "exp_alerts": [alert("InstanceDown", job="checkout", instance="127.0.0.1:18080")]},
            {"eval_time": "25s", "alertname": "DatabaseUnreachable", "exp_alerts": []},
            {"eval_time": "50s", "alertname": "DatabaseUnreachable", "exp_alerts": [alert("DatabaseUnreachable")]},
            {"eval_time": "25s", "alertname": "DiskAlmostFull", "exp_alerts": []},
            {"eval_time": "50s", "alertname": "DiskAlmostFull", "exp_alerts": [alert("DiskAlmostFull")]},
        ],
    },
    {   # the database refuses checkout's password: authentication, and not "unreachable" as well
        "interval": "1s",
        "input_series": [
            {"series": 'checkout_dependency_errors_total{dependency="postgres",reason="auth"}', "values": "0x30 1+1x30"},
        ],
        "alert_rule_test": [
            {"eval_time": "50s", "alertname": "AuthenticationFailures",
             "exp_alerts": [alert("AuthenticationFailures", dependency="postgres")]},
            {"eval_time": "50s", "alertname": "DatabaseUnreachable", "exp_alerts": []},
        ],
    },
]


# checkout's clock: the sample's value is its wall clock, the sample's timestamp Prometheus'; 2 h ahead from t=31 s.
UNIT_TESTS.append({
    "interval": "1s",
    "input_series": [{"series": "checkout_clock_seconds", "values": "0+1x30 7231+1x29"}],
    "alert_rule_test": [
        {"eval_time": "30s", "alertname": "CheckoutClockSkew", "exp_alerts": []},
        {"eval_time": "38s", "alertname": "CheckoutClockSkew", "exp_alerts": []},  # for: 10s
        {"eval_time": "50s", "alertname": "CheckoutClockSkew", "exp_alerts": [alert("CheckoutClockSkew")]},
    ],
})


# A store that answers and refuses (no slot, a lock, read-only, out of memory, paused) has its own alert, and is
# not "unreachable" as well.
REFUSALS = [("postgres", "saturated", "DatabaseConnectionsExhausted"), ("postgres", "lock", "DatabaseLockContention"),
            ("postgres", "read_only", "DatabaseReadOnly"), ("redis", "oom", "CacheOutOfMemory"),
            ("redis", "timeout", "CacheUnresponsive")]
UNIT_TESTS += [
    {
        "interval": "1s",
        "input_series": [{"series": f'checkout_dependency_errors_total{{dependency="{store}",reason="{reason}"}}',
                          "values": "0x30 1+1x30"}],
        "alert_rule_test": [
            {"eval_time": "25s", "alertname": name, "exp_alerts": []},
            {"eval_time": "50s", "alertname": name, "exp_alerts": [alert(name)]},
            {"eval_time": "50s", "alertname": "DatabaseUnreachable", "exp_alerts": []},
        ],
    }
    for store, reason, name in REFUSALS
]
UNIT_TESTS.append({   # the database's name does not resolve: its own alert, not "unreachable" as well
    "interval": "1s",
    "input_series": [{"series": 'checkout_dependency_errors_total{dependency="postgres",reason="dns"}',
                      "values": "0x30 1+1x30"}],
    "alert_rule_test": [
        {"eval_time": "25s", "alertname": "DnsResolutionFailing", "exp_alerts": []},
        {"eval_time": "50s", "alertname": "DnsResolutionFailing",
         "exp_alerts": [alert("DnsResolutionFailing", dependency="postgres")]},
        {"eval_time": "50s", "alertname": "DatabaseUnreachable", "exp_alerts": []},
    ],
})


UNIT_TESTS.append({   # packets lost on the way to PostgreSQL: segments sent again, calls slower, nothing refused
    "interval": "1s",
    "input_series": [{"series": 'checkout_dependency_tcp_retransmits_total{dependency="postgres"}',
                      "values": "0x30 0+2x30"}],
    "alert_rule_test": [
        {"eval_time": "25s", "alertname": "DatabasePacketLoss", "exp_alerts": []},
        {"eval_time": "50s", "alertname": "DatabasePacketLoss", "exp_alerts": [alert("DatabasePacketLoss")]},
        {"eval_time": "50s", "alertname": "DatabaseUnreachable", "exp_alerts": []},
    ],
})
UNIT_TESTS.append({   # one segment sent again a minute is not packet loss worth a page
    "interval": "1s",
    "input_series": [{"series": 'checkout_dependency_tcp_retransmits_total{dependency="postgres"}',
                      "values": "0x30 1x60"}],
    "alert_rule_test": [{"eval_time": "60s", "alertname": "DatabasePacketLoss", "exp_alerts": []}],
})
UNIT_TESTS.append({   # Redis gone (OOM-killed, stopped): connections refused; not out of memory in Redis's own sense
    "interval": "1s",
    "input_series": [{"series": 'checkout_dependency_errors_total{dependency="redis",reason="connect"}',
                      "values": "0x30 1+1x30"}],
    "alert_rule_test": [
        {"eval_time": "25s", "alertname": "CacheUnreachable", "exp_alerts": []},
        {"eval_time": "50s", "alertname": "CacheUnreachable", "exp_alerts": [alert("CacheUnreachable")]},
        {"eval_time": "50s", "alertname": "CacheOutOfMemory", "exp_alerts": []},
        {"eval_time": "50s", "alertname": "DatabaseUnreachable", "exp_alerts": []},
    ],
})


def test_each_rule_fires_on_its_fault_and_not_before(tmp_path: Path) -> None:
    # Annotations hold humanized values that promtool would compare verbatim; they are checked above,
    # so the copy Prometheus evaluates here has expressions, `for` and labels only.
    data = yaml.safe_load(RULES.read_text())
    for group in data["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(data))
    (tmp_path / "test.yml").write_text(yaml.safe_dump(
        {"rule_files": ["rules.yml"], "evaluation_interval": "1s", "tests": UNIT_TESTS}))
    result = subprocess.run([PROMTOOL, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
