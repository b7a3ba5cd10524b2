"""``gameday init --docker`` on the running containers: a Docker target per container, runbooks that lint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gameday.cli.main import main

pytestmark = pytest.mark.docker


def test_init_docker_writes_a_docker_target_and_a_kill_scenario_for_a_running_container(
    web_container: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    web = web_container()
    assert main(["init", "--docker", "--name", "local", "--dir", str(tmp_path)]) == 0
    said = capsys.readouterr().out
    assert f"  {web.name}: http, ports {web.port} (guessed)" in said
    stack = (tmp_path / "stacks" / "local.yaml").read_text()
    assert f"  {web.name}: {{platform: docker, container: {web.name}," in stack
    assert "\nallow: {}\n" in stack
    assert (tmp_path / "scenarios" / f"local-{web.name}-kill.yaml").is_file()
    runbook = tmp_path / "runbooks" / f"local-{web.name}-down.md"
    assert f"docker start {web.name}" in runbook.read_text()
    assert main(["runbook", "lint", str(runbook), "--container", web.name]) == 0
