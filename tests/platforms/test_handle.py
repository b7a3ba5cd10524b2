"""FaultHandle: explicit fields for what the engine reads; handles journalled by older versions still revert."""

from __future__ import annotations

import json

import pytest

from gameday.engine.safety import check_allowed, resource_key
from gameday.errors import TargetError
from gameday.handle import FaultHandle
from gameday.scenario.model import StackSpec

OLD_DOCKER = {  # what a container_pause handle looked like in a journal before the platform seam
    "kind": "container_pause", "target": "web", "description": "pause web-1",
    "data": {"base_url": None, "container_id": "3f2a9c", "container_name": "web-1", "has_healthcheck": False,
             "container_labels": {"app": "web"}, "resource": "docker:3f2a9c", "args": {"mode": "freeze"}},
}


def test_a_handle_survives_the_journal_unchanged() -> None:
    handle = FaultHandle("container_kill", "web", "kill web-1", {"args": {"signal": "SIGKILL"}}, platform="docker",
                         resource="docker:3f2a", labels={"gameday.allowed": "true"},
                         address={"base_url": None, "id": "3f2a", "name": "web-1"}, run_id="20261203T120000Z-x-ab12",
                         fault_id="f0")
    assert FaultHandle.from_json(json.loads(json.dumps(handle.to_json()))) == handle


def test_an_old_docker_handle_gets_its_platform_lock_key_labels_and_address_from_its_data() -> None:
    handle = FaultHandle.from_json(OLD_DOCKER)
    assert (handle.platform, handle.resource, handle.labels) == ("docker", "docker:3f2a9c", {"app": "web"})
    assert handle.address == {"base_url": None, "id": "3f2a9c", "name": "web-1"}
    assert resource_key(handle) == "docker:3f2a9c"
    assert handle.data == OLD_DOCKER["data"]  # the driver's own reads stay where they were


def test_an_old_handle_is_still_refused_by_the_allowlist() -> None:
    with pytest.raises(TargetError, match="container web-1 \\(target 'web'\\) is not allowed"):
        check_allowed(FaultHandle.from_json(OLD_DOCKER), StackSpec(), allow_production=False)


def test_old_handles_of_the_other_built_in_faults_name_their_platform() -> None:
    def old(data: dict[str, object]) -> FaultHandle:
        return FaultHandle.from_json({"kind": "k", "target": "t", "description": "", "data": data})

    toxic = old({"url": "http://127.0.0.1:8474", "proxy": "pg", "resource": "toxiproxy:127.0.0.1:8474/pg", "toxic": "x"})
    assert (toxic.platform, toxic.resource) == ("toxiproxy", "toxiproxy:127.0.0.1:8474/pg")
    role = old({"backend": "postgres_role", "resource": "postgres_role:127.0.0.1:5432/app"})
    assert (role.platform, role.resource) == ("postgres", "postgres_role:127.0.0.1:5432/app")
    assert old({"backend": "redis_user"}).platform == "redis"
    assert old({"backend": "path", "resource": "file:/x"}).platform == "host"
    assert old({"where": "host", "resource": "filesystem:2049"}).platform == "host"
    assert old({}).platform == "" and old({}).resource == ""


def test_a_handle_without_optional_parts_reads_with_defaults() -> None:
    handle = FaultHandle.from_json({"kind": "fake", "target": "web"})
    assert handle == FaultHandle("fake", "web", "")
