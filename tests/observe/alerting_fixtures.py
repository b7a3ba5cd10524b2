"""Real Prometheus and Alertmanager processes for the alerting tests, plus a tiny metrics target.

Everything listens on free 127.0.0.1 ports with temp configs and data folders, and is stopped after
the test. Timings are as fast as the tools allow (scrape 1s, evaluation 1s, ``for: 0s``,
group_wait 0s, group_interval 1s) so an alert goes from a flipped gauge to the webhook in ~1-3 s.

Import the fixtures in a test module: ``from tests.observe.alerting_fixtures import alert_stack, ...``.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from gameday.testing import free_port
from tests.conftest import wait_for

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager") or "/usr/bin/prometheus-alertmanager"

TEST_RULES = """\
groups:
  - name: gameday-test
    interval: 1s
    rules:
      - alert: GamedayTestFault
        expr: gameday_test_fault > 0
        labels: {severity: critical}
        annotations: {summary: the test fault is on, runbook_url: runbooks/gameday-test-fault.md}
      - alert: GamedayTestNoise
        expr: gameday_test_noise > 0
        labels: {severity: warning}
        annotations: {summary: an alert nobody expects, runbook_url: runbooks/gameday-test-noise.md}
      - alert: GamedayTestTargetDown
        expr: up{job="target"} == 0
        labels: {severity: critical}
        annotations: {summary: the target does not answer, runbook_url: runbooks/gameday-test-target-down.md}
      - alert: GamedayTestScrapeFailed
        expr: up{job="target"} == 0
        labels: {severity: warning}
        annotations: {summary: a second alert on the same cause, runbook_url: runbooks/gameday-test-scrape-failed.md}
      - alert: GamedayTestNever
        expr: vector(0) > 1
        labels: {severity: info}
        annotations: {summary: never fires, runbook_url: runbooks/gameday-test-never.md}
"""


# --- a metrics target -------------------------------------------------------------------------------


class MetricsTarget:
    """A Python HTTP server exposing gauges a test can flip (a real scrape target, not a mock)."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {"gameday_test_fault": 0.0, "gameday_test_noise": 0.0}
        target = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = target.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def render(self) -> str:
        """The text format; a name may carry labels (``name{trial="3"}``): one TYPE line per metric name."""
        out, typed = [], set()
        for key, value in sorted(self.values.items()):
            base = key.split("{", 1)[0]
            if base not in typed:
                typed.add(base)
                out.append(f"# TYPE {base} gauge")
            out.append(f"{key} {value}")
        return "\n".join(out) + "\n"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set(self, name: str, value: float) -> None:
        self.values[name] = value

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- processes --------------------------------------------------------------------------------------


def _start(cmd: list[str], ready_url: str, log: Path, timeout: float = 20.0) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"{cmd[0]} exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            return httpx.get(ready_url, timeout=1.0, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, timeout=timeout, interval=0.1)
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def alertmanager_config(receiver_url: str | None, *, group_wait: str = "0s", group_interval: str = "1s") -> str:
    """A route to the harness's webhook (or, with None, to a receiver that notifies nobody)."""
    hook = f"""
    webhook_configs:
      - url: "{receiver_url}"
        send_resolved: true""" if receiver_url else ""
    return f"""\
route:
  receiver: harness
  group_by: ['...']
  group_wait: {group_wait}
  group_interval: {group_interval}
  repeat_interval: 1h
receivers:
  - name: harness{hook}
"""


def prometheus_config(target: str, alertmanager: str, rules: Path, *, scrape: str = "1s", evaluation: str = "1s") -> str:
    return f"""\
global:
  scrape_interval: {scrape}
  scrape_timeout: {scrape}
  evaluation_interval: {evaluation}
rule_files: ["{rules}"]
alerting:
  alertmanagers:
    - static_configs: [{{targets: ["{alertmanager}"]}}]
scrape_configs:
  - job_name: target
    static_configs: [{{targets: ["{target}"]}}]
"""


