"""``gameday demo`` waits until the stack's alerting is quiet before the drill: against a small HTTP server that
answers Prometheus' and Alertmanager's alert APIs as the test says, with a fake clock."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gameday.clock import FakeClock
from gameday.errors import ServiceUnavailable
from gameday.stack.config import StackConfig
from gameday.stack.quiet import wait_until_quiet


class Alerting:
    """Each look answers the next of ``rounds`` (the last one repeats): the names of active alerts."""

    def __init__(self) -> None:
        self.rounds: list[list[str]] = [[]]
        self.looks = 0

    def names(self) -> list[str]:
        return self.rounds[min(self.looks, len(self.rounds) - 1)]


@pytest.fixture
def alerting() -> Iterator[tuple[Alerting, StackConfig]]:
    state = Alerting()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            names = state.names()
            body: object
            if self.path.startswith("/api/v1/alerts"):
                body = {"status": "success", "data": {"alerts": [{"labels": {"alertname": n}, "state": "pending"}
                                                                 for n in names]}}
            else:  # Alertmanager's answer ends the look
                body = [{"labels": {"alertname": n}} for n in names]
                state.looks += 1
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        yield state, replace(StackConfig(), prometheus_port=port, alertmanager_port=port)
    finally:
        server.shutdown()
        server.server_close()


def test_it_waits_until_no_alert_has_been_active_for_ten_seconds_in_a_row(
        alerting: tuple[Alerting, StackConfig]) -> None:
    state, config = alerting
    state.rounds = [["DatabaseUnreachable"], ["DatabaseUnreachable", "CheckoutErrorRateHigh"], [], [],
                    ["DatabaseUnreachable"], []]
    said: list[str] = []
    waited = wait_until_quiet(config, log=said.append, clock=FakeClock())
    assert waited == 15.0  # quiet from the sixth look (5 s) on, for 10 s
    assert said == ["waiting for alerts left from the stack's start to clear: DatabaseUnreachable",
                    ("waiting for alerts left from the stack's start to clear: CheckoutErrorRateHigh, "
                     "DatabaseUnreachable"),
                    "waiting for alerts left from the stack's start to clear: DatabaseUnreachable"]


def test_a_quiet_stack_costs_ten_seconds_and_says_nothing(alerting: tuple[Alerting, StackConfig]) -> None:
    said: list[str] = []
    assert wait_until_quiet(alerting[1], log=said.append, clock=FakeClock()) == 10.0
    assert said == []


def test_alerts_that_never_clear_are_one_error_naming_them(alerting: tuple[Alerting, StackConfig]) -> None:
    state, config = alerting
    state.rounds = [["InstanceDown"]]
    with pytest.raises(ServiceUnavailable, match=r"not quiet after 120 s \(InstanceDown\)"):
        wait_until_quiet(config, clock=FakeClock())


def test_alerting_that_does_not_answer_is_not_taken_for_quiet() -> None:
    config = replace(StackConfig(), prometheus_port=1, alertmanager_port=1)
    with pytest.raises(ServiceUnavailable, match="Prometheus or Alertmanager does not answer"):
        wait_until_quiet(config, clock=FakeClock(), timeout=3)
