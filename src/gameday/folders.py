"""Where gameday keeps its state; making the folders we write into, with a reason a user can act on when
that fails; making new entries in them durable."""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from pathlib import Path

from gameday.errors import EnvironmentProblem


def default_state_dir(environ: Mapping[str, str]) -> Path:
    """gameday's private state folder: journals, locks, the abort flag, credential copies, the demo stack.

    ``$GAMEDAY_STATE_DIR`` when set; else ``$XDG_STATE_HOME/gameday``; else ``$HOME/.local/state/gameday``.
    Only the environment given is read (the engine passes ``os.environ``, a test its own): without
    ``HOME`` in it, the account's home directory from the password database. An ``XDG_STATE_HOME``
    that is not an absolute path is ignored, as the XDG Base Directory specification says.
    """
    if environ.get("GAMEDAY_STATE_DIR"):
        return Path(environ["GAMEDAY_STATE_DIR"])
    xdg = environ.get("XDG_STATE_HOME") or ""
    if os.path.isabs(xdg):
        return Path(xdg) / "gameday"
    return _home(environ) / ".local" / "state" / "gameday"


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """gameday's build cache (the demo images' inputs, toxiproxy-server, the Kubernetes binaries):
    ``$XDG_CACHE_HOME/gameday``, else ``$HOME/.cache/gameday``; only the environment given is read."""
    return Path(environ.get("XDG_CACHE_HOME") or _home(environ) / ".cache") / "gameday"


def _home(environ: Mapping[str, str]) -> Path:
    if environ.get("HOME"):
        return Path(environ["HOME"])
    try:
        return Path(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        raise EnvironmentProblem("no HOME and no home directory for this user: set GAMEDAY_STATE_DIR") from None


def make_folder(folder: Path) -> str | None:
    """Create ``folder`` and its parents; ``None`` once it exists, else why it cannot, in words.

    A file standing where a folder must be is named, since ``Not a directory`` alone does not say
    which part of the path is wrong.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        for part in (folder, *folder.parents):
            try:
                if part.exists() and not part.is_dir():
                    return f"{part} is a file, not a folder"
            except OSError:
                break  # a parent we may not look into: the error itself says enough
        return exc.strerror or str(exc)
    return None


def fsync_dir(folder: Path) -> None:
    """Make a file created (or renamed) in ``folder`` survive a power cut: the folder's entry is data too."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
