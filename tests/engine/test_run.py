"""A whole run against a real container: steady state, fault, probes, revert, recovery, verdicts, report."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from gameday.engine.run import Outcome, RunOptions, run_scenario
from gameday.report.render import render_run
from gameday.scenario.loader import load_scenario
from tests.conftest import http_ok, wait_for
from tests.helpers import events, harness_process, only_run_dir, run_harness, wait_for_event, web_scenario

pytestmark = pytest.mark.docker


def kinds(run_dir: Path) -> list[str]:
    return [e["kind"] for e in events(run_dir)]


def test_kill_is_seen_by_the_probe_and_reverted(tmp_path: Path, web_container) -> None:
    web = web_container()
    scenario = load_scenario(web_scenario(tmp_path, container=web.name, url=web.url))
    result = run_scenario(scenario, RunOptions(reports_dir=tmp_path / "reports"))

    assert result.outcome is Outcome.PASSED, result.verdicts
    assert result.exit_code == 0
    order = kinds(result.run_dir)
    for before, after in [("run.started", "steady_state.met"), ("steady_state.met", "fault.intended"),
                          ("fault.intended", "fault.injected"), ("fault.injected", "fault.reverted"),
                          ("fault.reverted", "recovery.met"), ("recovery.met", "run.finished")]:
        assert order.index(before) < order.index(after)
    # Every check made wholly while the fault was in effect (by the harness's own offsets: after the kill was
    # seen, before the revert began) failed; a check in flight at the kill or during the restart may go either way.
    timeline = events(result.run_dir)
    effective = next(e["offset"] for e in timeline if e["kind"] == "fault.effective")
    reverting = next(e["offset"] for e in timeline if e["kind"] == "revert.started")
    while_broken = [e for e in timeline if e["kind"] == "probe.checked" and e["details"]["phase"] == "fault"
                    and e["offset"] - e["details"]["latency_ms"] / 1000 >= effective and e["offset"] <= reverting]
    assert while_broken and not any(c["details"]["ok"] for c in while_broken)
    assert http_ok(web.url)


def test_an_expectation_that_does_not_hold_fails_the_run(tmp_path: Path, web_container) -> None:
    web = web_container()
    scenario = load_scenario(web_scenario(tmp_path, container=web.name, url=web.url, during_fault="up", duration="1s"))
    result = run_scenario(scenario, RunOptions(reports_dir=tmp_path / "reports"))
    assert result.outcome is Outcome.FAILED
    assert result.exit_code == 1
    failed = [v for v in result.verdicts if not v.met]
    assert [v.name for v in failed] == ["probe web up during fault"]
    assert http_ok(web.url), "the fault is reverted even when the run fails"


def test_report_is_rendered_from_the_timeline_alone(tmp_path: Path, web_container) -> None:
    web = web_container()
    result = run_scenario(load_scenario(web_scenario(tmp_path, container=web.name, url=web.url, duration="1s")),
                          RunOptions(reports_dir=tmp_path / "reports"))
    offline = tmp_path / "copied-run"
    offline.mkdir()
    (offline / "timeline.jsonl").write_bytes((result.run_dir / "timeline.jsonl").read_bytes())
    report = render_run(offline).read_text()
    assert "# Game day report: web-fault" in report
    assert "| probe web down during fault | met |" in report
    assert "kill " + web.name in report
    # The probe table shows the first error the timeline holds for the fault phase, whichever it was
    # (refused, reset or disconnected depends on where the kill caught the request).
    first_error = next(e["details"]["error"] for e in events(offline)
                       if e["kind"] == "probe.checked" and e["details"]["phase"] == "fault" and not e["details"]["ok"])
    fault_row = next(line for line in report.splitlines() if line.startswith("| web | fault |"))
    assert fault_row.rstrip(" |").endswith(first_error)


def test_cli_run_writes_timeline_and_report_and_exits_0(tmp_path: Path, web_container) -> None:
    web = web_container()
    path = web_scenario(tmp_path, container=web.name, url=web.url, duration="1s")
    done = run_harness("run", str(path), "--reports", "reports", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = only_run_dir(tmp_path / "reports")
    assert (run_dir / "timeline.jsonl").is_file()
    assert (run_dir / "report.md").is_file()
    assert (run_dir / "journal.jsonl").is_file()
    assert "passed" in done.stdout


def test_cli_run_with_an_unknown_container_is_one_line_exit_2(tmp_path: Path, docker_client) -> None:
    path = web_scenario(tmp_path, container="gdtest-no-such-container", url="http://127.0.0.1:9/")
    done = run_harness("run", str(path), "--reports", "reports", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("gameday: error:")]
    assert len(errors) == 1 and "gdtest-no-such-container" in errors[0]


def test_cli_run_without_docker_is_one_line_exit_2(tmp_path: Path, web_container) -> None:
    path = web_scenario(tmp_path, container="web", url="http://127.0.0.1:9/")
    proc = harness_process("run", str(path), cwd=tmp_path, env={"DOCKER_HOST": f"unix://{tmp_path}/nothing.sock"})
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in err
    assert "cannot reach the Docker daemon" in err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_a_live_fault_reverts_it(tmp_path: Path, web_container, sig: signal.Signals) -> None:
    web = web_container()
    path = web_scenario(tmp_path, container=web.name, url=web.url, duration="60s")
    proc = harness_process("run", str(path), "--reports", "reports", cwd=tmp_path)
    wait_for_event(tmp_path / "reports", "fault.injected")
    assert not http_ok(web.url)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    web.container.reload()
    assert web.container.attrs["State"]["Status"] == "running"
    assert http_ok(web.url)
    run_dir = only_run_dir(tmp_path / "reports")
    assert "fault.reverted" in kinds(run_dir)
    assert kinds(run_dir)[-1] == "run.finished"


def test_sigkill_of_the_harness_then_cleanup_restores_the_container(tmp_path: Path, web_container) -> None:
    web = web_container()
    path = web_scenario(tmp_path, container=web.name, url=web.url, duration="60s", kind="container_pause")
    proc = harness_process("run", str(path), "--reports", "reports", cwd=tmp_path)
    wait_for_event(tmp_path / "reports", "fault.injected")
    proc.kill()
    proc.communicate(timeout=10)
    web.container.reload()
    assert web.container.attrs["State"]["Paused"] is True, "the fault outlived the harness, as after a crash"

    done = run_harness("cleanup", "--reports", "reports", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "reverted" in done.stdout
    web.container.reload()
    assert web.container.attrs["State"]["Paused"] is False
    assert http_ok(web.url)
    # The run's record says who put it back: cleanup, or the watchdog when it saw the harness gone first.
    run_dir = only_run_dir(tmp_path / "reports")

    def put_back() -> set[str]:
        return {e["actor"] for e in events(run_dir) if e["kind"] == "fault.reverted"}

    wait_for(put_back, timeout=60)
    assert put_back() <= {"cleanup", "watchdog"}
    if done.stdout.startswith("reverted"):  # cleanup's own revert line
        assert "cleanup" in put_back()

    again = run_harness("cleanup", "--reports", "reports", cwd=tmp_path)
    assert again.returncode == 0
    assert "nothing to clean up" in again.stdout


def test_cleanup_finds_journals_from_another_working_directory(tmp_path: Path, web_container) -> None:
    web = web_container()
    path = web_scenario(tmp_path, container=web.name, url=web.url, duration="60s")
    proc = harness_process("run", str(path), "--reports", "reports", cwd=tmp_path)
    wait_for_event(tmp_path / "reports", "fault.injected")
    proc.kill()
    proc.communicate(timeout=10)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_harness("cleanup", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    wait_for(lambda: http_ok(web.url), timeout=60)


def test_a_container_removed_mid_run_gives_a_clear_error_and_no_traceback(tmp_path: Path, web_container) -> None:
    web = web_container()
    path = web_scenario(tmp_path, container=web.name, url=web.url, duration="3s")
    state = {"GAMEDAY_STATE_DIR": str(tmp_path / "state")}  # only this test's journals, for the cleanups below
    proc = harness_process("run", str(path), "--reports", "reports", cwd=tmp_path, env=state)
    wait_for_event(tmp_path / "reports", "fault.injected")
    web.container.remove(force=True)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, out + err
    assert "Traceback" not in err
    assert "not found" in err or "not found" in out
    run_dir = only_run_dir(tmp_path / "reports")
    assert "revert.failed" in kinds(run_dir)
    # Nothing can bring the container back: cleanup keeps saying so, until a human says it is handled.
    assert run_harness("cleanup", "--reports", "reports", cwd=tmp_path, env=state).returncode == 3
    forgot = run_harness("cleanup", "--reports", "reports", "--forget", run_dir.name, cwd=tmp_path, env=state)
    assert forgot.returncode == 0 and f"forgotten {run_dir.name} f0" in forgot.stdout, forgot.stdout + forgot.stderr
    again = run_harness("cleanup", "--reports", "reports", cwd=tmp_path, env=state)
    assert again.returncode == 0 and "nothing to clean up" in again.stdout
    assert run_harness("cleanup", "--reports", "reports", "--forget", run_dir.name, cwd=tmp_path, env=state).returncode == 2
