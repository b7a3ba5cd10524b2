"""The Compose platform on a real Compose project (the Compose scripts/setup.sh installs, on a real Engine):
targets by Compose's labels, what plan says about a service, a kill Docker restarts after, a container
Compose replaced during a fault, and the allowlist by the service's labels."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gameday.cli.main import main
from gameday.engine.plan import make_plan
from gameday.engine.safety import check_allowed
from gameday.errors import TargetError
from gameday.faults.docker import ContainerKill, ContainerStop
from gameday.platforms.compose import ComposePlatform
from gameday.platforms.compose_config import ComposeFiles, read_config
from gameday.platforms.docker import DockerPlatform
from gameday.scenario.model import FaultSpec, Scenario, StackSpec
from gameday.scenario.stackfile import load_stack_file
from gameday.testing import free_port
from tests.compose_projects import ComposeProject, compose_project  # noqa: F401 -- the fixture
from tests.conftest import http_ok, wait_for

pytestmark = pytest.mark.docker

ProjectFactory = Callable[..., ComposeProject]


def two_services(port: int) -> str:
    """web (allowed, restarted by Docker, waits for cache to be healthy) and cache (not allowed, a volume)."""
    return f"""\
services:
  web:
    image: gameday/busybox:test
    command: ["httpd", "-f", "-p", "127.0.0.1:{port}", "-h", "/www"]
    network_mode: host
    restart: unless-stopped
    labels:
      gameday.allowed: "true"
    depends_on:
      cache:
        condition: service_healthy
  cache:
    image: gameday/busybox:test
    command: ["sleep", "3600"]
    network_mode: host
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
    volumes:
      - data:/data
volumes:
  data:
