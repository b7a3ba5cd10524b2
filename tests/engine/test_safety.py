"""Safe by default: the dead-man's switch, guards, the allowlist, production refusal, locks, plan, abort."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import http_ok, wait_for
from tests.helpers import events, harness_process, only_run_dir, run_harness, wait_for_event, web_scenario

pytestmark = pytest.mark.docker


def edit(path: Path, **changes: object) -> Path:
    data = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        node = data
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def container_state(web) -> dict:
    web.container.reload()
    return web.container.attrs["State"]


def test_watchdog_reverts_after_the_harness_is_sigkilled(tmp_path: Path, web_container) -> None:
    web = web_container()
    path = web_scenario(tmp_path, container=web.name, url=web.url, duration="120s", kind="container_pause")
    proc = harness_process("run", str(path), "--reports", "reports", cwd=tmp_path)
    wait_for_event(tmp_path / "reports", "fault.injected")
    assert container_state(web)["Paused"] is True
    killed_at = time.monotonic()
    proc.kill()
    proc.communicate(timeout=10)
    # No `gameday cleanup`: the watchdog, in its own session, sees the harness gone and reverts.
    wait_for(lambda: not container_state(web)["Paused"], timeout=60)  # about a second; generous when busy
    took = time.monotonic() - killed_at
    assert http_ok(web.url)
    journal_path = next((tmp_path / "reports").glob("*/journal.jsonl"))
    # The watchdog journals the revert after doing it: wait for the line rather than race it.
    wait_for(lambda: '"by": "watchdog"' in journal_path.read_text(), timeout=60)
    print(f"kill -> revert by the watchdog: {took:.2f}s")
    # The run's own record says who put it back, and so does its report once rendered from it.
    run_dir = only_run_dir(tmp_path / "reports")
    wait_for(lambda: any(e["kind"] == "fault.reverted" and e["actor"] == "watchdog" for e in events(run_dir)),
             timeout=60)
    put_back = next(e for e in events(run_dir) if e["kind"] == "fault.reverted")
    assert put_back["details"]["by"] == "watchdog" and put_back["details"]["reason"] == "the harness is gone"
    assert run_harness("report", run_dir.name, "--reports", "reports", cwd=tmp_path).returncode == 0
    assert "was put back by the watchdog" in (run_dir / "report.md").read_text()


def test_watchdog_reverts_when_the_heartbeat_stops(tmp_path: Path, web_container) -> None:
    web = web_container()
    path = edit(web_scenario(tmp_path, container=web.name, url=web.url, duration="120s", kind="container_pause"),
                **{"safety.heartbeat_timeout": "3s"})  # the least allowed
    proc = harness_process("run", str(path), "--reports", "reports", cwd=tmp_path)
    try:
        wait_for_event(tmp_path / "reports", "fault.injected")
        os.kill(proc.pid, signal.SIGSTOP)  # the harness hangs: alive, but its heartbeat stops
        wait_for(lambda: not container_state(web)["Paused"], timeout=60)  # 3 s and a poll; generous when busy
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # also when the run never got going: no process left to the next test
        proc.communicate(timeout=10)
    assert http_ok(web.url)


def test_a_tripped_guard_aborts_reverts_and_exits_4(tmp_path: Path, web_container) -> None:
    web = web_container()
    bystander = {"name": "bystander", "http": {"url": web.url, "timeout": "500ms"}, "interval": "200ms"}
    path = edit(web_scenario(tmp_path, container=web.name, url=web.url, duration="60s"),
                guards=[{"name": "outside-blast-radius", "probe": bystander, "sustained": "500ms"}])
    done = run_harness("run", str(path), "--reports", "reports", cwd=tmp_path)
    assert done.returncode == 4, done.stdout + done.stderr
    assert container_state(web)["Status"] == "running"
    evs = events(only_run_dir(tmp_path / "reports"))
    kinds = [e["kind"] for e in evs]
    # The harness's own record, not this test's clock (a busy machine stretches process start-up, not this).
    reverted = next(e for e in evs if e["kind"] == "fault.reverted")
    assert reverted["details"]["duration_s"] < 60, "the guard stopped the 60 s fault early"
    assert kinds.index("guard.tripped") < kinds.index("fault.reverted")
    assert "outside-blast-radius" in next(e for e in evs if e["kind"] == "guard.tripped")["details"]["reason"]


def test_a_container_without_the_allow_label_is_refused(tmp_path: Path, web_container) -> None:
    web = web_container(allowed=False)
    done = run_harness("run", str(web_scenario(tmp_path, container=web.name, url=web.url)), "--reports", "r", cwd=tmp_path)
    assert done.returncode == 2
    assert "lacks the label gameday.allowed=true" in done.stderr and "--label gameday.allowed=true" in done.stderr
    assert container_state(web)["Status"] == "running"
    assert "fault.intended" not in [e["kind"] for e in events(only_run_dir(tmp_path / "r"))]


def test_a_production_stack_refuses_faults_unless_overridden(tmp_path: Path, web_container) -> None:
    web = web_container()
    path = edit(web_scenario(tmp_path, container=web.name, url=web.url, duration="1s"),
                **{"stack.environment": "production"})
    refused = run_harness("run", str(path), "--reports", "r1", cwd=tmp_path)
    assert refused.returncode == 2
    assert "environment: production" in refused.stderr
    allowed = run_harness("run", str(path), "--reports", "r2", "--allow-production", cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "safety.override" in [e["kind"] for e in events(only_run_dir(tmp_path / "r2"))]


def test_a_second_run_on_the_same_target_is_refused(tmp_path: Path, web_container) -> None:
    web = web_container()
    # A long window, ended by SIGTERM below: the second run must meet the first one's fault still live however
    # slowly a busy machine starts it (30 s was not always enough).
    first = harness_process("run", str(web_scenario(tmp_path, container=web.name, url=web.url, duration="600s")),
                            "--reports", "r1", cwd=tmp_path)
    try:
        wait_for_event(tmp_path / "r1", "fault.injected")
        second = run_harness("run", str(web_scenario(tmp_path, container=web.name, url=web.url, name="again")),
                             "--reports", "r2", cwd=tmp_path)
        assert second.returncode == 2
        first_run = only_run_dir(tmp_path / "r1").name
        assert f"in use by run {first_run}" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert container_state(web)["Status"] == "running"


def test_plan_resolves_checks_and_changes_nothing(tmp_path: Path, web_container) -> None:
    web = web_container()
    path = web_scenario(tmp_path, container=web.name, url=web.url)
    state_dir = Path(os.environ["GAMEDAY_STATE_DIR"])
    before = (container_state(web)["StartedAt"], sorted(state_dir.rglob("*")) if state_dir.exists() else [])
    done = run_harness("plan", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"kill {web.name}" in done.stdout and f"start or unpause {web.name}" in done.stdout
    after = (container_state(web)["StartedAt"], sorted(state_dir.rglob("*")) if state_dir.exists() else [])
    assert before == after
    assert not (tmp_path / "reports").exists()


def test_plan_reports_a_refused_target_and_exits_2(tmp_path: Path, web_container) -> None:
    web = web_container(allowed=False)
    done = run_harness("plan", str(web_scenario(tmp_path, container=web.name, url=web.url)), cwd=tmp_path)
    assert done.returncode == 2
    assert "lacks the label" in done.stdout.replace("\n", " ").replace("│", "") or "lacks" in done.stdout


def test_abort_stops_every_live_run_and_reverts(tmp_path: Path, web_container) -> None:
    web = web_container()
    proc = harness_process("run", str(web_scenario(tmp_path, container=web.name, url=web.url, duration="120s")),
                           "--reports", "reports", cwd=tmp_path)
    wait_for_event(tmp_path / "reports", "fault.injected")
    done = run_harness("abort", "--reports", "reports", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"pid {proc.pid}" in done.stdout
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert container_state(web)["Status"] == "running"


def test_abort_stops_a_run_that_has_not_injected_yet_and_spares_later_runs(tmp_path: Path, web_container) -> None:
    """A run still waiting for its fault's `at` has nothing to signal it by: the abort flag stops it."""
    web = web_container()
    state = {"GAMEDAY_STATE_DIR": str(tmp_path / "state")}  # this test's own machine-wide state
    path = web_scenario(tmp_path, container=web.name, url=web.url, duration="5s")
    edit(path, faults=[{"kind": "container_kill", "target": "web", "at": "60s", "duration": "5s"}])
    proc = harness_process("run", str(path), "--reports", "reports", cwd=tmp_path, env=state)
    wait_for(lambda: any('"phase": "fault"' in line for t in (tmp_path / "reports").glob("*/timeline.jsonl")
                         for line in t.read_text().splitlines()), timeout=30)
    done = run_harness("abort", "--reports", "reports", cwd=tmp_path, env=state)
    assert done.returncode == 0, done.stdout + done.stderr
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    evs = events(only_run_dir(tmp_path / "reports"))
    kinds = [e["kind"] for e in evs]
    assert "abort.requested" in kinds and "fault.injected" not in kinds
    # The harness's own offsets: the run stopped within seconds of the abort, not at its fault's T+60s.
    offset = {e["kind"]: e["offset"] for e in evs}
    assert offset["run.finished"] - offset["abort.requested"] < 30, "the run stopped within seconds"
    assert container_state(web)["Status"] == "running"
    # A run that starts after the abort is not stopped by it.
    later = run_harness("run", str(web_scenario(tmp_path, container=web.name, url=web.url, duration="1s",
                                                name="later")), "--reports", "later", cwd=tmp_path, env=state)
    assert later.returncode == 0, later.stdout + later.stderr
