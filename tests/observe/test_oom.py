"""expect.oom_kills: the verdict from the timeline alone, and the OOM watcher on real containers (Docker's
State.OOMKilled and the kernel's oom_kill count of the container's memory cgroup)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from gameday import events as ev
from gameday.clock import SystemClock
from gameday.contracts import RunContext
from gameday.observe.oom import OomObserver, kernel_oom_kills, watched_targets
from gameday.scenario.model import Scenario
from gameday.scoring.expectations import judge, oom_kill_verdicts
from gameday.testing import ev as event
from gameday.timeline import Timeline
from tests.conftest import wait_for
from tests.helpers import events, only_run_dir, run_harness, write_scenario


def scenario(*expected: dict[str, Any], kind: str = "container_kill", target: str = "cache") -> Scenario:
    return Scenario.model_validate({
        "version": 1, "name": "s", "stack": {"targets": {"cache": {"container": "c"}, "web": {"container": "w"}}},
        "steady_state": {"probes": []},
        "faults": [{"kind": kind, "target": target, "duration": "10s",
                    **({"args": {"limit": "16MiB"}} if kind == "memory_pressure" else {})}],
        "expect": {"oom_kills": list(expected)},
    })


def timeline(*extra: Any, watched: tuple[str, ...] = ("cache",)) -> list[Any]:
    return sorted([
        event(1, ev.OOM_WATCHING, targets=[{"target": t, "container": t, "kernel": True} for t in watched],
              interval_s=0.25),
        event(9, ev.FAULT_INJECTED, fault="f"),
        event(10, ev.FAULT_EFFECTIVE, fault="f"),
        *extra,
        event(30, ev.FAULT_REVERTED, fault="f"),
        event(31, ev.RECOVERY_MET, after_s=1.0),
    ], key=lambda e: e.offset)


KILLED = event(11, ev.CONTAINER_OOM_KILLED, target="cache", container="c", source="runtime", exit_code=137,
               finished_at="2026-11-25T10:00:11Z", status="exited")


def test_an_expected_oom_kill_seen_after_inject_is_met() -> None:
    (verdict,) = oom_kill_verdicts(scenario({"target": "cache"}), timeline(KILLED))
    assert verdict.met
    assert verdict.name == "cache OOM-killed during fault"
    assert verdict.detail == "1 seen: c exited 137 at 2026-11-25T10:00:11Z, OOMKilled"


def test_an_expected_oom_kill_that_never_came_fails() -> None:
    (verdict,) = oom_kill_verdicts(scenario({"target": "cache"}), timeline())
    assert not verdict.met
    assert "no OOM kill seen" in verdict.detail


def test_a_kill_before_the_fault_is_not_the_fault_s_but_one_inside_the_inject_call_is() -> None:
    before = event(5, ev.CONTAINER_OOM_KILLED, target="cache", container="c", source="kernel", kills=1,
                   status="running")
    (verdict,) = oom_kill_verdicts(scenario({"target": "cache"}), timeline(before))
    assert not verdict.met
    # memory_pressure's hold is written inside inject: its kill comes between fault.intended and fault.injected
    inside = event(8.5, ev.CONTAINER_OOM_KILLED, target="cache", container="c", source="kernel", kills=1,
                   status="running")
    (verdict,) = oom_kill_verdicts(scenario({"target": "cache"}),
                                   timeline(before, inside, event(8, ev.FAULT_INTENDED, fault="f")))
    assert verdict.met and verdict.detail.startswith("1 seen:")


def test_none_fails_on_a_kill_the_kernel_counted_while_the_container_ran_on() -> None:
    kernel = event(12, ev.CONTAINER_OOM_KILLED, target="cache", container="c", source="kernel", kills=2,
                   status="running")
    (verdict,) = oom_kill_verdicts(scenario({"target": "cache", "during_fault": "none"}), timeline(kernel))
    assert not verdict.met
    assert verdict.name == "cache not OOM-killed"
    assert "the kernel's oom_kill count +2 (it was running)" in verdict.detail
    (quiet,) = oom_kill_verdicts(scenario({"target": "cache", "during_fault": "none"}), timeline())
    assert quiet.met


def test_a_target_that_was_not_watched_fails_with_the_reason() -> None:
    failed = event(1, ev.OOM_WATCH_FAILED, target="cache", error="container c not found")
    (verdict,) = oom_kill_verdicts(scenario({"target": "cache"}), timeline(failed, watched=()))
    assert not verdict.met
    assert verdict.detail == "its OOM kills were not watched: container c not found"


def test_judge_includes_the_oom_verdicts_and_a_kill_of_another_target_does_not_count() -> None:
    other = event(11, ev.CONTAINER_OOM_KILLED, target="web", container="w", source="runtime", exit_code=137,
                  finished_at="2026-11-25T10:00:11Z", status="exited")
    verdicts = {v.name: v for v in judge(scenario({"target": "cache"}), timeline(other, watched=("cache", "web")))}
    assert verdicts["cache OOM-killed during fault"].met is False


def test_the_watcher_is_wanted_for_expected_kills_and_for_memory_pressure_targets() -> None:
    assert watched_targets(scenario({"target": "web"})) == ["web"]
    assert watched_targets(scenario(kind="memory_pressure")) == ["cache"]
    assert watched_targets(scenario({"target": "cache"}, kind="memory_pressure")) == ["cache"]
    assert not OomObserver.wanted(scenario())


# --- on real containers ------------------------------------------------------------------------


def _container(docker_client, test_image, script: str, **kwargs: Any) -> Any:
    return docker_client.containers.run(test_image, ["sh", "-c", script], name=f"gdtest-{uuid.uuid4().hex[:8]}",
                                        detach=True, network_mode="none", mem_limit="64m", memswap_limit="64m",
                                        labels={"gameday.test": "1", "gameday.allowed": "true"}, **kwargs)


def _watch(tmp_path: Path, name: str) -> tuple[OomObserver, Timeline]:
    spec = scenario({"target": "cache"})
    spec = spec.model_copy(update={"stack": spec.stack.model_copy(update={
        "targets": {"cache": spec.stack.targets["cache"].model_copy(update={"container": name})}})})
    line = Timeline(tmp_path / "timeline.jsonl", clock=SystemClock())
    observer = OomObserver()
    observer.start(RunContext(scenario=spec, timeline=line, clock=SystemClock(), run_dir=tmp_path,
                              scenario_dir=tmp_path))
    return observer, line


@pytest.mark.docker
def test_the_kernel_count_shows_a_kill_of_a_process_other_than_the_main_one(docker_client, test_image,
                                                                            tmp_path: Path) -> None:
    """PID 1 sleeps; a process exec'd beside it asks for 100 MiB under a 64 MiB limit and is OOM-killed. The
    container runs on: only the cgroup's oom_kill count (which the watcher reads) says so."""
    container = _container(docker_client, test_image, "exec sleep 600")
    observer, line = _watch(tmp_path, container.name)
    try:
        container.reload()
        assert kernel_oom_kills(container.attrs["State"]["Pid"], container.id) == 0
        result = container.exec_run(["sh", "-c", "exec awk 'BEGIN { s = sprintf(\"%100000000s\", \"\"); print length(s) }'"])
        assert result.exit_code == 137
        wait_for(lambda: any(e.kind == ev.CONTAINER_OOM_KILLED for e in line.events), timeout=30)
        container.reload()
        assert container.attrs["State"]["Status"] == "running"
    finally:
        observer.stop()
        line.close()
        container.remove(force=True)
    (kill,) = [e for e in line.events if e.kind == ev.CONTAINER_OOM_KILLED]
    assert kill.details == {"target": "cache", "container": container.name, "source": "kernel", "kills": 1,
                            "status": "running"}
    assert line.events[0].kind == ev.OOM_WATCHING
    assert line.events[0].details["targets"] == [{"target": "cache", "container": container.name, "kernel": True}]


