"""One long-running process of the cluster: started detached, found again from its pid file, stopped.

A pid file holds the pid and the process's start time (``/proc/<pid>/stat`` field 22), so a pid the
kernel has since given to another program is not mistaken for ours: that is a stale pid file, and the
process counts as dead. A zombie (a child of this very process that has exited) counts as dead too, once
none of its threads is left.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gameday.errors import EnvironmentProblem


@dataclass(frozen=True)
class Recorded:
    pid: int
    start_time: str


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state letter, start time) of a live pid, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after its last ')'.
    rest = text[text.rfind(")") + 2:].split()
    if len(rest) < 20:
        return None
    return rest[0], rest[19]


def read_pid_file(path: Path) -> Recorded | None:
    try:
        pid_text, _, start = path.read_text(encoding="ascii").strip().partition(" ")
        return Recorded(int(pid_text), start)
    except (OSError, ValueError):
        return None


def alive(recorded: Recorded) -> bool:
    """True while the recorded process itself runs (not a zombie, not a newer process with its pid)."""
    _reap(recorded.pid)
    stat = _proc_stat(recorded.pid)
    if stat is None or stat[1] != recorded.start_time:
        return False
    if stat[0] in ("Z", "X"):
        # A killed multi-threaded process (Go) shows its first thread as a zombie while the others still
        # exit, holding its sockets open: it is gone only once no thread is left.
        return _threads(recorded.pid) > 1
    return True


def _threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def _reap(pid: int) -> None:
    """Collect an exited child of ours, so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child: its own parent (or init) reaps it


def start(argv: Sequence[str], *, pid_file: Path, log_file: Path, env: Mapping[str, str] | None = None) -> Recorded:
    """Start ``argv`` (an absolute path first) in its own session, so it outlives the command that started
    it, with its output appended to ``log_file``. posix_spawn, not Popen: nothing here waits for it."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    try:
        pid = os.posix_spawn(argv[0], list(argv), dict(os.environ if env is None else env), setsid=True,
                             file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                                           (os.POSIX_SPAWN_DUP2, log_fd, 1), (os.POSIX_SPAWN_DUP2, log_fd, 2)])
    except OSError as exc:
        raise EnvironmentProblem(f"cannot start {argv[0]}: {exc.strerror or exc}") from exc
    finally:
        os.close(log_fd)
    stat = _proc_stat(pid)
    recorded = Recorded(pid, stat[1] if stat else "")
    tmp = pid_file.with_suffix(".tmp")
    tmp.write_text(f"{recorded.pid} {recorded.start_time}\n", encoding="ascii")
    tmp.replace(pid_file)
    return recorded


def stop(recorded: Recorded, *, timeout: float, sleep: Callable[[float], None] = time.sleep) -> bool:
    """SIGTERM, then SIGKILL after ``timeout`` seconds; True once the process is gone."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        if not alive(recorded):
            return True
        try:
            os.kill(recorded.pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(recorded):
                return True
            sleep(0.05)
    return not alive(recorded)