@dataclass
class AlertStack:
    """A running Prometheus + Alertmanager pair scraping a target; ``receiver_port`` is where AM posts."""

    prometheus_url: str
    alertmanager_url: str
    receiver_port: int
    receiver_url: str | None
    workdir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    external_url: str | None = None
    """Alertmanager's --web.external-url (its webhooks' externalURL); None: its default, http://<host name>:<port>."""

    def stack(self) -> dict[str, Any]:
        """This pair as a stack file or inline stack names it (``alertmanager`` with its webhook and external URL)."""
        alertmanager: dict[str, Any] = {"url": self.alertmanager_url}
        if self.receiver_url:
            alertmanager["webhook_url"] = self.receiver_url
        if self.external_url:
            alertmanager["external_url"] = self.external_url
        return {"alertmanager": alertmanager}

    def stop_alertmanager(self) -> None:
        _stop(self.procs[0])

    def wait_scraped(self, timeout: float = 15.0) -> None:
        """Until Prometheus has scraped the target successfully (``up == 1``), so a fault shows as a change."""

        def up() -> bool:
            answer = httpx.get(f"{self.prometheus_url}/api/v1/query", params={"query": 'up{job="target"} == 1'},
                               timeout=2.0, trust_env=False).json()
            return bool(answer["data"]["result"])

        wait_for(up, timeout=timeout, interval=0.2)


StackFactory = Callable[..., AlertStack]


@pytest.fixture
def metrics_target() -> Iterator[MetricsTarget]:
    target = MetricsTarget()
    yield target
    target.close()


class AlertStacks:
    """Starts Alertmanager then Prometheus for a scrape target address under ``root``; ``close()`` stops all."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: list[AlertStack] = []

    def __call__(self, target: str, *, webhook: bool = True, rules: str = TEST_RULES, group_wait: str = "0s",
                 group_interval: str = "1s", scrape: str = "1s", evaluation: str = "1s",
                 receiver_port: int | None = None, external_url: bool = False, prometheus: bool = True) -> AlertStack:
        """``webhook=False`` leaves the harness's route out (the poll-only case); ``rules`` replaces the test rules;
        ``external_url`` starts Alertmanager with ``--web.external-url`` its own URL; ``prometheus=False`` starts
        Alertmanager alone (alerts are then posted to it)."""
        if not (Path(PROMETHEUS).exists() and Path(ALERTMANAGER).exists()):
            pytest.fail("these tests need the Debian packages prometheus and prometheus-alertmanager")
        work = self.root / f"stack{len(self.started)}"
        work.mkdir(parents=True)
        port = receiver_port or free_port()
        receiver_url = f"http://127.0.0.1:{port}/alerts" if webhook else None
        am_port, prom_port = free_port(), free_port()
        (work / "alertmanager.yml").write_text(
            alertmanager_config(receiver_url, group_wait=group_wait, group_interval=group_interval))
        (work / "rules.yml").write_text(rules)
        (work / "prometheus.yml").write_text(prometheus_config(
            target, f"127.0.0.1:{am_port}", work / "rules.yml", scrape=scrape, evaluation=evaluation))
        stack = AlertStack(f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{am_port}", port, receiver_url, work)
        stack.external_url = stack.alertmanager_url if external_url else None
        self.started.append(stack)
        stack.procs.append(_start([
            ALERTMANAGER, f"--config.file={work / 'alertmanager.yml'}", f"--storage.path={work / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=", "--log.level=warn",
            *([f"--web.external-url={stack.external_url}"] if stack.external_url else []),
        ], f"{stack.alertmanager_url}/-/ready", work / "alertmanager.log"))
        if not prometheus:
            return stack
        stack.procs.append(_start([
            PROMETHEUS, f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn",
        ], f"{stack.prometheus_url}/-/ready", work / "prometheus.log"))
        return stack

    def close(self) -> None:
        for stack in self.started:
            for proc in reversed(stack.procs):
                _stop(proc)


@pytest.fixture
def alert_stack(tmp_path: Path) -> Iterator[StackFactory]:
    """Factory of real Prometheus + Alertmanager pairs (see ``AlertStacks``); stopped after the test."""
    stacks = AlertStacks(tmp_path)
    yield stacks
    stacks.close()
