"""revoke_credentials on a credentials file: a mounted secret, a token file, or one entry of an .env file.

Inject first writes a backup of the original bytes (mode 0600, in a 0700 folder of the harness's
private state directory, fsynced with its folder), then overwrites the file IN PLACE (same inode, so a
container that bind-mounts the file sees the change) with an invalid value. Revert writes the original
bytes back in place, restores mode, owner and access/modification times, verifies the content against
the salted digest taken at prepare, and only then deletes the backup. The journal holds paths, modes
and the digest, never the content. Why the state directory and not the run folder: docs/decisions.md.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from gameday.errors import FaultError, RevertError, TargetError
from gameday.faults.base import os_errors
from gameday.faults.credentials import RevokeCredentialsArgs, digest_matches, new_digest
from gameday.folders import fsync_dir
from gameday.platforms.resources import HostPlatform, HostTarget, system_path_problem
from gameday.scenario.model import TargetSpec

MAX_BYTES = 1024 * 1024
"""Credentials files are small; a bigger file is probably not the one the scenario meant."""
BACKUP_FOLDER = "credential-backups"


def _env_entry(lines: list[bytes], key: str) -> list[int]:
    pattern = re.compile(rb"^\s*(?:export\s+)?" + re.escape(key.encode()) + rb"\s*=")
    return [i for i, line in enumerate(lines) if pattern.match(line)]


def spoiled(original: bytes, env_key: str | None) -> bytes:
    """The invalid replacement: a random token where the secret was; the rest of an .env file kept."""
    token = b"gameday-revoked-" + secrets.token_hex(12).encode()
    if env_key is None:
        return token + (b"\n" if original.endswith(b"\n") else b"")
    lines = original.splitlines(keepends=True)
    for i in _env_entry(lines, env_key):
        head = lines[i].split(b"=", 1)[0]
        ending = b"\r\n" if lines[i].endswith(b"\r\n") else (b"\n" if lines[i].endswith(b"\n") else b"")
        lines[i] = head + b"=" + token + ending
    return b"".join(lines)


def _write_in_place(path: str, content: bytes, *, create_mode: int | None = None) -> None:
    flags = os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW
    if create_mode is not None:
        flags |= os.O_CREAT
    fd = os.open(path, flags, create_mode or 0o600)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read(MAX_BYTES + 1)


class CredentialsFile:
    """Backend ``path`` of revoke_credentials (entry point group gameday.credentials)."""

    platform: ClassVar[str] = "host"
    not_applying: ClassVar[tuple[str, ...]] = ("privileges", "objects", "terminate_sessions", "role", "socket_dir")

    def __init__(self, *, state_dir: Path, environ: Mapping[str, str] | None = None) -> None:
        self.backup_dir = state_dir / BACKUP_FOLDER

    def prepare(self, target: TargetSpec, target_name: str, args: RevokeCredentialsArgs) -> tuple[str, dict[str, Any]]:
        assert isinstance(target, HostTarget), "chosen by the target's platform"
        given = target.path
        path = os.path.realpath(given)  # a mounted secret is often a symlink: change what it points at
        # The target model refused a system path as written; a link to one, or to our own state, is refused here.
        refused = system_path_problem(path, also=(os.path.realpath(self.backup_dir.parent),))
        if refused is not None:
            raise TargetError(f"credentials file {given}: {refused}", target=target_name)
        if not os.path.lexists(given):
            raise TargetError(f"credentials file {given} does not exist", target=target_name)
        with os_errors(target_name, f"cannot read {given}"):
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode):
                raise TargetError(f"{given} is not a regular file", target=target_name)
            if st.st_size > MAX_BYTES:
                raise FaultError(f"{given} is {st.st_size} bytes; a credentials file is at most {MAX_BYTES}",
                                 target=target_name)
            if os.statvfs(path).f_flag & os.ST_RDONLY:
                raise FaultError(f"{given} is on a read-only filesystem; it cannot be changed", target=target_name)
            if not os.access(path, os.R_OK | os.W_OK):
                raise FaultError(f"no permission to read and write {given}", target=target_name)
            content = _read(path)
        if args.env_key is not None:
            found = _env_entry(content.splitlines(keepends=True), args.env_key)
            if not found:
                raise TargetError(f"{given} has no {args.env_key}= entry", target=target_name)
            if len(found) > 1:
                raise FaultError(f"{given} has {len(found)} {args.env_key}= entries; which one is meant?",
                                 target=target_name)
        data = {
            "path": path,
            "given_path": given,
            "resource": HostPlatform.file_resource(path),
            "env_key": args.env_key,
            "mode": stat.S_IMODE(st.st_mode),
            "uid": st.st_uid,
            "gid": st.st_gid,
            "atime_ns": st.st_atime_ns,
            "mtime_ns": st.st_mtime_ns,
            "size": st.st_size,
            "digest": new_digest(content),
            "backup": str(self.backup_dir / f"{secrets.token_hex(8)}.bak"),
        }
        what = f"the {args.env_key} entry of {given}" if args.env_key else f"credentials file {given}"
        return f"replace {what} with an invalid value", data

    # --- inject -----------------------------------------------------------------------------

    def _write_backup(self, data: dict[str, Any], content: bytes) -> None:
        backup = Path(data["backup"])
        if backup.exists():
            if digest_matches(backup.read_bytes(), data["digest"]):
                return  # a retried inject: the backup is already safe
            raise FaultError(f"backup {backup} exists and does not match the original; nothing done",
                             target=data["target"])
        with os_errors(data["target"], f"cannot write the backup in {backup.parent}"):
            backup.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(backup.parent, 0o700)
            tmp = backup.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, content)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, backup)
            fsync_dir(backup.parent)

    def inject(self, data: dict[str, Any]) -> None:
        path = data["path"]
        with os_errors(data["target"], f"cannot read {path}"):
            content = _read(path)
        if not digest_matches(content, data["digest"]):
            raise FaultError(f"{path} changed since the fault was prepared; nothing done", target=data["target"])
        self._write_backup(data, content)  # durable before the original is touched
        with os_errors(data["target"], f"cannot write {path}"):
            _write_in_place(path, spoiled(content, data["env_key"]))

    def check(self, data: dict[str, Any]) -> bool:
        try:
            return not digest_matches(_read(data["path"]), data["digest"])
        except OSError:
            return True  # gone or unreadable: the credential is not usable either

    # --- revert -----------------------------------------------------------------------------

    def _matches_prior(self, data: dict[str, Any]) -> bool:
        try:
            st = os.stat(data["path"], follow_symlinks=False)
            content = _read(data["path"])
        except OSError:
            return False
        return (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (data["mode"], data["uid"], data["gid"]) and \
            digest_matches(content, data["digest"])

    def describe_revert(self, data: dict[str, Any]) -> str:
        return f"restore {data['path']} from its backup (checked against the recorded digest), mode and owner too"

    def revert(self, data: dict[str, Any]) -> None:
        path, target = data["path"], data["target"]
        backup = Path(data["backup"])
        # A harness killed while writing the backup leaves its half-written copy of the secret beside it
        # (the original is untouched then: it is overwritten only once the backup is in place).
        with os_errors(target, f"cannot delete {backup.with_suffix('.tmp')}", reverting=True):
            backup.with_suffix(".tmp").unlink(missing_ok=True)
        if not backup.exists():
            if self._matches_prior(data):
                return  # reverted already (the backup is removed last)
            raise RevertError(f"backup {backup} is missing and {path} differs from before the fault; restore it by "
                              "hand", target=target)
        with os_errors(target, f"cannot read the backup {backup}", reverting=True):
            original = backup.read_bytes()
        if not digest_matches(original, data["digest"]):
            raise RevertError(f"backup {backup} does not match the original's digest; {path} left as it is",
                              target=target)
        with os_errors(target, f"cannot restore {path}", reverting=True):
            if not os.path.exists(path) or _read(path) != original:
                _write_in_place(path, original, create_mode=data["mode"])
            os.chmod(path, data["mode"], follow_symlinks=False)
            st = os.stat(path, follow_symlinks=False)
            if (st.st_uid, st.st_gid) != (data["uid"], data["gid"]):
                os.chown(path, data["uid"], data["gid"], follow_symlinks=False)
            restored = _read(path) == original
            # Times last: reading the file to verify it would move its access time again.
            os.utime(path, ns=(data["atime_ns"], data["mtime_ns"]), follow_symlinks=False)
            st = os.stat(path, follow_symlinks=False)
        wanted = (data["mode"], data["uid"], data["gid"], data["mtime_ns"])
        if not restored or (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns) != wanted:
            raise RevertError(f"{path} does not match its prior content, mode, owner and time after restore; the "
                              f"backup is kept at {backup}", target=target)
        with os_errors(target, f"cannot delete the backup {backup}", reverting=True):
            backup.unlink()
            fsync_dir(backup.parent)
