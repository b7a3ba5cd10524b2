"""The Docker platform on a real Engine: long-form targets, the runtime's exec with a timeout, and a journal
written before the platform seam still cleaned up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gameday.engine.cleanup import cleanup
from gameday.errors import FaultError
from gameday.faults.docker import ContainerKill
from gameday.platforms.base import ExecResult
from gameday.platforms.docker import DockerPlatform, DockerRuntime
from gameday.scenario.model import FaultSpec, StackSpec
from tests.conftest import http_ok, wait_for

pytestmark = pytest.mark.docker


def test_a_long_form_docker_target_gives_the_handle_its_platform_fields(web_container) -> None:
    web = web_container()
    stack = StackSpec.model_validate({"targets": {"web": {"platform": "docker", "container": web.name}}})
    handle = ContainerKill().prepare(
        FaultSpec.model_validate({"kind": "container_kill", "target": "web", "duration": "1s"}), stack)
    assert handle.platform == "docker"
    assert handle.resource == f"docker:{web.container.id}" == DockerPlatform().lock_key(handle)
    assert handle.labels is not None and handle.labels["gameday.allowed"] == "true"
    assert handle.address == {"base_url": None, "id": web.container.id, "name": web.name}
    assert set(handle.data) == {"container_name", "has_healthcheck", "args"}  # only the driver's own


def test_exec_returns_the_exit_code_and_output_and_stops_waiting_at_the_timeout(web_container) -> None:
    web = web_container()
    runtime = DockerRuntime(names={web.container.id: web.name})
    assert runtime.exec(web.container.id, ["sh", "-c", "echo hi; exit 3"], timeout=30) == ExecResult(3, "hi")
    with pytest.raises(FaultError, match=f"`sleep 30` in container {web.name} did not finish within 0.5s"):
        runtime.exec(web.container.id, ["sleep", "30"], timeout=0.5)


def test_cleanup_reverts_a_fault_journalled_before_handles_named_their_platform(tmp_path: Path, web_container) -> None:
    web = web_container()
    web.container.pause()
    old_handle = {  # the handle as the last version wrote it: Docker's keys inside data, no platform fields
        "kind": "container_pause", "target": "web", "description": f"pause {web.name}",
        "data": {"base_url": None, "container_id": web.container.id, "container_name": web.name,
                 "has_healthcheck": False, "container_labels": dict(web.container.labels),
                 "resource": f"docker:{web.container.id}", "args": {"mode": "freeze"}},
    }
    run_dir = tmp_path / "reports" / "20260101T000000Z-old-0000"
    run_dir.mkdir(parents=True)
    intent = {"op": "intent", "fault_id": "f0", "handle": old_handle, "pid": 2**22 + 12345,
              "run_id": run_dir.name, "at": "2026-01-01T00:00:00.000Z"}
    (run_dir / "journal.jsonl").write_text(json.dumps(intent) + "\n")
    [result] = cleanup(tmp_path / "reports", state_dir=tmp_path / "state", warn=pytest.fail)
    assert result.reverted, result.error
    web.container.reload()
    assert web.container.attrs["State"]["Paused"] is False
    wait_for(lambda: http_ok(web.url), timeout=60)
    assert '"by": "cleanup"' in (run_dir / "journal.jsonl").read_text()
