"""The scenario's runbook as a checklist, and running one step's command from the facilitator.

The runbook is parsed by ``gameday.runbooks.parse`` when that module is there; otherwise by a small
reader of the same Markdown shape (numbered steps under a heading, each with optional fenced commands).
Commands run in a shell with a timeout, stdin closed, and an environment with the harness's secrets
removed (passwords, tokens, DSNs, the demo stack's admin URLs).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gameday.clock import Clock, SystemClock

OUTPUT_LIMIT = 2000
"""Characters of a command's output kept in the timeline (the tail: errors are at the end)."""
COMMAND_TIMEOUT = 60.0

_SECRET_NAME = re.compile(r"(PASS|SECRET|TOKEN|DSN|CREDENTIAL|PRIVATE|API_?KEY|AUTH|ADMIN_URL)", re.IGNORECASE)
_URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


@dataclass(frozen=True)
class ChecklistItem:
    step: int
    title: str
    command: str | None


@dataclass(frozen=True)
class Checklist:
    name: str
    path: Path
    items: tuple[ChecklistItem, ...]


def resolve_runbook(reference: str, scenario_dir: Path, cwd: Path | None = None) -> Path:
    """The runbook a scenario names: beside the scenario, else from the working folder, else from the
    scenario folder's parent (``runbook: runbooks/x.md`` in ``scenarios/``), as the runbook executor does."""
    path = Path(reference)
    if path.is_absolute():
        return path
    candidates = [scenario_dir / path, *([cwd / path] if cwd is not None else []), scenario_dir.parent / path]
    return next((c for c in candidates if c.is_file()), candidates[0])


def load_checklist(path: Path) -> Checklist:
    """Steps of a runbook file; raises OSError when it cannot be read."""
    from gameday.runbooks.parse import parse_file  # lazily: a drill without a runbook never parses one
    book = parse_file(path)
    items = []
    for step in book.steps:
        blocks = step.runnable_blocks or step.blocks
        command = "\n".join(b.code.strip() for b in blocks if b.code.strip()) or None
        items.append(ChecklistItem(step.number, step.title or step.prose or f"step {step.number}", command))
    return Checklist(book.title or book.name, path, tuple(items))


def clean_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The environment without anything that looks like a secret, by name or by value."""
    return {k: v for k, v in env.items() if not _SECRET_NAME.search(k) and not _URL_WITH_PASSWORD.search(v)}


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_code: int | None
    duration_s: float
    output: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def run_command(command: str, *, env: Mapping[str, str], cwd: Path | None = None,
                timeout: float = COMMAND_TIMEOUT, clock: Clock | None = None) -> CommandResult:
    """Run a runbook command in ``sh``; never raises for the command's own failure.

    ``timeout`` is in real seconds; ``duration_s`` is measured on ``clock`` (scenario time in a tabletop)."""
    clock = clock or SystemClock()
    start = clock.monotonic()
    try:
        done = subprocess.run(
            ["sh", "-c", command], env=clean_environment(env), cwd=cwd, timeout=timeout,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.output.decode("utf-8", "replace") if isinstance(exc.output, bytes) else ""
        return CommandResult(command, None, round(clock.monotonic() - start, 3),
                             redact(_tail(out + f"\n[timed out after {timeout:g}s]"), env))
    except OSError as exc:
        return CommandResult(command, None, round(clock.monotonic() - start, 3), f"cannot run: {exc.strerror}")
    return CommandResult(command, done.returncode, round(clock.monotonic() - start, 3),
                         redact(_tail(done.stdout.decode("utf-8", "replace")), env))


def redact(text: str, env: Mapping[str, str]) -> str:
    """Hide the values of secret-looking variables, should a command print one it read from elsewhere."""
    for key, value in env.items():
        if len(value) >= 6 and (_SECRET_NAME.search(key) or _URL_WITH_PASSWORD.search(value)):
            text = text.replace(value, "***")
    return text


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= OUTPUT_LIMIT else "[...]\n" + text[-OUTPUT_LIMIT:]
