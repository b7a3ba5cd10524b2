"""Shared fixtures: a real Docker Engine, a tiny local image, and web containers to break.

No registry is reachable, so the test image is made here from the host's busybox-static binary
(`docker import` of a 2 MB rootfs) and cached by tag.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gameday.testing import free_port
from tests.demo_stack import default_demo_stack  # noqa: F401 - the demo stack at its default ports, once a session
from tests.local_cluster import local_cluster, real_node_cluster  # noqa: F401 - the session's local Kubernetes, for every test folder

pytest_plugins = ["tests.parallel"]  # how xdist workers split the suite (its hooks, for the controller too)

TEST_IMAGE = "gameday/busybox:test"
BUSYBOX = shutil.which("busybox") or "/bin/busybox"
APPLETS = ("sh", "httpd", "sleep", "echo", "cat", "ls", "df", "dd", "rm", "mkdir", "stat", "nc", "wget", "true", "kill", "fallocate", "head", "wc", "sync", "touch")


def _rootfs_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("bin", "tmp", "www", "data", "proc", "sys", "dev", "etc"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        data = Path(BUSYBOX).read_bytes()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        page = b"<h1>gameday test page</h1>\n"
        info = tarfile.TarInfo("www/index.html")
        info.size = len(page)
        tar.addfile(info, io.BytesIO(page))
    return buf.getvalue()


@pytest.fixture(scope="session")
def docker_client():
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure here means the environment is not ready
        pytest.fail(f"these tests need a running Docker Engine (start dockerd): {exc}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def test_image(docker_client) -> str:
    """The busybox test image, built from the host's busybox-static if it is not there yet."""
    import docker.errors

    try:
        docker_client.images.get(TEST_IMAGE)
    except docker.errors.ImageNotFound:
        if not Path(BUSYBOX).exists():
            pytest.fail("busybox-static is needed to build the test image (apt-get install busybox-static)")
        docker_client.api.import_image_from_data(_rootfs_tar(), repository=TEST_IMAGE.split(":")[0], tag="test")
    return TEST_IMAGE


@dataclass
class WebContainer:
    name: str
    port: int
    url: str
    container: Any  # a docker SDK Container (the SDK is untyped)


@pytest.fixture
def web_container(docker_client, test_image) -> Iterator[Callable[..., WebContainer]]:
    """Factory: start busybox httpd containers on host networking bound to 127.0.0.1; removed afterwards."""
    made: list[Any] = []

    def make(*, labels: dict[str, str] | None = None, healthcheck: bool = False, allowed: bool = True,
             **kwargs: object) -> WebContainer:
        port = free_port()
        name = f"gdtest-{uuid.uuid4().hex[:8]}"
        extra: dict[str, object] = {}
        if healthcheck:
            extra["healthcheck"] = {
                "test": ["CMD", "wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{port}/"],
                "interval": 200_000_000, "timeout": 1_000_000_000, "retries": 2, "start_period": 0,
            }
        container = docker_client.containers.run(
            test_image,
            ["httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/www"],
            name=name,
            detach=True,
            network_mode="host",
            labels={"gameday.test": "1", **({"gameday.allowed": "true"} if allowed else {}), **(labels or {})},
            **extra,
            **kwargs,
        )
        made.append(container)
        url = f"http://127.0.0.1:{port}/"
        wait_http(url)
        if healthcheck:
            wait_for(lambda: container.reload() or container.attrs["State"].get("Health", {}).get("Status") == "healthy")
        return WebContainer(name=name, port=port, url=url, container=container)

    yield make
    for container in made:
        try:
            container.remove(force=True)
        except Exception:  # noqa: BLE001 - already gone is fine
            pass


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, interval: float = 0.05) -> None:
    """Poll until ``predicate`` holds. The deadline only costs time when the test fails, so it is generous: a
    busy machine (a CI runner, other test runs) stretches what takes a second on a quiet one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def wait_http(url: str, timeout: float = 60.0) -> None:
    import httpx

    def ok() -> bool:
        try:
            return httpx.get(url, timeout=1, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ok, timeout)


def http_ok(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=1, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test's live-journal pointers out of the user's real state directory."""
    path = tmp_path / "state"
    monkeypatch.setenv("GAMEDAY_STATE_DIR", str(path))
    return path


@pytest.fixture(autouse=True)
def _isolated_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    if "GAMEDAY_STATE_DIR" not in os.environ:
        monkeypatch.setenv("GAMEDAY_STATE_DIR", str(tmp_path_factory.mktemp("gameday-state")))