"""


def stack_data(project: ComposeProject, **targets: str) -> dict[str, Any]:
    return {"targets": {name: {"platform": "compose", "project": project.name, "service": service}
                        for name, service in (targets or {"web": "web"}).items()}}


def stack(project: ComposeProject, **targets: str) -> StackSpec:
    return StackSpec.model_validate(stack_data(project, **targets))


def fault(kind: str, target: str = "web") -> FaultSpec:
    return FaultSpec.model_validate({"kind": kind, "target": target, "duration": "1s"})


@pytest.fixture
def shop(compose_project: ProjectFactory, test_image: str) -> tuple[ComposeProject, str]:  # noqa: F811
    port = free_port()
    project = compose_project(two_services(port))
    url = f"http://127.0.0.1:{port}/"
    wait_for(lambda: http_ok(url), timeout=60)
    return project, url


def test_a_compose_target_is_the_services_container_with_dockers_lock_key(shop: Any, docker_client: Any) -> None:
    project, _ = shop
    container = project.container(docker_client, "web")
    handle = ContainerKill().prepare(fault("container_kill"), stack(project))
    assert handle.platform == "compose"
    assert (handle.address["id"], handle.address["project"], handle.address["service"], handle.address["index"]) == (
        container.id, project.name, "web", 1)
    docker_handle = ContainerKill().prepare(fault("container_kill"), StackSpec.model_validate(
        {"targets": {"web": {"platform": "docker", "container": container.name}}}))
    # One container, one lock, whichever platform a scenario names it through.
    assert ComposePlatform().lock_key(handle) == DockerPlatform().lock_key(docker_handle) == f"docker:{container.id}"


def test_plan_says_what_a_service_depends_on_what_depends_on_it_and_what_restarts_it(shop: Any) -> None:
    project, _ = shop
    scenario = Scenario.model_validate({
        "version": 1, "name": "shop", "stack": stack_data(project, web="web", cache="cache"),
        "faults": [{"kind": "container_kill", "target": "web", "duration": "1s"},
                   {"kind": "container_stop", "target": "cache", "duration": "1s"}],
    })
    kill, stop = make_plan(scenario).faults
    assert "web depends on cache (service_healthy)" in kill.notes
    assert any(n.startswith("restart: unless-stopped, so Docker restarts it after the kill") for n in kill.notes)
    assert stop.problem is not None and 'add `labels: {gameday.allowed: "true"}` to cache' in stop.problem
    cache = ContainerStop().prepare(fault("container_stop", "cache"), stack(project, cache="cache"))
    notes = ComposePlatform().target_notes(cache)
    assert "web (service_healthy) depend(s) on cache" in notes
    assert "restart: no, so nothing but revert brings it back" in notes
    assert "it has a health check: revert waits until it is healthy" in notes


def test_a_killed_service_with_a_restart_policy_is_restarted_by_docker_and_revert_only_waits(
    shop: Any, docker_client: Any
) -> None:
    project, url = shop
    driver = ContainerKill()
    handle = driver.prepare(fault("container_kill"), stack(project))
    container = project.container(docker_client, "web")
    restarts = container.attrs["RestartCount"]
    driver.inject(handle)

    def restarted() -> bool:
        container.reload()
        return bool(container.attrs["RestartCount"] > restarts and container.status == "running")

    wait_for(restarted, timeout=60)  # a crash, not a manual stop: Docker's restart policy applies
    driver.revert(handle)  # running already: no start, no false failure
    assert project.container(docker_client, "web").id == container.id
    wait_for(lambda: http_ok(url), timeout=30)


def test_revert_follows_a_container_compose_replaced_during_the_fault(shop: Any, docker_client: Any) -> None:
    project, url = shop
    driver = ContainerStop()
    handle = driver.prepare(fault("container_stop"), stack(project))
    driver.inject(handle)
    old = project.container(docker_client, "web")
    assert old.status == "exited"
    old.remove(force=True)
    project.compose("up", "-d", "--no-deps", "web")  # someone brings the service up again under a new id
    driver.revert(handle)
    assert project.container(docker_client, "web").id != handle.address["id"]
    wait_for(lambda: http_ok(url), timeout=30)


def test_a_service_without_the_allow_label_is_refused_saying_where_to_add_it(shop: Any) -> None:
    project, _ = shop
    handle = ContainerStop().prepare(fault("container_stop", "cache"), stack(project, cache="cache"))
    with pytest.raises(TargetError) as caught:
        check_allowed(handle, StackSpec(), allow_production=False)
    assert f"container {project.name}" in str(caught.value)
    assert 'add `labels: {gameday.allowed: "true"}` to cache in the Compose file' in str(caught.value)


def test_a_service_the_project_does_not_run_is_one_line_naming_the_project(shop: Any) -> None:
    project, _ = shop
    with pytest.raises(TargetError, match=f"no container for service queue of Compose project {project.name} "
                                          r"\(target 'web'\); is the project up\?"):
        ContainerKill().prepare(fault("container_kill"), stack(project, web="queue"))


def test_the_resolved_configuration_is_read_through_compose(shop: Any, docker_client: Any) -> None:
    project, _ = shop
    files = ComposeFiles.from_labels(project.container(docker_client, "web").labels)
    assert files is not None and files.files == (str(project.file),)
    config = read_config(files)
    assert config.services["web"].depends_on == {"cache": "service_healthy"}
    assert config.services["web"].restart == "unless-stopped"
    assert config.services["web"].labels == {"gameday.allowed": "true"}
    assert config.services["cache"].healthcheck and not config.services["web"].healthcheck
    [volume] = config.services["cache"].volumes
    assert (volume.type, volume.target, volume.read_only) == ("volume", "/data", False)


def test_a_stack_file_allows_services_by_name_and_gives_the_project(
    shop: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project, _ = shop
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "shop.yaml").write_text(
        "version: 1\nplatform: compose\n"
        f"platforms: {{compose: {{project: {project.name}}}}}\n"
        "targets:\n  web: {platform: compose, service: web}\n  cache: {platform: compose, service: cache}\n"
        "allow:\n  compose: [web]\n")
    scenario = tmp_path / "shop-kill.yaml"
    scenario.write_text("version: 1\nname: shop-kill\nstack: shop\nfaults:\n"
                        "  - {kind: container_kill, target: web, duration: 1s}\n"
                        "  - {kind: container_kill, target: cache, duration: 1s}\n")
    assert main(["validate", "-q", str(scenario)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [(f"{scenario}:6:36: faults[1].target: target 'cache' (service=cache) is not allowed by stack "
                     f"'shop': its allow.compose in {tmp_path / 'stacks' / 'shop.yaml'} does not list cache")]
    loaded = load_stack_file(tmp_path / "stacks" / "shop.yaml")
    handle = ContainerKill().prepare(fault("container_kill", "cache"), loaded)
    assert handle.address["project"] == project.name  # from platforms.compose.project
    with pytest.raises(TargetError, match=r"service cache \(target 'cache'\) is not in stack 'shop''s allowlist"):
        check_allowed(handle, loaded, allow_production=False)
    check_allowed(ContainerKill().prepare(fault("container_kill"), loaded), loaded, allow_production=False)
