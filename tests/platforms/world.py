"""A platform plugin that exists only for the tests: the in-memory platform, installed through an entry point
of its own (tests/platforms/test_plugin.py writes the dist-info), exactly as a third party's platform is."""

from __future__ import annotations

from gameday.platforms.memory import MemoryPlatform, MemoryRuntime

WORLD = MemoryRuntime()
"""The containers the plugin's platform sees; a test adds its own and reads ``WORLD.calls``."""


def platform() -> MemoryPlatform:
    """The entry point's factory: every registry that loads it sees the same containers."""
    return MemoryPlatform(WORLD)


def reset() -> None:
    for container in WORLD.containers():
        WORLD.remove(container.name)
    WORLD.calls.clear()


def broken() -> MemoryPlatform:
    raise RuntimeError("the plugin's settings file is missing")
