"""Container faults on a real Docker Engine: each one breaks the container and its revert brings it back."""

from __future__ import annotations

import pytest

from gameday.errors import DockerUnavailable, TargetError
from gameday.faults.base import FaultHandle
from gameday.faults.docker import ContainerKill, ContainerPause, ContainerStop
from gameday.scenario.model import FaultSpec, StackSpec
from tests.conftest import http_ok, wait_for

pytestmark = pytest.mark.docker


def stack_for(container: str | None = None, labels: dict[str, str] | None = None, base_url: str | None = None) -> StackSpec:
    target = {"container": container} if container else {"labels": labels}
    return StackSpec.model_validate({"docker": {"base_url": base_url}, "targets": {"web": target}})


def fault(kind: str, **args: object) -> FaultSpec:
    return FaultSpec.model_validate({"kind": kind, "target": "web", "duration": "1s", "args": args})


def state(container) -> dict:
    container.reload()
    return container.attrs["State"]


@pytest.mark.parametrize(
    ("driver_cls", "args", "broken_state"),
    [
        (ContainerKill, {}, "exited"),
        (ContainerStop, {"timeout": 1}, "exited"),
        (ContainerPause, {}, "paused"),
    ],
    ids=["kill", "stop", "pause"],
)
def test_fault_breaks_the_container_and_revert_brings_it_back(web_container, driver_cls, args, broken_state) -> None:
    web = web_container()
    driver = driver_cls()
    handle = driver.prepare(fault(driver_cls.kind, **args), stack_for(web.name))

    driver.inject(handle)
    wait_for(lambda: state(web.container)["Status"] == broken_state)
    assert driver.check(handle) is True
    assert not http_ok(web.url) if broken_state != "paused" else True

    driver.revert(handle)
    assert state(web.container)["Status"] == "running"
    assert driver.check(handle) is False
    wait_for(lambda: http_ok(web.url), timeout=60)


def test_paused_container_answers_nothing_until_unpaused(web_container) -> None:
    import httpx

    web = web_container()
    driver = ContainerPause()
    handle = driver.prepare(fault("container_pause"), stack_for(web.name))
    driver.inject(handle)
    with pytest.raises(httpx.TimeoutException):
        httpx.get(web.url, timeout=0.5, trust_env=False)
    driver.revert(handle)
    assert http_ok(web.url)


def test_revert_from_the_json_handle_in_a_new_driver(web_container) -> None:
    """What `gameday cleanup` does after a crash: only the journalled JSON is left."""
    web = web_container()
    handle = ContainerKill().prepare(fault("container_kill"), stack_for(web.name))
    ContainerKill().inject(handle)
    restored = FaultHandle.from_json(handle.to_json())
    ContainerKill().revert(restored)
    assert state(web.container)["Status"] == "running"


def test_revert_is_harmless_twice_and_when_nothing_happened(web_container) -> None:
    web = web_container()
    driver = ContainerStop()
    handle = driver.prepare(fault("container_stop", timeout=1), stack_for(web.name))
    driver.revert(handle)  # never injected (a crash between intent and inject)
    driver.inject(handle)
    driver.revert(handle)
    driver.revert(handle)
    assert state(web.container)["Status"] == "running"


def test_revert_waits_for_the_health_check(web_container) -> None:
    web = web_container(healthcheck=True)
    driver = ContainerKill()
    handle = driver.prepare(fault("container_kill"), stack_for(web.name))
    assert handle.data["has_healthcheck"] is True
    driver.inject(handle)
    driver.revert(handle)
    assert state(web.container)["Health"]["Status"] == "healthy"


def test_target_by_labels(web_container) -> None:
    web = web_container(labels={"app": "gdtest-by-label", "tier": "web"})
    handle = ContainerKill().prepare(fault("container_kill"), stack_for(labels={"app": "gdtest-by-label"}))
    assert handle.data["container_name"] == web.name


def test_labels_matching_two_containers_are_refused(web_container) -> None:
    web_container(labels={"app": "gdtest-twin"})
    web_container(labels={"app": "gdtest-twin"})
    with pytest.raises(TargetError, match="matches 2 containers"):
        ContainerKill().prepare(fault("container_kill"), stack_for(labels={"app": "gdtest-twin"}))


def test_unknown_container_is_a_clear_error(docker_client) -> None:
    with pytest.raises(TargetError, match=r"container gdtest-does-not-exist \(target web\) not found"):
        ContainerKill().prepare(fault("container_kill"), stack_for("gdtest-does-not-exist"))


def test_a_stopped_container_is_not_a_target(web_container) -> None:
    web = web_container()
    web.container.stop(timeout=0)
    with pytest.raises(TargetError, match="not running"):
        ContainerKill().prepare(fault("container_kill"), stack_for(web.name))


def test_unreachable_docker_daemon_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(DockerUnavailable, match="cannot reach the Docker daemon"):
        ContainerKill().prepare(fault("container_kill"), stack_for("x", base_url=f"unix://{tmp_path}/no.sock"))


def test_container_that_vanished_before_revert_is_a_clear_error(web_container) -> None:
    web = web_container()
    driver = ContainerKill()
    handle = driver.prepare(fault("container_kill"), stack_for(web.name))
    driver.inject(handle)
    web.container.remove(force=True)
    with pytest.raises(TargetError, match="not found"):
        driver.revert(handle)
