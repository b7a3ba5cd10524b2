"""Fixtures for the demo stack tests: the images (built once per session) and a separate copy of the stack.

The tests run their own copy of the stack (``gameday.stack=stacktest-<hex>``, free ports, a temporary
state folder), so they never touch a demo stack someone is using on the default ports.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from gameday.errors import GamedayError
from gameday.stack.config import StackConfig
from gameday.stack.manager import DemoStack
from gameday.testing import free_ports

PORT_VARS = ("CHECKOUT", "POSTGRES", "REDIS", "TOXIPROXY", "POSTGRES_PROXY", "REDIS_PROXY", "PROMETHEUS",
             "ALERTMANAGER", "WEBHOOK")


@pytest.fixture(scope="session")
def stack_environ(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment naming a separate test copy of the stack: own label, names, ports, state folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEDAY_DEMO_")}
    env["GAMEDAY_DEMO_STACK"] = f"stacktest-{secrets.token_hex(3)}"
    env["GAMEDAY_STATE_DIR"] = str(tmp_path_factory.mktemp("stack-state"))
    for var, port in zip(PORT_VARS, free_ports(len(PORT_VARS)), strict=True):
        env[f"GAMEDAY_DEMO_{var}_PORT"] = str(port)
    return env


@pytest.fixture(scope="session")
def stack_config(stack_environ: dict[str, str]) -> StackConfig:
    return StackConfig.from_env(stack_environ)


@pytest.fixture(scope="session")
def demo_images(docker_client, stack_config: StackConfig, stack_environ: dict[str, str]) -> list[str]:
    """The base and toxiproxy images; built here (about 80 s) if their tags are missing."""
    stack = DemoStack(stack_config, environ=stack_environ, client=docker_client)
    try:
        results = stack.build()
    except GamedayError as exc:
        pytest.fail(f"cannot build the demo stack images ({exc}); CI needs root, debootstrap, Go or "
                    f"GAMEDAY_TOXIPROXY_BIN, and the Debian mirror (see docs/stack.md)")
    return [r.tag for r in results]


@pytest.fixture(scope="module")
def test_stack(docker_client, demo_images, stack_config: StackConfig, stack_environ: dict[str, str]) -> Iterator[DemoStack]:
    """The test copy of the stack, not yet up; always taken down afterwards."""
    stack = DemoStack(stack_config, environ=stack_environ, client=docker_client)
    stack.down()
    yield stack
    stack.down()
