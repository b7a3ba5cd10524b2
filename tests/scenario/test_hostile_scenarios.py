"""Scenarios written to slip through or to hurt (issue 13): each is one located line from `gameday validate`, exit 1.

The catalogue continues the one in test_validate.py: a name, the scenario text, the line, the field and
words the message must hold.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gameday.cli.main import main
from tests.scenario.test_validate import GOOD, LINE, validate

FILL = """\
version: 1
name: fill
stack:
  targets:
    data: {container: some-c}
faults:
  - kind: disk_fill
    target: data
    args: {path: /data, write: 64MB}
    duration: 10s
"""

CREDS = """\
version: 1
name: creds
stack:
  targets:
    token: {path: /tmp/gameday-token}
    db: {postgres_role: checkout, dsn_env: PG_ADMIN}
faults:
  - kind: revoke_credentials
    target: token
    duration: 10s
"""



def in_stack_file(tmp_path: Path, text: str, allow: str = "allow: {host: ['/'], postgres: ['*']}\n") -> str:
    """The scenario with its inline stack moved into tmp_path/stacks/s.yaml, which approves ``allow``: only a
    stack file approves a path or a role (issue 14), and these plans must get as far as preparing the fault."""
    head, _, rest = text.partition("stack:\n")
    stack_lines, faults = rest.split("faults:", 1)
    (tmp_path / "stacks").mkdir(exist_ok=True)
    (tmp_path / "stacks" / "s.yaml").write_text("version: 1\n" + textwrap.dedent(stack_lines) + allow)
    return head + "stack: s\nfaults:" + faults


PROBE_UP = "    - probe: web\n      during_fault: down\n"

BAD_INPUTS = [
    # item 15: accepted although wrong
    ("version true", GOOD.replace("version: 1", "version: true"), 1, "version", "must be the number 1, got True"),
    ("version 1.0", GOOD.replace("version: 1", "version: 1.0"), 1, "version", "must be the number 1, got 1.0"),
    ("a python tag on a sequence", GOOD + "tags: !!python/object/apply:os.system [echo hi]\n", 22, "tags",
     "YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed"),
    ("a custom tag on a mapping", GOOD.replace("      container: some-web", "      !x {container: some-web}")
     .replace("    web:\n      !x", "    web: !x"), 5, "stack.targets.web", "YAML tag '!x' is not allowed"),
    ("a tcp host with an empty label", GOOD.replace('http: {url: "http://127.0.0.1:1/", max_latency: 500ms}',
                                                    'tcp: {host: "a..b", port: 5432}'), 10,
     "steady_state.probes[0].tcp.host", "not a host name or IP address: 'a..b'"),
    ("a tcp host with a space", GOOD.replace('http: {url: "http://127.0.0.1:1/", max_latency: 500ms}',
                                             'tcp: {host: "a b", port: 5432}'), 10,
     "steady_state.probes[0].tcp.host", "not a host name or IP address: 'a b'"),
    ("a URL host with an empty label", GOOD.replace("http://127.0.0.1:1/", "http://a..b/"), 10,
     "steady_state.probes[0].http.url", "not a valid host in URL"),
    ("a URL host with a space", GOOD.replace("http://127.0.0.1:1/", "http://a b/"), 10,
     "steady_state.probes[0].http.url", "not a valid host in URL"),
    ("a load host that is no URL", GOOD + "load: {locustfile: x.py, host: 'a b'}\n", 22, "load.host",
     "not an http:// or https:// URL"),
    ("an infinite spawn rate", GOOD + "load: {locustfile: x.py, host: 'http://127.0.0.1:1', spawn_rate: .inf}\n", 22,
     "load.spawn_rate", "finite number"),
    ("no status to expect", GOOD.replace("max_latency: 500ms}", "max_latency: 500ms, expect_status: []}"), 10,
     "steady_state.probes[0].http.expect_status", "at least 1 item"),
    ("two faults with one name", GOOD.replace("  - kind: container_kill\n",
                                              "  - {name: kill, kind: container_kill, target: web, duration: 5s}\n"
                                              "  - name: kill\n    kind: container_kill\n"), 13, "faults[1].name",
     "duplicate fault name 'kill' (also faults[0])"),
    ("two guards with one name", GOOD + "guards:\n  - {name: g, alert: A}\n  - {name: g, alert: B}\n", 24,
     "guards[1].name", "duplicate guard name 'g' (also guards[0])"),
    ("a probe expected both up and down", GOOD.replace(PROBE_UP, PROBE_UP + "    - {probe: web, during_fault: up}\n"),
     20, "expect.probes[1].probe", "probe 'web' is already expected at expect.probes[0]"),
    ("a failure ratio on a probe expected down", GOOD.replace("during_fault: down", "during_fault: down\n"
                                                              "      max_failure_ratio: 0.5"), 20,
     "expect.probes[0].max_failure_ratio", "applies to during_fault: up only"),
    ("an alert expected and forbidden", GOOD.replace("  recovers_within: 90s\n", "  recovers_within: 90s\n"
                                                     "  alerts: [{name: Down}]\n  alerts_not_firing: [Down]\n"), 18,
     "expect.alerts_not_firing[0]", "alert 'Down' is expected to fire (expect.alerts[0]) and not to fire"),
    ("a guard on the alert the scenario expects", GOOD.replace("  recovers_within: 90s\n", "  recovers_within: 90s\n"
                                                               "  alerts: [{name: Down}]\n")
     + "guards:\n  - {name: g, alert: Down}\n", 24, "guards[0].alert",
     "the guard would abort the run when the expected alert 'Down' fires"),
    ("an inject at 8000 h", GOOD + "injects:\n  - {at: 8000h, text: late}\n", 23, "injects[0].at",
     "after the scenario's end"),
    ("an inject whose condition is due at 8000 h", GOOD + "injects:\n  - {unless: {no_alert_by: 8000h}, text: late}\n",
     23, "injects[0].unless.no_alert_by", "after the scenario's end"),
    ("runbook step 0", GOOD + "responses:\n  - {at: 1s, action: runbook_step, step: 0}\n", 23, "responses[0].step",
     "greater than or equal to 1"),
    ("runbook step -1", GOOD + "responses:\n  - {at: 1s, action: runbook_step, step: -1}\n", 23, "responses[0].step",
     "greater than or equal to 1"),
    ("declare without a severity", GOOD + "responses:\n  - {at: 1s, action: declare}\n", 23, "responses[0]",
     "declare needs a severity"),
    ("a runbook that does not exist", GOOD + "runbook: runbooks/nope.md\n", 22, "runbook",
     "runbook 'runbooks/nope.md' (relative to the scenario, its folder's parent or the working folder): not found"),
    ("an alert named nothing", GOOD.replace("  recovers_within: 90s\n", "  recovers_within: 90s\n  alerts: [{name: ''}]\n"),
     17, "expect.alerts[0].name", "at least 1 character"),
    ("a forbidden alert named nothing", GOOD.replace("  recovers_within: 90s\n",
                                                     "  recovers_within: 90s\n  alerts_not_firing: ['']\n"),
     17, "expect.alerts_not_firing[0]", "at least 1 character"),
    ("a guard on an alert named nothing", GOOD + "guards:\n  - {name: g, alert: ''}\n", 23, "guards[0].alert",
     "at least 1 character"),
    # credential-target mistakes only plan caught
    ("privileges on a credentials file", CREDS + "    args: {privileges: [INSERT], objects: [t]}\n", 11, "faults[0].args",
     "privileges, objects do(es) not apply to a path target ('token')"),
    ("env_key on a PostgreSQL role", CREDS.replace("target: token", "target: db") + "    args: {env_key: X}\n", 11,
     "faults[0].args", "env_key do(es) not apply to a postgres_role target ('db')"),
    ("a PostgreSQL role without dsn_env", CREDS.replace(", dsn_env: PG_ADMIN", "").replace("target: token", "target: db"),
     9, "faults[0].target", "target 'db' needs dsn_env"),
    # item 6: system files
    ("revoking /etc/passwd", CREDS.replace("/tmp/gameday-token", "/etc/passwd"), 5, "stack.targets.token.path",
     "/etc/passwd is a system path"),
    ("a system path written the long way round", CREDS.replace("/tmp/gameday-token", "/tmp/../usr//lib/x"), 5,
     "stack.targets.token.path", "is a system path"),
    ("the package database", CREDS.replace("/tmp/gameday-token", "/var/lib/dpkg/status"), 5,
     "stack.targets.token.path", "is a system path"),
    # item 8
    ("a 400-digit size", FILL.replace("write: 64MB", "write: '" + "9" * 400 + "B'"), 9, "faults[0].args.write",
     "larger than 1024 TiB"),
    ("a 400-digit size as a number", FILL.replace("write: 64MB", "write: " + "9" * 400), 9, "faults[0].args.write",
     "larger than 1024 TiB"),
]


@pytest.mark.parametrize(("text", "line", "field", "words"), [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS])
def test_hostile_input_gives_one_located_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes, line: int, field: str | None, words: str
) -> None:
    code, lines = validate(tmp_path, text, capsys)
    assert code == 1
    match = next((LINE.match(ln) for ln in lines if words.lower() in ln.lower()), None)
    assert match is not None, f"no line mentions {words!r}: {lines}"
    assert match["file"].endswith("scenario.yaml")
    assert int(match["line"]) == line, lines
    if field is not None:
        assert match["field"] == field, lines


def test_the_good_scenarios_here_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(tmp_path, FILL, capsys) == (0, [])


def test_control_characters_from_a_scenario_never_reach_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ESC and BEL in a target name and a fault kind would set the window title or clear the screen."""
    text = GOOD.replace("container_kill", '"kill\\e[2J\\a"').replace("target: web", 'target: "w\\e]0;pwned\\a"')
    code, lines = validate(tmp_path, text, capsys)
    assert code == 1
    assert not any(c in "".join(lines) for c in "\x1b\x07"), lines
    assert any("unknown fault kind 'kill\\x1b[2J\\x07'" in ln for ln in lines), lines
    assert all(LINE.match(ln) for ln in lines), lines


