"""Toxiproxy restarted while a toxic is live: the run's revert waits for it and does not fail on the lost toxic."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import yaml

from gameday.engine.run import Outcome, RunOptions, run_scenario
from gameday.faults.toxiproxy_client import ToxiproxyClient
from gameday.scenario.loader import load_scenario
from gameday.testing import free_port
from tests.faults.conftest import ToxiproxyServer, Upstream, start_toxiproxy
from tests.helpers import stack_file


def wait_for_event(reports: Path, kind: str, within: float = 60.0) -> None:
    """Block until the run's timeline records ``kind`` (the harness's own progress, not a guessed sleep)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        runs = list(reports.glob("*/timeline.jsonl"))
        if runs and f'"{kind}"' in runs[0].read_text():
            return
        time.sleep(0.02)
    raise AssertionError(f"the run never recorded {kind} within {within:g}s")


def restart_on_same_port(server: ToxiproxyServer, log: Path, reports: Path) -> ToxiproxyServer:
    import subprocess

    from tests.faults.conftest import toxiproxy_binary

    # Stopped only once the harness has seen its toxic live: a stop before that is a different story (the
    # check right after inject meeting a dead server), not the restart mid-fault this test is about.
    wait_for_event(reports, "fault.effective")
    server.stop()
    wait_for_event(reports, "revert.retrying")  # down until the revert has met it down, however late that is
    with log.open("ab") as out:
        process = subprocess.Popen([str(toxiproxy_binary()), "-host", "127.0.0.1", "-port", str(server.port)],
                                   stdout=out, stderr=subprocess.STDOUT)
    return ToxiproxyServer(server.url, server.port, process)


def test_a_toxiproxy_restart_mid_fault_is_survived(tmp_path: Path, http_upstream: Upstream) -> None:
    server = start_toxiproxy(tmp_path / "toxiproxy.log")
    listen = free_port()
    with ToxiproxyClient(server.url) as client:
        client.create_proxy("web", listen=f"127.0.0.1:{listen}", upstream=http_upstream.address)
    path = tmp_path / "latency.yaml"
    path.write_text(yaml.safe_dump({
        "version": 1, "name": "restart",
        "stack": stack_file(tmp_path, "proxied", {"toxiproxy": {"url": server.url}, "targets": {"web": {"proxy": "web"}}},
                            {"toxiproxy": ["web"]}),
        "steady_state": {"probes": [{"name": "web", "http": {"url": f"http://127.0.0.1:{listen}/", "timeout": "1s"},
                                     "interval": "200ms"}]},
        "faults": [{"kind": "latency", "target": "web", "duration": "2s", "args": {"latency": "300ms"}}],
        "expect": {"recovers_within": "20s"},
    }))
    restarted: list[ToxiproxyServer] = []

    def chaos_for_the_chaos_tool() -> None:
        new = restart_on_same_port(server, tmp_path / "toxiproxy.log", tmp_path / "reports")
        restarted.append(new)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the operator's config management puts the proxy back, without any toxic
            try:
                with ToxiproxyClient(new.url) as client:
                    client.create_proxy("web", listen=f"127.0.0.1:{listen}", upstream=http_upstream.address)
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.1)

    thread = threading.Thread(target=chaos_for_the_chaos_tool)
    thread.start()
    try:
        result = run_scenario(load_scenario(path), RunOptions(reports_dir=tmp_path / "reports", handle_signals=False))
    finally:
        thread.join(timeout=60)
        for s in restarted or [server]:
            s.stop()
    kinds = [json.loads(line)["kind"] for line in (result.run_dir / "timeline.jsonl").read_text().splitlines()]
    assert "revert.retrying" in kinds, "the revert met the server down and waited"
    assert "fault.reverted" in kinds and "revert.failed" not in kinds
    assert result.outcome is Outcome.PASSED, result.verdicts
