"""``gameday doctor``: check that Alertmanager and Prometheus answer and that alerts reach the harness.

Checks, each printed as one line (``ok``/``warn``; a failure is one ``gameday: error:`` line on stderr):
    Alertmanager answers       GET /api/v2/status
    Prometheus answers         GET /api/v1/rules?type=alert, and lists the alerting rules it has
    expected alerts exist      with a scenario: every expect.alerts name is a rule Prometheus knows
    the route works            POST a uniquely labelled test alert to Alertmanager's /api/v2/alerts and
                               see it arrive at the harness's webhook receiver within --timeout (where the
                               scenario's stack file says, alertmanager.webhook_url); the test alert is
                               resolved again afterwards. The line names the externalURL it came with: the
                               stack file's alertmanager.external_url must be that (a warning when unset)
Exit 0 when every check passed, 2 when one failed.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from gameday.cli import arg_types
from gameday.errors import GamedayError
from gameday.printable import printable

ROUTE_CHECK_ALERT = "GamedayRouteCheck"


def _fail(message: str) -> None:
    sys.stderr.write(f"gameday: error: {printable(message)}\n")


def _ok(message: str) -> None:
    print(f"ok    {printable(message)}")


def _warn(message: str) -> None:
    print(f"warn  {printable(message)}")


def check_alertmanager(url: str, *, timeout: float) -> str:
    """One line about an Alertmanager that answers; ServiceUnavailable if it does not."""
    from gameday.observe.alertmanager import AlertmanagerClient

    client = AlertmanagerClient(url, timeout=timeout)
    try:
        status = client.status()
    finally:
        client.close()
    version = (status.get("versionInfo") or {}).get("version", "unknown version")
    return f"Alertmanager at {client.safe_url} answers (version {version})"


def check_route(url: str, *, host: str, port: int, path: str, labels: dict[str, str],
                timeout: float) -> tuple[float, str | None]:
    """Seconds a test alert posted to Alertmanager took to reach our receiver, and the externalURL it came with;
    GamedayError if it did not come."""
    from gameday.clock import SystemClock, iso
    from gameday.observe.alert_receiver import AlertReceiver
    from gameday.observe.alertmanager import AlertmanagerClient, ReceivedAlert

    clock = SystemClock()
    token = secrets.token_hex(6)
    arrived = threading.Event()
    sender: list[str | None] = []

    def on_alerts(alerts: list[ReceivedAlert]) -> None:
        for alert in alerts:
            if alert.labels.get("gameday_check") == token and not arrived.is_set():
                sender.append(alert.external_url)
                arrived.set()

    alert_labels = {"severity": "info", **labels, "alertname": ROUTE_CHECK_ALERT, "gameday_check": token}
    receiver = AlertReceiver(on_alerts, host=host, port=port, path=path)
    client = AlertmanagerClient(url, timeout=5.0)
    try:
        now = clock.wall()
        start = clock.monotonic()
        client.post_alerts([{
            "labels": alert_labels,
            "annotations": {"summary": "gameday doctor checks the route to its receiver; safe to ignore"},
            "startsAt": iso(now), "endsAt": iso(now + timedelta(minutes=10)),
        }])
        got = arrived.wait(timeout)
        took = clock.monotonic() - start
        # Resolve the test alert at once, whatever happened, so it does not linger in anyone's view.
        client.post_alerts([{"labels": alert_labels, "startsAt": iso(now), "endsAt": iso(clock.wall())}])
    finally:
        client.close()
        receiver.close()
    if not got:
        raise GamedayError(
            f"Alertmanager at {client.safe_url} accepted a test alert but it did not reach {receiver.url} "
            f"within {timeout:.0f}s: add the gameday receiver and route (see docs/alerting.md), or raise --timeout "
            f"above the route's group_wait"
        )
    return took, sender[0] if sender else None


def cmd_doctor(args: argparse.Namespace) -> int:
    from gameday.observe.alert_rules import (
        KnownRules,
        prometheus_rules,
        shipped_rule_names,
        unknown_alert_warnings,
    )

    scenario = None
    if args.scenario:
        from gameday.scenario.loader import load_scenario

        scenario = load_scenario(Path(args.scenario))
    am_url = args.alertmanager or (scenario.stack.alertmanager.url if scenario and scenario.stack.alertmanager else None)
    prom_url = args.prometheus or (scenario.stack.prometheus.url if scenario and scenario.stack.prometheus else None)
    if not am_url and not prom_url:
        raise GamedayError("nothing to check: give --alertmanager and/or --prometheus, or a scenario whose stack "
                           "names them")
    labels: dict[str, str] = {}
    for item in args.label or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise GamedayError(f"--label takes name=value, got {item!r}")
        labels[key] = value

    failures = 0
    am_ok = False
    if am_url:
        try:
            _ok(check_alertmanager(am_url, timeout=args.http_timeout))
            am_ok = True
        except GamedayError as exc:
            _fail(str(exc))
            failures += 1

    rule_names: set[str] = set()
    if prom_url:
        try:
            rules = prometheus_rules(prom_url, timeout=args.http_timeout)
            rule_names = {r["name"] for r in rules}
            from gameday.observe.alertmanager import redact_url

            listing = ", ".join(sorted(rule_names)) or "none"
            _ok(f"Prometheus at {redact_url(prom_url)} answers; {len(rule_names)} alerting rules: {listing}")
            if not rule_names:
                _warn("Prometheus has no alerting rules loaded: no alert can fire")
        except GamedayError as exc:
            _fail(str(exc))
            failures += 1

    if scenario is not None and scenario.expect.alerts:
        names = rule_names or shipped_rule_names()
        source = ("Prometheus",) if rule_names else ("gameday's demo rule files",)
        warnings = unknown_alert_warnings(Path(args.scenario), scenario, known=KnownRules(frozenset(names), source))
        for line in warnings:
            _warn(line)
        if not warnings and names:
            _ok("every alert the scenario expects is defined: " + ", ".join(a.name for a in scenario.expect.alerts))

    if am_url and am_ok and not args.no_route_check:
        failures += _route_check(args, scenario, am_url, labels)
    return 2 if failures else 0


def _route_check(args: argparse.Namespace, scenario: Any, am_url: str, labels: dict[str, str]) -> int:
    """The route check's lines; 1 if it failed. The receiver is where the scenario's stack says, unless told."""
    from gameday.observe.alertmanager import same_url
    from gameday.observe.receiver_defaults import listen_address

    alertmanager = scenario.stack.alertmanager if scenario is not None else None
    host, port, path = listen_address(alertmanager.webhook_url if alertmanager is not None else None,
                                      host=args.receiver_host, port=args.receiver_port, path=args.receiver_path)
    expected = alertmanager.external_url if alertmanager is not None else None
    try:
        took, sender = check_route(am_url, host=host, port=port, path=path, labels=labels, timeout=args.timeout)
    except GamedayError as exc:
        _fail(str(exc))
        return 1
    _ok(f"the route works: a test alert reached http://{host}:{port}{path} in {took:.1f}s, "
        f"sent by the Alertmanager at {sender or '(no externalURL)'}")
    if expected is not None and (sender is None or not same_url(sender, expected)):
        _fail(f"the stack file's alertmanager.external_url is {expected}, but this Alertmanager sends "
              f"{sender or 'no externalURL'}: a run would refuse its alerts; set it to what it sends")
        return 1
    if expected is None and sender and scenario is not None:
        _warn(f"the stack does not name its Alertmanager: set alertmanager.external_url: {sender} in its stack file "
              "so that a run takes this Alertmanager's alerts only (not another stack's on this machine)")
    return 0


def register(sub: Any) -> None:
    from gameday.observe.receiver_defaults import DEFAULT_HOST, DEFAULT_PATH, DEFAULT_PORT

    p = sub.add_parser("doctor", help="check Alertmanager/Prometheus answer and alerts reach the harness")
    p.add_argument("scenario", nargs="?", help="a scenario: its stack's URLs and expected alerts are checked")
    p.add_argument("--alertmanager", metavar="URL", help="Alertmanager base URL (default: the scenario's)")
    p.add_argument("--prometheus", metavar="URL", help="Prometheus base URL (default: the scenario's)")
    where = "the scenario's stack's alertmanager.webhook_url, else"
    p.add_argument("--receiver-host", help=f"where the harness listens (default: {where} {DEFAULT_HOST})")
    p.add_argument("--receiver-port", type=arg_types.port, help=f"(default: {where} {DEFAULT_PORT})")
    p.add_argument("--receiver-path", help=f"(default: {where} {DEFAULT_PATH})")
    p.add_argument("--label", action="append", metavar="NAME=VALUE",
                   help="extra label on the test alert, so your route matches it (repeatable)")
    p.add_argument("--timeout", type=arg_types.positive_seconds, default=40.0,
                   help="seconds to wait for the test alert (above the route's group_wait; default 40)")
    p.add_argument("--http-timeout", type=arg_types.positive_seconds, default=3.0, help="seconds per HTTP request (default 3)")
    p.add_argument("--no-route-check", action="store_true", help="do not post a test alert")
    p.set_defaults(func=cmd_doctor)
