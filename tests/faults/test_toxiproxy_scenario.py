"""Network faults through the whole harness: a scenario file -> run_scenario -> timeline, and `gameday validate`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gameday.engine.run import Outcome, RunOptions, run_scenario
from gameday.faults.toxiproxy_client import Proxy, ToxiproxyClient
from gameday.scenario.loader import load_scenario
from tests.faults.conftest import Upstream
from tests.helpers import stack_file, write_scenario


def latency_scenario(path: Path, *, url: str, proxy: Proxy, args: dict[str, Any]) -> Path:
    probe_url = f"http://127.0.0.1:{proxy.listen_port}/"
    return write_scenario(
        path,
        version=1,
        name="path-latency",
        stack=stack_file(path.parent, "proxied", {"toxiproxy": {"url": url}, "targets": {"api-path": {"proxy": proxy.name}}},
                         {"toxiproxy": [proxy.name]}),
        steady_state={"probes": [{"name": "api", "interval": "200ms",
                                  "http": {"url": probe_url, "timeout": "2s", "max_latency": "250ms"}}]},
        faults=[{"kind": "latency", "target": "api-path", "args": args, "duration": "2s"}],
        expect={"recovers_within": "10s", "probes": [{"probe": "api", "during_fault": "down"}]},
    )


def test_latency_scenario_runs_end_to_end_and_leaves_no_toxic(
    tmp_path: Path, toxiproxy: ToxiproxyClient, make_proxy: Callable[[Upstream], Proxy], http_upstream: Upstream
) -> None:
    """600 ms on the path makes an HTTP probe with a 250 ms budget fail during the fault and pass after."""
    proxy = make_proxy(http_upstream)
    toxiproxy.add_toxic(proxy.name, name="bystander", type="bandwidth", attributes={"rate": 100_000})
    file = latency_scenario(tmp_path / "latency.yaml", url=toxiproxy.base_url, proxy=proxy, args={"latency": "600ms"})
    scenario = load_scenario(file)

    result = run_scenario(scenario, RunOptions(reports_dir=tmp_path / "reports", handle_signals=False,
                                               scenario_file=file, observers=[]))

    assert result.outcome is Outcome.PASSED, (result.error, [(v.name, v.detail) for v in result.verdicts])
    events = [json.loads(line) for line in (result.run_dir / "timeline.jsonl").read_text().splitlines()]
    kinds = [e["kind"] for e in events]
    assert kinds.index("fault.injected") < kinds.index("fault.effective") < kinds.index("fault.reverted")
    during = [e for e in events if e["kind"] == "probe.checked" and e["details"]["phase"] == "fault"]
    assert any("slow" in (e["details"].get("error") or "") for e in during)
    injected = next(e for e in events if e["kind"] == "fault.injected")
    assert injected["details"]["description"] == f"add 600ms latency downstream on proxy {proxy.name}"
    assert [t.name for t in toxiproxy.toxics(proxy.name)] == ["bystander"]


def test_unknown_proxy_ends_the_run_before_anything_is_injected(
    tmp_path: Path, toxiproxy: ToxiproxyClient, make_proxy: Callable[[Upstream], Proxy], http_upstream: Upstream
) -> None:
    proxy = make_proxy(http_upstream)
    file = latency_scenario(tmp_path / "typo.yaml", url=toxiproxy.base_url, proxy=proxy, args={"latency": "600ms"})
    stack = tmp_path / "stacks" / "proxied.yaml"
    stack.write_text(stack.read_text().replace(f"proxy: {proxy.name}", "proxy: no-such-proxy")
                     .replace(f"- {proxy.name}", "- no-such-proxy"))

    result = run_scenario(load_scenario(file), RunOptions(reports_dir=tmp_path / "reports", handle_signals=False,
                                                          observers=[]))

    assert result.outcome is Outcome.ERROR
    assert result.error == f"Toxiproxy at {toxiproxy.base_url} has no proxy 'no-such-proxy'"
    assert "fault.injected" not in (result.run_dir / "timeline.jsonl").read_text()


def test_validate_rejects_bad_network_fault_args_with_file_and_line(tmp_path: Path) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(
        "version: 1\n"
        "name: bad-network\n"
        "stack:\n"
        "  toxiproxy: {url: 'http://127.0.0.1:18474'}\n"
        "  targets:\n"
        "    db-path: {proxy: postgres}\n"
        "    db: {container: gameday-demo-postgres}\n"
        "faults:\n"
        "  - kind: latency\n"
        "    target: db-path\n"
        "    args: {latency: -5ms, direction: sideways, colour: red}\n"
        "    duration: 2s\n"
        "  - kind: bandwidth\n"
        "    target: db-path\n"
        "    args: {rate_kb: fast}\n"
        "    duration: 2s\n"
        "  - kind: proxy_down\n"
        "    target: db\n"
        "    duration: 2s\n"
    )
    done = subprocess.run([sys.executable, "-m", "gameday", "validate", str(file)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert f"{file}:11:21: faults[0].args.latency: duration must not be negative, got '-5ms'" in lines
    assert any(line.startswith(f"{file}:11:") and "faults[0].args.direction: must be one of" in line for line in lines)
    assert any(line.startswith(f"{file}:11:") and line.endswith("faults[0].args.colour: unknown key") for line in lines)
    assert any(line.startswith(f"{file}:15:") and "faults[1].args.rate_kb" in line for line in lines)
    assert any(line.startswith(f"{file}:18:") and "fault kind 'proxy_down' acts on a target on platform toxiproxy; 'db' is on platform" in line
               for line in lines)
    assert "Traceback" not in done.stderr


def _run_until_the_toxic_is_on(file: Path, reports: Path, toxiproxy: ToxiproxyClient,
                               proxy: Proxy) -> subprocess.Popen[bytes]:
    child = subprocess.Popen([sys.executable, "-m", "gameday", "run", str(file), "--reports", str(reports)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120  # a busy machine: a harness's start, preflight and steady state took over 20 s
    while not toxiproxy.toxics(proxy.name):
        if time.monotonic() > deadline or child.poll() is not None:
            exited = child.poll()
            child.kill()
            child.wait()  # reaped here, not warned about in whatever test happens to collect it
            raise AssertionError(f"the run never injected its toxic (exit {exited})")
        time.sleep(0.05)
    return child


def _watchdog_pid(reports: Path) -> int:
    (timeline,) = reports.glob("*/timeline.jsonl")
    started = [json.loads(line) for line in timeline.read_text().splitlines() if '"watchdog.started"' in line]
    return int(started[0]["details"]["pid"])


def test_cleanup_removes_the_toxic_of_a_run_killed_mid_fault(
    tmp_path: Path, toxiproxy: ToxiproxyClient, make_proxy: Callable[[Upstream], Proxy], http_upstream: Upstream
) -> None:
    """SIGKILL of the run and its watchdog leaves the toxic on the proxy; `gameday cleanup` removes it from
    the journal alone."""
    from gameday.engine.cleanup import cleanup

    proxy = make_proxy(http_upstream)
    file = latency_scenario(tmp_path / "crash.yaml", url=toxiproxy.base_url, proxy=proxy, args={"latency": "50ms"})
    file.write_text(file.read_text().replace("duration: 2s", "duration: 60s"))
    reports = tmp_path / "reports"
    child = _run_until_the_toxic_is_on(file, reports, toxiproxy, proxy)
    try:
        with contextlib.suppress(ProcessLookupError):  # the watchdog first, or it would revert (the next test)
            os.kill(_watchdog_pid(reports), signal.SIGKILL)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert len(toxiproxy.toxics(proxy.name)) == 1, "SIGKILL gives the run no chance to revert"

    results = cleanup(reports)

    assert [(r.fault.handle.kind, r.reverted) for r in results] == [("latency", True)]
    assert toxiproxy.toxics(proxy.name) == []
    assert cleanup(reports) == [], "a second cleanup finds nothing pending"


def test_the_watchdog_removes_the_toxic_when_the_run_is_sigkilled(
    tmp_path: Path, toxiproxy: ToxiproxyClient, make_proxy: Callable[[Upstream], Proxy], http_upstream: Upstream
) -> None:
    """The dead-man's switch: the run dies with no chance to revert, its detached watchdog does it."""
    from gameday.engine.cleanup import cleanup

    proxy = make_proxy(http_upstream)
    file = latency_scenario(tmp_path / "crash.yaml", url=toxiproxy.base_url, proxy=proxy, args={"latency": "50ms"})
    file.write_text(file.read_text().replace("duration: 2s", "duration: 60s"))
    reports = tmp_path / "reports"
    child = _run_until_the_toxic_is_on(file, reports, toxiproxy, proxy)
    watchdog = _watchdog_pid(reports)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    killed = time.monotonic()
    while toxiproxy.toxics(proxy.name):
        assert time.monotonic() - killed < 30, "the watchdog did not remove the toxic within 30 s"
        time.sleep(0.1)
    # Well before the fault's 60 s: the watchdog acted on the dead run, not on the TTL.
    assert time.monotonic() - killed < 30
    assert cleanup(reports) == [], "the watchdog left nothing pending in the journal"
    deadline = time.monotonic() + 10
    while Path(f"/proc/{watchdog}").exists() and b"zombie" not in _state(watchdog):
        assert time.monotonic() < deadline, "the watchdog kept running after its work was done"
        time.sleep(0.1)


def _state(pid: int) -> bytes:
    try:
        status = Path(f"/proc/{pid}/status").read_bytes()
    except OSError:
        return b"zombie"
    return status.lower()
