"""Runbook text written to hurt: long lines that were quadratic, and shell split exactly as shlex splits it."""

from __future__ import annotations

import random
import shlex

import pytest

from gameday.runbooks.commands import hosts, shell_words, simple_commands
from gameday.runbooks.envfilter import redact
from gameday.runbooks.parse import MAX_BYTES


def test_a_runbook_line_as_long_as_the_cap_still_yields_its_hosts() -> None:
    """240 kB of ``a.a.a...`` after curl kept `runbook lint` busy over a minute (the URL pattern and shlex)."""
    line = "curl " + "a." * (MAX_BYTES // 2 - 100) + " https://far.example:8443/x http://127.0.0.1:1/"
    assert [r.name for r in hosts(line)] == ["far.example", "127.0.0.1"]
    assert simple_commands(line)[0][0] == "curl" and len(simple_commands(line)[0]) == 4


def test_url_hosts_are_found_wherever_a_scheme_begins() -> None:
    line = "curl -Lhttp://h1/ x--https://h2 foo_http://h3 https://u:p@h4:5/ a-b+c.d://h5 'http://[::1]:9/'"
    assert [r.name for r in hosts(line)] == ["h1", "h2", "h3", "h4", "h5", "[::1]"]


@pytest.mark.parametrize("filler", ["a" * 256_000, "a:" * 128_000, "x://" + "a" * 256_000, "http://" * 36_000])
def test_redaction_of_a_step_output_as_large_as_the_cap_is_complete(filler: str) -> None:
    """The password pattern was quadratic; a step's output of 256 kB is redacted, and still redacted right."""
    text = filler + "\npostgres://admin:hunter22@db/x and more " + filler[:1000]
    out = redact(text, ["s3cret-value"])
    assert "hunter22" not in out and "postgres://admin:***@db/x" in out


def test_shell_words_split_as_shlex_does() -> None:
    """The linear splitter gives shlex's words (or its ValueError) on 20,000 random lines of shell characters."""
    rng = random.Random(13)
    alphabet = list("ab $-=/.;&|()'\"\\# \t\n") + ["\u00e9"]

    def by_shlex(line: str) -> list[str] | str:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        try:
            return list(lexer)
        except ValueError:
            return "ValueError"

    def ours(line: str) -> list[str] | str:
        try:
            return shell_words(line)
        except ValueError:
            return "ValueError"

    for _ in range(20_000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert ours(line) == by_shlex(line), repr(line)
