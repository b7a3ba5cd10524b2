"""Runbook text written to hurt: long lines that were quadratic, and shell split exactly as shlex splits it."""

from __future__ import annotations

import random
import shlex
from pathlib import Path

import pytest

from gameday.cli.main import main
from gameday.runbooks.commands import hosts, shell_words, simple_commands
from gameday.runbooks.envfilter import redact
from gameday.runbooks.parse import MAX_BYTES

REPO = Path(__file__).resolve().parents[2]


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


def test_coverage_reads_scenarios_with_the_scenario_loader(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Duplicate keys, latin-1, a scalar document and 50 MB passed the lenient reader coverage had (or took minutes)."""
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "dup.yaml").write_text("name: a\nname: b\n")
    (scenarios / "latin.yaml").write_bytes(b"name: caf\xe9\n")
    (scenarios / "scalar.yaml").write_text("just a string\n")
    with (scenarios / "huge.yaml").open("wb") as f:
        f.write(b"name: x\ndescription: ")
        f.truncate(50_000_000)
    code = main(["runbook", "coverage", "-q", "--runbooks", str(REPO / "runbooks"), "--scenarios", str(scenarios)])
    out = capsys.readouterr().out
    assert code == 1
    assert "dup.yaml:2: error[bad-scenario-file]: cannot read scenario file: duplicate key 'name'" in out
    assert "latin.yaml:1: error[bad-scenario-file]: cannot read scenario file: not UTF-8 text" in out
    assert "scalar.yaml:1: error[bad-scenario-file]: cannot read scenario file: a scenario is a mapping" in out
    assert "huge.yaml:1: error[bad-scenario-file]: cannot read scenario file: file is 50.0 MB" in out


def test_lint_says_which_scenarios_it_could_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "dup.yaml").write_text("name: a\nname: b\n")
    assert main(["runbook", "lint", "-q", "--scenarios", str(scenarios), str(REPO / "runbooks")]) == 0
    assert "dup.yaml:2:1: name: duplicate key 'name' (its targets' containers are not known to lint)" \
        in capsys.readouterr().err


def test_a_rules_file_without_alerts_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario given as --rules gave '0 errors': no alert was ever checked."""
    (tmp_path / "scenario.yaml").write_text("version: 1\nname: x\n")
    (tmp_path / "recording.yaml").write_text("groups:\n  - name: g\n    rules:\n      - {record: x, expr: up}\n")
    code = main(["runbook", "coverage", "-q", "--runbooks", str(REPO / "runbooks"), "--rules", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "scenario.yaml:1: error[rules-file-no-alerts]: not a Prometheus rule file: no 'groups:' list" in out
    assert "recording.yaml:1: warning[rules-file-no-alerts]: no alerting rule" in out
