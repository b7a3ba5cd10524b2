"""A finding: one problem in a runbook (or in the coverage of runbooks), located by file and line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Finding:
    path: Path
    line: int
    rule: str
    severity: Severity
    message: str

    def one_line(self) -> str:
        """``file:line: severity[rule]: message``, the form editors and CI logs can jump to."""
        from gameday.printable import printable

        return printable(f"{self.path}:{self.line}: {self.severity}[{self.rule}]: {self.message}")

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def count(findings: list[Finding]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = sum(1 for f in findings if f.is_error)
    return errors, len(findings) - errors
