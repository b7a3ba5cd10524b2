"""Making the folders we write into, with a reason a user can act on when that fails; making new entries in them durable."""

from __future__ import annotations

import os
from pathlib import Path


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
