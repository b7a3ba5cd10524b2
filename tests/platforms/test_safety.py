"""Each platform answers the safety questions: may this target be touched, what is its lock key, who holds it.
Lock keys keep their old spelling, so a run of this version and one of the last never break the same target."""

from __future__ import annotations

from typing import Any

import pytest

from gameday.engine.safety import check_allowed, holder, resource_key
from gameday.errors import TargetError, UnknownPlatform
from gameday.handle import FaultHandle
from gameday.platforms.base import SafetyPolicy
from gameday.platforms.docker import DockerPlatform
from gameday.platforms.memory import MemoryPlatform
from gameday.platforms.registry import PlatformRegistry, installed_platforms
from gameday.platforms.resources import HostPlatform, PostgresPlatform, RedisPlatform, ToxiproxyPlatform
from gameday.scenario.model import StackSpec

ALLOWED = {"gameday.allowed": "true", "app": "web"}


def docker_handle(labels: dict[str, str] | None = ALLOWED) -> FaultHandle:
    return FaultHandle("container_kill", "web", "kill web", {"container_name": "web-1"}, platform="docker",
                       resource="docker:3f2a", labels=labels, address={"base_url": None, "id": "3f2a", "name": "web-1"})


def stack(**changes: Any) -> StackSpec:
    return StackSpec.model_validate({"name": "shop", **changes})


def test_a_container_without_the_allow_label_is_refused_with_the_way_to_allow_it() -> None:
    with pytest.raises(TargetError) as refused:
        check_allowed(docker_handle({"app": "web"}), stack(), allow_production=False)
    assert str(refused.value) == ("container web-1 (target 'web') is not allowed as a fault target: it lacks the label "
                                  "gameday.allowed=true; start it with `--label gameday.allowed=true` to allow it")


def test_the_allow_label_is_the_stacks_own() -> None:
    check_allowed(docker_handle({"team": "shop"}), stack(allow_label="team=shop"), allow_production=False)
    with pytest.raises(TargetError, match="lacks the label team=shop"):
        check_allowed(docker_handle(), stack(allow_label="team=shop"), allow_production=False)


@pytest.mark.parametrize("platform", ["docker", "toxiproxy", "host", "postgres", "redis", ""])
def test_every_platform_refuses_a_production_stack_unless_the_run_allows_it(platform: str) -> None:
    handle = FaultHandle("k", "web", "", platform=platform, labels=ALLOWED if platform == "docker" else None,
                         address={"name": "web-1"})
    declared = {"toxiproxy": {"proxy": "p"}, "host": {"path": "/srv"}, "postgres": {"postgres_role": "r"},
                "redis": {"redis_user": "u"}, "docker": {"container": "web-1"}}
    allowed = {"allow": {platform: ["*", "/*"]}, "targets": {"web": declared[platform]}} if platform else {}
    with pytest.raises(TargetError, match="stack 'shop' is marked environment: production"):
        check_allowed(handle, stack(environment="production", **allowed), allow_production=False)
    check_allowed(handle, stack(environment="production", **allowed), allow_production=True)


TARGETS = {"db-path": {"proxy": "postgres"}, "spool": {"path": "/srv/spool"},
           "role": {"postgres_role": "checkout", "dsn_env": "PG"}, "user": {"redis_user": "checkout", "dsn_env": "R"}}
PLATFORMS = {"db-path": "toxiproxy", "spool": "host", "role": "postgres", "user": "redis"}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_an_inline_stack_cannot_approve_a_proxy_a_path_a_role_or_a_user(target: str) -> None:
    """They carry no opt-in of their own (no label): only a stack file's allowlist approves them."""
    handle = FaultHandle("k", target, "", platform=PLATFORMS[target])
    with pytest.raises(TargetError, match=f"on platform '{PLATFORMS[target]}', whose targets carry no opt-in"):
        check_allowed(handle, stack(targets=TARGETS), allow_production=False)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_a_stack_files_allowlist_approves_by_name_and_nothing_else(target: str) -> None:
    platform = PLATFORMS[target]
    name = next(iter(v for k, v in TARGETS[target].items() if k != "dsn_env"))
    handle = FaultHandle("k", target, "", platform=platform)
    check_allowed(handle, stack(targets=TARGETS, allow={platform: [name]}), allow_production=False)
    with pytest.raises(TargetError, match=f"is not in stack 'shop''s allowlist: add it under allow.{platform}"):
        check_allowed(handle, stack(targets=TARGETS, allow={platform: ["other"]}), allow_production=False)
    with pytest.raises(TargetError, match="is not in stack 'shop''s allowlist"):
        check_allowed(handle, stack(targets=TARGETS, allow={}), allow_production=False)