def test_a_huge_value_is_echoed_cut_in_the_middle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = GOOD.replace("duration: 1h30m", 'duration: "' + "x" * 500_000 + '"')
    code, lines = validate(tmp_path, text, capsys)
    assert code == 1
    (line,) = [ln for ln in lines if "faults[0].duration" in ln]
    assert len(line) < 500 and "characters left out" in line and line.endswith("as in 90s, 5m or 1h30m")


def test_a_file_name_with_a_newline_stays_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evil\nname\x1b.yaml"
    path.write_text(GOOD.replace("version: 1", "version: 2"))
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "evil\\nname\\x1b.yaml:1" in out[0]


def test_plan_refuses_a_system_file_as_written_and_through_a_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """revoke_credentials on /etc/passwd validated and `plan` said it would replace it (issue 13, item 6)."""
    written = tmp_path / "written.yaml"
    written.write_text(CREDS.replace("/tmp/gameday-token", "/etc/passwd"))
    assert main(["plan", str(written)]) == 2
    err = capsys.readouterr().err
    assert "written.yaml:5:" in err and "/etc/passwd is a system path (under /etc)" in err
    written.write_text(in_stack_file(tmp_path, CREDS.replace("/tmp/gameday-token", "/etc/passwd")))
    assert main(["plan", str(written)]) == 2
    err = capsys.readouterr().err
    assert "s.yaml:3:" in err and "/etc/passwd is a system path (under /etc)" in err, err
    (tmp_path / "token").symlink_to("/etc/passwd")
    linked = tmp_path / "linked.yaml"
    linked.write_text(in_stack_file(tmp_path, CREDS.replace("/tmp/gameday-token", str(tmp_path / "token"))))
    assert main(["plan", str(linked)]) == 2
    out = " ".join(capsys.readouterr().out.split())  # plan's console wraps long lines
    assert "/etc/passwd is a system path (under /etc); gameday never changes system files" in out
    assert "would do: -" in out


def test_plan_refuses_a_file_in_gamedays_own_state_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    (state / "locks").mkdir(parents=True)
    (state / "locks" / "x.lock").write_text("TOKEN=1\n")
    monkeypatch.setenv("GAMEDAY_STATE_DIR", str(state))
    scenario = tmp_path / "s.yaml"
    scenario.write_text(in_stack_file(tmp_path, CREDS.replace("/tmp/gameday-token", str(state / "locks" / "x.lock"))))
    assert main(["plan", str(scenario)]) == 2
    out = " ".join(capsys.readouterr().out.split())
    assert f"is in gameday's own state folder ({state})" in out
