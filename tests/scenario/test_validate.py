"""`gameday validate`: every user mistake is one line `file:line:column: field: message` and exit 1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gameday.cli.main import main

GOOD = """\
version: 1
name: web-kill
stack:
  targets:
    web:
      container: some-web
steady_state:
  probes:
    - name: web
      http: {url: "http://127.0.0.1:1/", max_latency: 500ms}
faults:
  - kind: container_kill
    target: web
    duration: 1h30m
expect:
  recovers_within: 90s
  probes:
    - probe: web
      during_fault: down
safety:
  max_fault_duration: 2h
"""

LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+)(?::(?P<col>\d+))?: (?:(?P<field>[\w.\[\]$-]+): )?(?P<msg>.+)$")


def validate(tmp_path: Path, text: str | bytes, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    path = tmp_path / "scenario.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    code = main(["validate", "-q", str(path)])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, [line for line in out.out.splitlines() if line.strip()]


def test_a_good_scenario_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = validate(tmp_path, GOOD, capsys)
    assert code == 0
    assert lines == []


def test_shipped_scenarios_validate(capsys: pytest.CaptureFixture[str]) -> None:
    shipped = Path(__file__).parents[2] / "scenarios"
    files = sorted(shipped.glob("*.yaml"))
    if not files:
        pytest.skip("no scenarios shipped yet")
    assert main(["validate", str(shipped)]) == 0, capsys.readouterr().out


# name, scenario text (or bytes), expected line number, expected field, expected words in the message
BAD_INPUTS = [
    ("fault longer than the hard maximum", GOOD.replace("max_fault_duration: 2h", "ttl_margin: 1m"), 14,
     "faults[0].duration", "past safety.max_fault_duration (1h)"),
    ("unknown top-level key", GOOD + "colour: blue\n", 22, "colour", "unknown key"),
    ("unknown nested key", GOOD.replace("      container: some-web", "      container: some-web\n      contaner: x"), 7,
     "stack.targets.web.contaner", "unknown key"),
    ("wrong type", GOOD.replace("name: web-kill", "name: [a, b]"), 2, "name", "string"),
    ("unknown fault kind", GOOD.replace("container_kill", "container_explode"), 12, "faults[0].kind",
     "unknown fault kind 'container_explode'"),
    ("negative duration", GOOD.replace("duration: 1h30m", "duration: -5s"), 14, "faults[0].duration", "negative"),
    ("unparseable duration", GOOD.replace("duration: 1h30m", "duration: soon"), 14, "faults[0].duration",
     "cannot parse duration"),
    ("number instead of duration", GOOD.replace("duration: 1h30m", "duration: 90"), 14, "faults[0].duration",
     "expected a duration"),
    ("missing target", GOOD.replace("target: web", "target: db"), 13, "faults[0].target", "unknown target 'db'"),
    ("missing required field", GOOD.replace("    duration: 1h30m\n", ""), 12, "faults[0].duration",
     "required field is missing"),
    ("bad fault args", GOOD.replace("    duration: 1h30m", "    duration: 1s\n    args: {signal: SIGNOPE}"), 15,
     "faults[0].args.signal", "unknown signal"),
    ("unknown probe in expectations", GOOD.replace("- probe: web", "- probe: api"), 18, "expect.probes[0].probe",
     "unknown probe 'api'"),
    ("wrong version", GOOD.replace("version: 1", "version: 2"), 1, "version", "must be one of"),
    ("duplicate keys", GOOD.replace("name: web-kill", "name: web-kill\nname: again"), 3, "name", "duplicate key"),
    ("tabs", GOOD.replace("  targets:", "\ttargets:"), 4, None, "tab"),
    ("a list instead of a mapping", "- version: 1\n- name: x\n", 1, None, "not a list"),
    ("a plain string", "just words\n", 1, None, "not a str"),
    ("empty file", "", 1, None, "empty"),
    ("only comments", "# nothing here\n", 1, None, "empty"),
    ("binary garbage", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\xff", 3, None, "binary"),
    ("not utf-8", b"version: 1\nname: caf\xe9\n", 2, None, "UTF-8"),
    ("broken YAML", "version: 1\nname: [unclosed\n", 3, None, "invalid YAML"),
    ("two documents", GOOD + "---\nversion: 1\n", 23, None, "more than one YAML document"),
    ("target with two selectors", GOOD.replace("      container: some-web", "      container: a\n      proxy: b"), 5,
     "stack.targets.web", "exactly one of"),
    ("probe without a check", GOOD.replace('      http: {url: "http://127.0.0.1:1/", max_latency: 500ms}\n', ""), 9,
     "steady_state.probes[0]", "exactly one of http, tcp or kubernetes"),
    ("no faults", GOOD.split("faults:")[0] + "faults: []\n", 11, "faults", "at least 1"),
    ("severity name used twice", GOOD + "severities:\n  SEV1: {name: P1}\n  SEV2: {name: p1}\n", 24,
     "severities.SEV2.name", "'p1' already names SEV1"),
    ("severity renamed to another level", GOOD + "severities:\n  SEV2: {name: SEV1}\n", 23,
     "severities.SEV2.name", "already names SEV1"),
    ("unknown severity level", GOOD + "severities:\n  SEV5: {name: P5}\n", 23, "severities.SEV5", "SEV1"),
    ("update cadence range upside down", GOOD + "severities:\n  SEV1: {update_every: 10m, update_every_min: 20m}\n", 23,
     "severities.SEV1", "update_every_min is longer than update_every"),
    ("a date that is no real day", GOOD.replace("name: web-kill", "name: 2026-02-30"), 2, "name",
     "invalid timestamp '2026-02-30': day is out of range for month"),
    ("a tagged value of the wrong kind", GOOD.replace("name: web-kill", "name: !!bool maybe"), 2, "name",
     "invalid bool 'maybe' (quote it to keep it text)"),
    ("a key that is no real day", GOOD + "2026-02-30: x\n", 22, None, "day is out of range"),
    ("an action item due on no real day",
     GOOD + "responses:\n  - {at: 1s, action: review, action_items: [{text: a, owner: b, due: '2026-02-30'}]}\n", 23,
     "responses[0].action_items[0].due", "not a date: '2026-02-30'"),
    ("a heartbeat timeout the heartbeat cannot meet", GOOD.replace("max_fault_duration: 2h", "max_fault_duration: 2h\n  heartbeat_timeout: 1s"),
     20, "safety", "heartbeat_timeout must be at least 3s"),
    ("a load guard without load", GOOD + "guards:\n  - {name: errors, load_error_rate_above: 0.5}\n", 23,
     "guards[0].load_error_rate_above", "needs a load: section"),
    ("a URL that is no URL", GOOD.replace('url: "http://127.0.0.1:1/"', 'url: "http://[::1"'), 10,
     "steady_state.probes[0].http.url", "not a valid URL"),
    ("a URL that is not http", GOOD.replace('url: "http://127.0.0.1:1/"', 'url: "ftp://127.0.0.1/"'), 10,
     "steady_state.probes[0].http.url", "not an http:// or https:// URL"),
    ("a zero probe interval", GOOD.replace("      http: {", "      interval: 0s\n      http: {"), 10,
     "steady_state.probes[0].interval", "must be more than 0s"),
    ("a zero fault duration", GOOD.replace("duration: 1h30m", "duration: 0s"), 14, "faults[0].duration",
     "must be more than 0s"),
    ("a duration too big to be a number", GOOD.replace("duration: 1h30m", "duration: " + "9" * 400 + "h"), 14,
     "faults[0].duration", "longer than a year"),
    ("a status code that is none", GOOD.replace("max_latency: 500ms}", "max_latency: 500ms, expect_status: [200, 42]}"),
     10, "steady_state.probes[0].http.expect_status[1]", "greater than or equal to 100"),
    ("an unknown tag", GOOD.replace("name: web-kill", "name: !custom x"), 2, "name",
     "invalid value: could not determine a constructor for the tag '!custom'"),
    ("bad alert matcher regex",
     GOOD.replace("  recovers_within: 90s\n", '  recovers_within: 90s\n  alerts:\n    - name: InstanceDown\n      matchers: [\'team=~"(db"\']\n'),
     19, "expect.alerts[0].matchers[0]", "bad regex"),
    ("an OOM kill expected of an unknown target",
     GOOD.replace("  recovers_within: 90s\n", "  recovers_within: 90s\n  oom_kills:\n    - {target: db}\n"),
     18, "expect.oom_kills[0].target", "unknown target 'db' (known: web)"),
    ("an OOM kill expectation that is neither killed nor none",
     GOOD.replace("  recovers_within: 90s\n", "  recovers_within: 90s\n  oom_kills:\n    - {target: web, during_fault: maybe}\n"),
     18, "expect.oom_kills[0].during_fault", "'killed' or 'none'"),
    ("one target's OOM kills expected twice",
     GOOD.replace("  recovers_within: 90s\n",
                  "  recovers_within: 90s\n  oom_kills:\n    - {target: web}\n    - {target: web, during_fault: none}\n"),
     19, "expect.oom_kills[1].target", "already expected at expect.oom_kills[0]"),
    ("not an alert matcher",
     GOOD.replace("  recovers_within: 90s\n", "  recovers_within: 90s\n  alerts:\n    - name: InstanceDown\n      matchers: [critical]\n"),
     19, "expect.alerts[0].matchers[0]", "not a label matcher"),
]


@pytest.mark.parametrize(("text", "line", "field", "words"), [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_gives_one_located_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes, line: int, field: str | None, words: str
) -> None:
    code, lines = validate(tmp_path, text, capsys)
    assert code == 1
    assert len(lines) >= 1
    match = next((LINE.match(ln) for ln in lines if words.lower() in ln.lower()), None)
    assert match is not None, f"no line mentions {words!r}: {lines}"
    assert match["file"].endswith("scenario.yaml")
    assert int(match["line"]) == line, lines
    if field is not None:
        assert match["field"] == field, lines


def test_all_problems_are_reported_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = GOOD.replace("container_kill", "nope").replace("duration: 1h30m", "duration: -1s") + "extra: 1\n"
    code, lines = validate(tmp_path, text, capsys)
    assert code == 1
    assert len(lines) == 3, lines
    assert {m["field"] for ln in lines if (m := LINE.match(ln))} == {"faults[0].kind", "faults[0].duration", "extra"}


def test_alias_bomb_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        levels.append(f"a{i}: &a{i} [" + ",".join([f"*a{i-1}"] * 9) + "]")
    code, lines = validate(tmp_path, "\n".join(levels) + "\n", capsys)
    assert code == 1
    assert any("alias bomb" in ln for ln in lines), lines


def test_huge_file_is_refused_without_reading_it_all(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "scenario.yaml"
    with path.open("wb") as f:
        f.write(b"version: 1\n")
        f.truncate(50 * 1024 * 1024)
    code = main(["validate", str(path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "MB" in out and "at most" in out


def test_missing_file_and_directory_without_scenarios(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 1
    assert "file not found" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    assert main(["validate", str(tmp_path / "empty")]) == 1
    assert "no scenario files" in capsys.readouterr().err


def test_yaml_anchors_and_merge_keys_are_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = GOOD.replace("faults:\n  - kind: container_kill\n    target: web\n    duration: 1h30m\n",
                        "x-base: &base {kind: container_kill, target: web}\nfaults:\n  - <<: *base\n    duration: 5m\n")
    _, lines = validate(tmp_path, text, capsys)
    # x-base itself is an unknown key: the anchor works, the stray key is still reported.
    assert lines and all("x-base" in ln for ln in lines)
