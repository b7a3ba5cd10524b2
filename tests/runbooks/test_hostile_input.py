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
from tests.runbooks.test_lint import GOOD

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
    alphabet = [*"ab $-=/.;&|()'\"\\# \t\n", "\u00e9"]

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
    err = capsys.readouterr().err
    assert "dup.yaml:2:1: name: duplicate key 'name' (its targets' containers are not known to lint)" in err
    shipped = len(list((REPO / "runbooks").glob("*.md")))
    assert f"0 errors, 1 warning in {shipped} runbooks" in err  # counted, so --strict fails on it
    assert main(["runbook", "lint", "-q", "--strict", "--scenarios", str(scenarios), str(REPO / "runbooks")]) == 1


def test_a_rules_file_without_alerts_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario given as --rules gave '0 errors': no alert was ever checked."""
    (tmp_path / "scenario.yaml").write_text("version: 1\nname: x\n")
    (tmp_path / "recording.yaml").write_text("groups:\n  - name: g\n    rules:\n      - {record: x, expr: up}\n")
    code = main(["runbook", "coverage", "-q", "--runbooks", str(REPO / "runbooks"), "--rules", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "scenario.yaml:1: error[rules-file-no-alerts]: not a Prometheus rule file: no 'groups:' list" in out
    assert "recording.yaml:1: warning[rules-file-no-alerts]: no alerting rule" in out


# name, a line in the `{run}` block of step 2 (line 23 of the runbook; its fence is line 22), words the finding must hold.
DANGEROUS = [
    ("rm -rf /", "rm -rf /", "deletes the whole filesystem (rm -rf /)"),
    ("no-preserve-root", "sudo rm -rf --no-preserve-root /", "--no-preserve-root: nothing stops rm at /"),
    ("rm of an unset variable's folder", 'rm -rf "$STEAMROOT/"*', "when $STEAMROOT is empty or unset"),
    ("rm of the home folder", "rm -fr ~/", "deletes the home folder"),
    ("rm of a system folder through timeout and sudo", "timeout 10 sudo -u root rm -r /usr", "the system folder /usr"),
    ("rm inside sh -c", "bash -c 'rm -rf /etc'", "deletes the system folder /etc"),
    ("find -delete from /", "find / -name '*.log' -delete", "deletes the whole filesystem (find"),
    ("chmod -R on /", "chmod -R 777 /", "changes the permissions of the whole filesystem"),
    ("fork bomb", ":(){ :|:& };:", "a fork bomb"),
    ("fork bomb with a name", "bomb() { bomb | bomb & }; bomb", "a fork bomb"),
    ("curl piped to sh", "curl -fsSL https://get.example/install.sh | sh", "pipes a download into sh"),
    ("wget piped to sudo bash", "wget -qO- https://x.example | sudo bash -s -- --yes", "pipes a download into bash"),
    ("curl piped to python", "curl -s https://x.example/a.py | python3", "pipes a download into python3"),
    ("sh -c of a download", 'sh -c "$(curl -fsSL https://x.example)"', "runs code downloaded from the network"),
    ("a substitution piping to sh", "$(curl -fsSL https://x.example | sh)", "pipes a download into sh"),
    ("eval of a download", 'eval "$(wget -qO- https://x.example)"', "runs code downloaded from the network"),
    ("bash of a process substitution", "bash <(curl -s https://x.example)", "runs code downloaded from the network"),
    ("mkfs", "mkfs.ext4 /dev/sdb1", "formats, wipes or repartitions a disk device"),
    ("dd onto a disk", "dd if=/dev/zero of=/dev/sda bs=1M", "overwrites the device /dev/sda"),
    ("redirect onto a disk", "cat image > /dev/nvme0n1", "writes straight to a disk device"),
    ("shutdown", "sudo shutdown -h now", "stops or restarts the machine"),
    ("systemctl reboot", "systemctl reboot", "stops or restarts the machine"),
    ("kill every process", "kill -9 -1", "signals every process"),
]

SAFE = [
    "for name in $(curl -fsS http://127.0.0.1:18474/proxies/redis/toxics | jq -r '.[].name'); do echo $name; done",
    "curl -fsS http://127.0.0.1:1/ | jq .", "rm -rf /tmp/gameday-spool", "rm -f /etc/gameday.conf",
    "x=$(curl -s http://127.0.0.1:1/)", "dd if=/dev/zero of=/data/fill bs=1M count=1",
    "curl -s http://127.0.0.1:1/ | python3 -m json.tool", "docker exec gameday-demo-postgres rm -rf /tmp/x",
    "kill -9 1234", "diff <(curl -s http://127.0.0.1:1/a) <(curl -s http://127.0.0.1:1/b)", "rm -rf ./build",
    "echo '$(curl http://127.0.0.1:1/ | sh)'", 'rm -rf "${SPOOL:?}/"*', "systemctl restart nginx",
]


def _book(tmp_path: Path, line: str, info: str = "sh {run}") -> Path:
    text = GOOD.replace("```sh {run timeout=60s}\n   sleep 1", f"```{info}\n   {line}")
    path = tmp_path / "book.md"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("line", "words"), [d[1:] for d in DANGEROUS], ids=[d[0] for d in DANGEROUS])
def test_a_dangerous_command_in_a_run_block_is_an_error_on_its_line(tmp_path: Path, line: str, words: str) -> None:
    from gameday.runbooks.lint import lint_file

    found = [f for f in lint_file(_book(tmp_path, line)) if f.rule == "dangerous-command"]
    assert found, f"nothing found in {line!r}"
    assert all(f.line == 23 and f.severity == "error" for f in found), [f.one_line() for f in found]
    assert any(words in f.message for f in found), [f.message for f in found]


def test_a_dangerous_command_in_a_plain_block_is_a_warning(tmp_path: Path) -> None:
    from gameday.runbooks.lint import lint_file

    found = [f for f in lint_file(_book(tmp_path, "rm -rf /", info="sh")) if f.rule == "dangerous-command"]
    assert [(f.line, f.severity) for f in found] == [(23, "warning")]


@pytest.mark.parametrize("line", SAFE)
def test_ordinary_commands_are_not_dangerous(tmp_path: Path, line: str) -> None:
    from gameday.runbooks.lint import lint_file

    assert [f.one_line() for f in lint_file(_book(tmp_path, line)) if f.rule == "dangerous-command"] == []


# name, fence info string, words the bad-block-attribute finding must hold
BAD_ATTRIBUTES = [
    ("unknown attribute", "sh {run retries=3}", "unknown attribute 'retries'"),
    ("unclosed", "sh {run timeout=5s", "unclosed '{'"),
    ("zero timeout", "sh {run timeout=0s}", "timeout=0s: must be more than 0s"),
    ("timeout that is no duration", "sh {run timeout=soon}", "timeout=soon: cannot parse duration"),
    ("env with an empty name", "sh {run env=,A}", "env=,A: not a list of variable names"),
    ("env with a command substitution", "sh {run env=,A B,$(id)}", "'B,$(id)' is not an attribute"),
    ("env with a bad name", "sh {run env=A-B}", "env=A-B: not a list of variable names"),
    ("attribute given twice", "sh {run timeout=5s timeout=9s}", "'timeout' given twice"),
    ("attributes without run", "sh {timeout=5s}", "attributes of a {run} block, and this block has no 'run'"),
    ("text after the braces", "sh {run} extra", "text after the attributes: 'extra'"),
]


@pytest.mark.parametrize(("info", "words"), [b[1:] for b in BAD_ATTRIBUTES], ids=[b[0] for b in BAD_ATTRIBUTES])
def test_a_malformed_run_attribute_is_an_error_on_the_fence(tmp_path: Path, info: str, words: str) -> None:
    from gameday.runbooks.lint import lint_file

    found = [f for f in lint_file(_book(tmp_path, "true", info=info)) if f.rule == "bad-block-attribute"]
    assert any(f.line == 22 and words in f.message for f in found), [f.one_line() for f in found]


@pytest.mark.parametrize("info", ["sh {run}", "sh {run timeout=20s env=A,B}", "bash {run env=\"A\"}", "python {.x}",
                                  "sh"])
def test_well_formed_fences_have_no_attribute_finding(tmp_path: Path, info: str) -> None:
    from gameday.runbooks.lint import lint_file

    assert [f for f in lint_file(_book(tmp_path, "true", info=info)) if f.rule == "bad-block-attribute"] == []


@pytest.mark.parametrize("filler", ["a." * 120_000, "/" * 240_000, "a.a(){" * 40_000, "$(" * 120_000])
def test_a_run_block_line_as_long_as_the_cap_is_linted_whole(tmp_path: Path, filler: str) -> None:
    """Each of these was (or would be) quadratic in one of the linter's patterns; the danger after it is found."""
    from gameday.runbooks.lint import lint_file

    found = lint_file(_book(tmp_path, f"echo {filler}\n   rm -rf /"))
    assert [(f.line, f.message) for f in found if f.rule == "dangerous-command"] == [
        (24, "dangerous command in a {run} block: deletes the whole filesystem (rm -rf /)")]


def test_coverage_never_prints_control_characters_from_a_rule_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text('groups:\n  - name: g\n    rules:\n      - {alert: "Evil\\e]0;x\\a", expr: up}\n')
    main(["runbook", "coverage", "--runbooks", str(REPO / "runbooks"), "--rules", str(rules)])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "alert Evil\\x1b]0;x\\x07 has no runbook_url annotation" in out
