"""Real Compose projects for tests: a Compose file written to a temporary folder, brought up with the Compose
that is installed (Debian's docker-compose from scripts/setup.sh, or the v2 plugin), taken down with its
volumes afterwards. Only local images, host networking and 127.0.0.1 on free ports: never a bridge network."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gameday.errors import EnvironmentProblem
from gameday.platforms.compose_config import ComposeCommand, find_compose


@dataclass
class ComposeProject:
    name: str
    folder: Path
    file: Path
    command: ComposeCommand

    def compose(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        argv = [*self.command.argv, "-p", self.name, "-f", str(self.file), *args]
        done = subprocess.run(argv, cwd=self.folder, capture_output=True, text=True, timeout=timeout, check=False)
        assert done.returncode == 0, f"{' '.join(argv)} failed: {done.stderr[-2000:]}{self._why()}"
        return done

    def _why(self) -> str:
        """The project's containers and their last log lines: what a failed ``up`` ("is unhealthy") does not say."""
        base = [*self.command.argv, "-p", self.name, "-f", str(self.file)]
        parts = [subprocess.run([*base, *args], cwd=self.folder, capture_output=True, text=True, timeout=60,
                                check=False).stdout for args in (["ps", "-a"], ["logs", "--no-color", "--tail", "15"])]
        return "\n" + "\n".join(parts)[-3000:]

    def container(self, docker_client: Any, service: str) -> Any:
        [found] = docker_client.containers.list(all=True, filters={"label": [
            f"com.docker.compose.project={self.name}", f"com.docker.compose.service={service}"]})
        return found


@pytest.fixture
def compose_project(tmp_path: Path, docker_client: Any) -> Iterator[Callable[..., ComposeProject]]:
    """Factory: write ``text`` as compose.yaml in a fresh folder and ``up -d`` it; every project is taken
    down (with its volumes) after the test."""
    try:
        command = find_compose()
    except EnvironmentProblem as exc:
        pytest.fail(f"these tests need Docker Compose (scripts/setup.sh installs it): {exc}")
    made: list[ComposeProject] = []

    def make(text: str, *, up: bool = True, folder_name: str = "") -> ComposeProject:
        name = f"gdtest{uuid.uuid4().hex[:8]}"
        folder = tmp_path / (folder_name or name)
        folder.mkdir(parents=True, exist_ok=True)
        file = folder / "compose.yaml"
        file.write_text(text)
        project = ComposeProject(name=name, folder=folder, file=file, command=command)
        made.append(project)
        if up:
            project.compose("up", "-d")
        return project

    yield make
    for project in made:
        subprocess.run([*project.command.argv, "-p", project.name, "-f", str(project.file), "down", "-v",
                        "--remove-orphans", "-t", "1"], cwd=project.folder, capture_output=True, timeout=180,
                       check=False)
