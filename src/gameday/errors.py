"""The one exception tree of gameday.

    GamedayError                      anything the CLI turns into one red line and an exit code
    ├── ScenarioError                 a scenario file is wrong (carries .path, .line, .column, .field)
    │   └── ScenarioErrors            several ScenarioErrors found at once
    ├── EnvironmentProblem            something outside us is missing or unreachable (exit 2)
    │   ├── DockerUnavailable         the Docker daemon cannot be reached
    │   ├── ToxiproxyUnavailable      the Toxiproxy server cannot be reached
    │   └── ServiceUnavailable        another service (Alertmanager, PostgreSQL, ...) cannot be reached
    ├── UnknownPlatform               a target names a platform that is not installed, or whose plugin is broken
    ├── TargetError                   a target does not exist, vanished, or is not allowed (carries .target)
    ├── FaultError                    a fault could not be injected (carries .target)
    ├── RevertError                   a fault could not be reverted: loud, never swallowed (carries .target)
    ├── JournalError                  the journal could not be written or read (carries .path)
    ├── UnreadableFile                a file a person named is missing, not a regular file, or unreadable (.path)
    ├── PluginError                   a plugin failed to load or breaks its contract (carries .plugin; exit 2)
    ├── UnknownFaultKind              a fault kind no installed plugin provides (exit 2)
    ├── RunInterrupted                Ctrl-C or SIGTERM arrived during a run (carries .signal_name)
    └── RunAborted                    a guard tripped or `gameday abort` was asked (carries .reason)

Third-party errors (docker, httpx, OSError) are translated into these at the driver boundary,
with ``raise ... from exc``; core code never catches an SDK exception.
"""

from __future__ import annotations

from pathlib import Path


class GamedayError(Exception):
    """Base of every error that is a user's or environment's problem, not a bug of ours."""

    exit_code: int = 2


class ScenarioError(GamedayError):
    """One problem in a scenario file, located by file, line, column and YAML field path."""

    exit_code = 2  # a usage error for run/plan/facilitate; `gameday validate` itself exits 1 on problems

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str = "",
    ) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.column = column
        self.field = field
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``file:line:column: field.path: message`` (parts that are unknown are left out).

        Safe for a terminal: a value the file echoes into the message (ESC, a newline, 500 kB) is escaped
        and cut here, once, whichever check wrote the message.
        """
        from gameday.printable import printable

        where = str(self.path) if self.path is not None else "<scenario>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.field}:" if self.field else ""
        return printable(f"{where}:{field} {self.message}")


class ScenarioErrors(ScenarioError):
    """Every problem found in one pass, so a user fixes them all at once."""

    def __init__(self, errors: list[ScenarioError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.message, path=first.path, line=first.line, column=first.column, field=first.field)

    def lines(self) -> list[str]:
        return [e.one_line() for e in self.errors]


class EnvironmentProblem(GamedayError):
    """Something the run needs is missing or unreachable."""

    exit_code = 2


class DockerUnavailable(EnvironmentProblem):
    pass


class ToxiproxyUnavailable(EnvironmentProblem):
    pass


class ServiceUnavailable(EnvironmentProblem):
    pass


class UnknownPlatform(GamedayError):
    """No platform of that name is installed, or its plugin failed to load or is not a platform."""

    exit_code = 2


class TargetError(GamedayError):
    """A target that does not exist, vanished mid-run, or is not allowed."""

    exit_code = 2

    def __init__(self, message: str, *, target: str = "", resource: str | None = None) -> None:
        self.target = target
        self.resource = resource
        """What the target resolved to (a lock key such as docker:<id>), when known."""
        super().__init__(message)


class FaultError(TargetError):
    """A fault could not be injected."""


class RevertError(TargetError):
    """A fault could not be reverted. Never swallowed: the run says so loudly and exits non-zero."""

    exit_code = 3


class JournalError(GamedayError):
    exit_code = 2

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        self.path = path
        super().__init__(message)


class UnreadableFile(GamedayError):
    """A file named by a person (scenario, runbook, rule file, ...) that cannot be read as one: ``.reason`` says why."""

    exit_code = 2

    def __init__(self, reason: str, *, path: Path) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class PluginError(GamedayError):
    """A plugin (an entry point) failed to load or does not meet its contract; found before a drill starts."""

    exit_code = 2

    def __init__(self, message: str, *, plugin: str = "") -> None:
        self.plugin = plugin
        super().__init__(message)


class UnknownFaultKind(GamedayError):
    """A scenario names a fault kind that no installed plugin provides."""

    exit_code = 2


class RunInterrupted(GamedayError):
    """Ctrl-C or SIGTERM during a run; faults are reverted before this leaves the engine."""

    exit_code = 130

    def __init__(self, signal_name: str) -> None:
        self.signal_name = signal_name
        super().__init__(f"interrupted by {signal_name}")


class RunAborted(GamedayError):
    """A guard (abort condition) tripped; faults are reverted before this leaves the engine."""

    exit_code = 4

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"aborted: {reason}")
