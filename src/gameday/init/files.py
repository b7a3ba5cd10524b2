"""Writing what ``gameday init`` generated without ever overwriting a person's work.

``.gameday-init.json`` (beside the folders it writes) records the SHA-256 of every file as init last wrote
it. Run again, for each file:

    not there, never written        written                      (what is new: a new service's scenario)
    as init wrote it                rewritten if the text changed (a new target in an untouched stack file)
    changed since init wrote it     left alone, reported          (a person's edits)
    removed since init wrote it     left alone, reported          (a person's decision)
    there, but init never wrote it  left alone, reported          (someone else's file)
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from gameday.errors import GamedayError
from gameday.runfiles import write_file

MANIFEST = ".gameday-init.json"


def digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


@dataclass
class WriteOutcome:
    written: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    """Changed by hand since init wrote them: left alone."""
    removed: list[str] = field(default_factory=list)
    """Removed since init wrote them: not written again."""
    foreign: list[str] = field(default_factory=list)
    """There before init, never written by it: left alone."""


def read_manifest(root: Path) -> dict[str, str]:
    path = root / MANIFEST
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GamedayError(f"{path}: not gameday init's record of what it wrote ({exc}); move it away to start "
                           "over (then every existing file counts as yours and is left alone)") from None
    files = raw.get("files") if isinstance(raw, dict) else None
    if not isinstance(files, dict):
        raise GamedayError(f"{path}: no 'files' mapping; move it away to start over")
    return {str(k): str(v) for k, v in files.items()}


def _current(path: Path) -> bytes | None:
    """The file's bytes; None if nothing is there. A link or a folder counts as someone's (b"" never matches)."""
    try:
        if path.is_symlink() or path.is_dir():
            return b"\0link-or-folder"
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise GamedayError(f"cannot read {path}: {exc.strerror or exc}") from None


def write_files(root: Path, files: dict[str, str]) -> WriteOutcome:
    """Write ``files`` (relative path -> text) under ``root`` by the rules above, and the manifest."""
    manifest = read_manifest(root)
    outcome = WriteOutcome()
    for relative, text in sorted(files.items()):
        path = root / relative
        current = _current(path)
        recorded = manifest.get(relative)
        if current is None:
            if recorded is not None:
                outcome.removed.append(relative)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            write_file(path, text)
            manifest[relative] = digest(text)
            outcome.written.append(relative)
        elif recorded is None:
            outcome.foreign.append(relative)
        elif digest(current) != recorded:
            outcome.edited.append(relative)
        elif current != text.encode():
            write_file(path, text)
            manifest[relative] = digest(text)
            outcome.updated.append(relative)
        else:
            outcome.unchanged.append(relative)
    root.mkdir(parents=True, exist_ok=True)
    write_file(root / MANIFEST, json.dumps({"version": 1, "written_by": "gameday init",
                                            "files": dict(sorted(manifest.items()))}, indent=2) + "\n")
    return outcome


def relative_to_cwd(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
