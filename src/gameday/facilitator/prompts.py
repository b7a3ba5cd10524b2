"""Asking a team questions at one screen: a bad answer is said and asked again, never a crash.

Built on rich's prompts with the console passed in. End of input (Ctrl-D, a closed stdin) stops the
drill the way Ctrl-C does. An ``interject`` function sees every answer first and may consume it (the
question is then asked again): that is how ``/pause`` and ``/resume`` work at any prompt (pause.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import TypeVar

from rich.console import Console
from rich.markup import escape
from rich.prompt import Confirm, InvalidResponse, Prompt

T = TypeVar("T")


class DrillStopped(Exception):
    """The facilitator was stopped (Ctrl-C, SIGTERM, SIGHUP, end of input); carries the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Asker:
    def __init__(self, console: Console, *, interject: Callable[[str], bool] | None = None) -> None:
        """``interject(answer)`` returns True when it consumed the answer (a command such as /pause)."""
        self.console = console
        self.interject = interject

    def _consumed(self, answer: str) -> bool:
        return self.interject is not None and self.interject(answer)

    def _raw(self, question: str, default: str | None = None) -> str:
        while True:
            try:
                if default is None:
                    answer = Prompt.ask(question, console=self.console)
                else:
                    answer = Prompt.ask(question, console=self.console, default=default)
            except EOFError:
                raise DrillStopped("end of input") from None
            if not self._consumed(str(answer).strip()):
                return str(answer).strip()

    def _complain(self, message: str) -> None:
        self.console.print(f"[red]{escape(message)}[/]")

    def text(self, question: str, *, default: str | None = None, allow_empty: bool = False) -> str:
        while True:
            answer = self._raw(question, default)
            if answer or allow_empty:
                return answer
            self._complain("an answer is needed here")

    def parsed(self, question: str, parse: Callable[[str], T | None], error: Callable[[str], str], *,
               default: str | None = None) -> T:
        """Ask until ``parse`` accepts the answer; ``error(answer)`` says why it did not."""
        while True:
            answer = self._raw(question, default)
            if not answer:
                self._complain("an answer is needed here")
                continue
            value = parse(answer)
            if value is not None:
                return value
            self._complain(error(answer))

    def choice(self, question: str, choices: dict[str, str], *, default: str | None = None,
               what: str = "answer") -> str:
        """``choices`` maps what may be typed (lower case) to the value returned."""
        shown = sorted(set(choices.values()), key=list(choices.values()).index)

        def parse(answer: str) -> str | None:
            return choices.get(answer.lower())

        return self.parsed(question, parse, lambda a: f"unknown {what} '{a}': choose one of {', '.join(shown)}",
                           default=default)

    def confirm(self, question: str, *, default: bool) -> bool:
        # rich's Confirm.ask loop, with each answer offered to ``interject`` before it is judged y or n.
        prompt = Confirm(question, console=self.console)
        while True:
            try:
                value = prompt.get_input(self.console, prompt.make_prompt(default), False)
            except EOFError:
                raise DrillStopped("end of input") from None
            if self._consumed(value.strip()):
                continue
            if value == "":
                return default
            try:
                return bool(prompt.process_response(value))
            except InvalidResponse as error:
                prompt.on_validate_error(value, error)

    def lines(self, question: str) -> list[str]:
        """Several answers, one per line, until an empty line."""
        self.console.print(f"{escape(question)} [dim](one per line, an empty line to finish)[/]")
        out: list[str] = []
        while True:
            answer = self._raw(f"  {len(out) + 1}")
            if not answer:
                return out
            out.append(answer)

    def paragraph(self, question: str) -> str:
        """Free text over several lines, kept verbatim; ends with an empty line; must not be empty."""
        self.console.print(f"{escape(question)} [dim](an empty line to finish)[/]")
        while True:
            out: list[str] = []
            while True:
                try:
                    line = self.console.input("  > ")
                except EOFError:
                    raise DrillStopped("end of input") from None
                if self._consumed(line.strip()):
                    continue
                if not line.strip():
                    break
                out.append(line.rstrip())
            if out:
                return "\n".join(out)
            self._complain("an answer is needed here")


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(text: str) -> str | None:
    """``YYYY-MM-DD`` of a real calendar day, else None."""
    if not _DATE.match(text.strip()):
        return None
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        return None
