"""The one rule for gameday's state folder (journals, locks, credential copies, the demo stack's state)."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from gameday.folders import default_cache_dir, default_state_dir
from gameday.stack.config import StackConfig


def test_gameday_state_dir_wins_over_everything() -> None:
    env = {"GAMEDAY_STATE_DIR": "/srv/gd", "XDG_STATE_HOME": "/x", "HOME": "/home/a"}
    assert default_state_dir(env) == Path("/srv/gd")


def test_xdg_state_home_comes_next_with_a_gameday_folder_in_it() -> None:
    assert default_state_dir({"XDG_STATE_HOME": "/x/state", "HOME": "/home/a"}) == Path("/x/state/gameday")


def test_home_of_the_environment_given_is_used_not_the_processes_own() -> None:
    """The three copies of this rule disagreed here: the journal's read the process's HOME."""
    assert default_state_dir({"HOME": "/home/someone-else"}) == Path("/home/someone-else/.local/state/gameday")


@pytest.mark.parametrize("xdg", ["", "relative/state"])
def test_an_empty_or_relative_xdg_state_home_is_ignored(xdg: str) -> None:
    assert default_state_dir({"XDG_STATE_HOME": xdg, "HOME": "/home/a"}) == Path("/home/a/.local/state/gameday")


def test_without_home_the_accounts_home_directory_is_used() -> None:
    expected = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".local" / "state" / "gameday"
    assert default_state_dir({}) == expected


def test_the_demo_stack_keeps_its_state_under_the_same_folder() -> None:
    env = {"XDG_STATE_HOME": "/x/state", "HOME": "/home/a"}
    assert StackConfig.from_env(env).state_dir == default_state_dir(env) / "demo"
    assert StackConfig.from_env({**env, "GAMEDAY_DEMO_STACK": "second"}).state_dir == Path("/x/state/gameday/second")


def test_the_cache_is_xdg_cache_home_else_home_and_the_stack_and_cluster_share_it() -> None:
    from gameday.cluster.config import KUBERNETES_VERSION, ClusterConfig

    assert default_cache_dir({"XDG_CACHE_HOME": "/c", "HOME": "/h"}) == Path("/c/gameday")
    assert default_cache_dir({"HOME": "/h"}) == Path("/h/.cache/gameday")
    environ = {"HOME": "/h", "GAMEDAY_STATE_DIR": "/s", "PATH": ""}
    assert StackConfig.from_env(environ).cache_dir == Path("/h/.cache/gameday")
    assert ClusterConfig.from_env(environ).bin_dir == Path("/h/.cache/gameday/kubernetes") / KUBERNETES_VERSION