@pytest.mark.docker
def test_a_scenario_expecting_the_oom_kill_of_its_target_passes_and_revert_brings_it_back(
        docker_client, test_image, tmp_path: Path) -> None:
    """`gameday run` end to end: memory_pressure lowers a container's limit to 24 MiB and holds 40 MiB in its
    /dev/shm; the kernel's OOM killer ends a process there (the main one, awk holding 12 MB, or the writer), the
    watcher records it, expect.oom_kills is met from the timeline, and revert puts the 64 MiB limit back, starts
    the container if it exited and leaves its /dev/shm empty."""
    script = "exec awk 'BEGIN { s = sprintf(\"%12000000s\", \"\"); system(\"sleep 600\") }'"
    container = _container(docker_client, test_image, script)
    try:
        path = write_scenario(
            tmp_path / "oom.yaml", version=1, name="oom",
            stack={"targets": {"box": {"container": container.name}}},
            steady_state={"probes": []},
            faults=[{"kind": "memory_pressure", "target": "box", "duration": "3s",
                     "args": {"limit": "24MiB", "hold": "40MiB", "oom_kill": "expected"}}],
            expect={"recovers_within": "10s", "oom_kills": [{"target": "box"}]})
        result = run_harness("run", "-q", str(path), "--reports", str(tmp_path / "reports"), cwd=tmp_path,
                             timeout=180)
        assert result.returncode == 0, result.stdout + result.stderr
        run = events(only_run_dir(tmp_path / "reports"))
        kills = [e for e in run if e["kind"] == ev.CONTAINER_OOM_KILLED]
        assert kills, run
        met = [e["details"]["name"] for e in run if e["kind"] == ev.EXPECTATION_MET]
        assert "box OOM-killed during fault" in met
        container.reload()
        assert container.attrs["State"]["Status"] == "running"
        assert container.attrs["HostConfig"]["Memory"] == 64 * 2**20
        assert container.attrs["HostConfig"]["MemorySwap"] == 64 * 2**20
        assert container.exec_run(["ls", "-A", "/dev/shm"]).output == b""
    finally:
        container.remove(force=True)
