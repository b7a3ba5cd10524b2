"""The demo stack at its default ports and names, for the tests that need that one (the shipped scenarios and
runbooks name its containers and ports): brought up once for the modules that share it rather than once a module
(about a minute each on a busy machine), and taken down at the end of the session if it was not up before it.
Its tests take turns (``pytest.mark.xdist_group("demo-stack")``, tests/parallel.py); each leaves the stack as it
found it (a fault reverted, checkout healthy)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from gameday.stack.config import StackConfig
from gameday.stack.manager import DemoStack


@dataclass
class SessionDemoStack:
    stack: DemoStack
    ours: bool
    """Not up when the session began: the session may take it down (and does, at its end)."""

    def up(self) -> DemoStack:
        """The stack, up and healthy. ``up`` is idempotent (a second or two when it runs): a module that comes after
        one that took it down (test_demo, for ``gameday demo`` from nothing) finds it up again."""
        self.stack.up(timeout=180)
        return self.stack


@pytest.fixture(scope="session")
def default_demo_stack(docker_client: Any) -> Iterator[SessionDemoStack]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GAMEDAY_DEMO_")}
    stack = DemoStack(StackConfig.from_env(environ), environ=environ, client=docker_client)
    shared = SessionDemoStack(stack, ours=not any(s.healthy for s in stack.status()))  # someone's, even half up
    try:
        yield shared
    finally:
        if shared.ours:  # also when it never became healthy: nothing of ours is left running
            stack.down()