def test_a_path_in_the_allowlist_allows_what_is_below_it_and_nothing_beside_it() -> None:
    handle = FaultHandle("k", "spool", "", platform="host")
    check_allowed(handle, stack(targets=TARGETS, allow={"host": ["/srv"]}), allow_production=False)
    with pytest.raises(TargetError, match="not in stack"):
        check_allowed(handle, stack(targets=TARGETS, allow={"host": ["/sr"]}), allow_production=False)


def test_with_a_stack_file_a_container_needs_the_allowlist_not_the_label() -> None:
    """The stack file's owner approves: its allowlist (names or globs) decides, whatever the labels say."""
    unlabelled = docker_handle({"app": "web"})
    check_allowed(unlabelled, stack(allow={"docker": ["web-*"]}), allow_production=False)
    with pytest.raises(TargetError, match=r"container web-1 \(target 'web'\) is not in stack 'shop''s allowlist"):
        check_allowed(docker_handle(), stack(allow={"docker": ["db-*"], "toxiproxy": ["web-1"]}), allow_production=False)


def test_lock_keys_keep_their_spelling() -> None:
    assert resource_key(docker_handle()) == "docker:3f2a"
    assert DockerPlatform().lock_key(FaultHandle("k", "t", "", platform="docker", address={"id": "9e"})) == "docker:9e"
    assert ToxiproxyPlatform.resource("http://localhost:8474", "postgres") == "toxiproxy:127.0.0.1:8474/postgres"
    assert ToxiproxyPlatform.resource("http://127.0.0.1:18474/", "redis") == "toxiproxy:127.0.0.1:18474/redis"
    assert PostgresPlatform.resource("127.0.0.1:5432", "checkout") == "postgres_role:127.0.0.1:5432/checkout"
    assert RedisPlatform.resource("127.0.0.1", 6379, "app") == "redis_user:127.0.0.1:6379/app"
    assert HostPlatform.file_resource("/etc/app.env") == "file:/etc/app.env"
    assert HostPlatform.filesystem_resource("2049") == "filesystem:2049"
    toxic = FaultHandle("latency", "path", "", platform="toxiproxy", resource="toxiproxy:127.0.0.1:8474/postgres")
    assert resource_key(toxic) == "toxiproxy:127.0.0.1:8474/postgres"
    assert resource_key(FaultHandle("fake", "web", "")) == "fake:web"  # a driver that names no platform


class Book:
    def __init__(self, **held: str) -> None:
        self.held = held

    def holder(self, resource: str) -> str | None:
        return self.held.get(resource)


def test_who_else_holds_a_target_is_asked_of_its_platform() -> None:
    class Leased(DockerPlatform):
        """A platform that keeps its own leases (Kubernetes might) instead of the local lock files."""

        def holder(self, key: str, locks: Any) -> str | None:
            return "run-in-the-cluster" if key == "docker:3f2a" else None

    book = Book(**{"docker:3f2a": "run-7"})
    assert holder("docker:3f2a", book, platform="docker") == "run-7"
    assert holder("docker:3f2a", book) == "run-7"
    leased = PlatformRegistry(extra={"docker": Leased()})
    assert holder("docker:3f2a", book, platform="docker", platforms=leased) == "run-in-the-cluster"


def test_a_handle_on_a_platform_that_is_not_installed_is_one_clear_error() -> None:
    with pytest.raises(UnknownPlatform, match="unknown platform 'nomad' \\(known: compose, docker, host"):
        resource_key(FaultHandle("job_kill", "web", "", platform="nomad"))


def test_the_memory_platform_has_dockers_rules() -> None:
    platform = MemoryPlatform()
    handle = FaultHandle("container_kill", "web", "", platform="memory", labels={"app": "web"},
                         address={"id": "memory-0001", "name": "web"})
    with pytest.raises(TargetError, match="container web \\(target 'web'\\) is not allowed"):
        platform.check_allowed(handle, SafetyPolicy())
    assert platform.lock_key(handle) == "memory:memory-0001"


def test_the_installed_platforms_are_the_built_ins() -> None:
    assert installed_platforms().names() == ["compose", "docker", "host", "kubernetes", "port", "postgres", "redis",
                                             "toxiproxy"]
