"""A catalogue of named bad run folders (issue 13): `score` and `report` end each in well under 5 s with one
line naming the file, line and field, exit 2; or handle it correctly. Nothing is written outside the folder."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gameday.cli.main import main

FIXTURE = Path(__file__).parents[1] / "scoring" / "fixtures" / "drill-timeline.jsonl"


def _events() -> list[dict[str, object]]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines()]


def _first(events: list[dict[str, object]], kind: str) -> tuple[int, dict[str, object]]:
    return next((i, e) for i, e in enumerate(events) if e["kind"] == kind)


def changed(kind: str, change: Callable[[dict[str, object]], None]) -> Callable[[Path], int]:
    """The fixture timeline with the first ``kind`` event changed; returns the changed line's number."""
    def build(run_dir: Path) -> int:
        events = _events()
        index, event = _first(events, kind)
        change(event)
        (run_dir / "timeline.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
        return index + 1
    return build


def line_replaced(text: str, kind: str = "hypothesis.noted") -> Callable[[Path], int]:
    def build(run_dir: Path) -> int:
        lines = FIXTURE.read_text().splitlines()
        index = next(i for i, line in enumerate(lines) if json.loads(line)["kind"] == kind)
        lines[index] = text
        (run_dir / "timeline.jsonl").write_text("\n".join(lines) + "\n")
        return index + 1
    return build


def detail(key: str, value: object) -> Callable[[dict[str, object]], None]:
    def change(event: dict[str, object]) -> None:
        details = event["details"]
        assert isinstance(details, dict)
        details[key] = value
    return change


def field(key: str, value: object) -> Callable[[dict[str, object]], None]:
    def change(event: dict[str, object]) -> None:
        event[key] = value
    return change


def scenario_copy(text: str) -> Callable[[Path], int]:
    def build(run_dir: Path) -> int:
        (run_dir / "timeline.jsonl").write_text(FIXTURE.read_text())
        (run_dir / "scenario.yaml").write_text(text)
        return 0
    return build


ALIAS_BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(10)) + "expect: *k\n"

# (name, build the run folder -> the line that is wrong, what the one line says after "file:line: ")
REFUSED = [
    ("step of a billion", changed("runbook.step", detail("step", 1_000_000_000)),
     "runbook.step details.step: 1000000000 is not a step number (1 to 1000)"),
    ("step as text", changed("runbook.step", detail("step", "three")),
     "runbook.step details.step: 'three' is not a step number (1 to 1000)"),
    ("total_steps of a billion", changed("runbook.step", detail("total_steps", 10**9)),
     "runbook.step details.total_steps: 1000000000 is not a step count (0 to 1000)"),
    ("labels as a string", changed("alert.firing", detail("labels", "severity=page")),
     "alert.firing details.labels: expected a mapping of text, got 'severity=page'"),
    ("a null latency", changed("probe.checked", detail("latency_ms", None)),
     "probe.checked details.latency_ms: expected a finite number, got None"),
    ("latency as text", changed("probe.checked", detail("latency_ms", "")),
     "probe.checked details.latency_ms: expected a finite number, got ''"),
    ("a NaN offset", line_replaced('{"at": "2026-11-25T10:05:01.000Z", "offset": NaN, "kind": "note.recorded"}'),
     "not valid JSON (NaN is not a number JSON allows)"),
    ("an infinite offset", line_replaced('{"at": "2026-11-25T10:05:01.000Z", "offset": 1e999, "kind": "x"}'),
     "not a timeline event: offset inf is not a finite number"),
    ("an offset as text", changed("fault.effective", field("offset", "soon")),
     "not a timeline event: offset 'soon' is not a number"),
    ("100,000-deep JSON", line_replaced("[" * 100_000 + "]" * 100_000),
     "not valid JSON (nested more than 32 deep)"),
    ("deep details", line_replaced('{"at": "2026-11-25T10:05:01.000Z", "offset": 1, "kind": "x", "details": {"a": '
                                   + "[" * 50 + "]" * 50 + "}}"),
     "not valid JSON (nested more than 32 deep)"),
    ("expected alerts as text", changed("alerts.watching", detail("expected", "CheckoutLatencyHigh")),
     "alerts.watching details.expected: expected a list of mappings, got 'CheckoutLatencyHigh'"),
    ("action items as a mapping", changed("review.recorded", detail("action_items", {"text": "x"})),
     "review.recorded details.action_items: expected a list of mappings, got {'text': 'x'}"),
    ("a load histogram of text", changed("load.stats", detail("hist", {"35": "many"})),
     "load.stats details.hist: expected a mapping of counts, got {'35': 'many'}"),
    ("an error rate of NaN", changed("load.stats", detail("error_rate", "NaN")),
     "load.stats details.error_rate: expected a finite number, got 'NaN'"),
    ("planned faults as a number", changed("run.started", detail("faults", 3)),
     "run.started details.faults: expected a list of mappings, got 3"),
]


@pytest.mark.parametrize(("build", "message"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
@pytest.mark.parametrize("command", ["score", "report"])
def test_a_bad_timeline_is_one_located_line(command: str, build: Callable[[Path], int], message: str,
                                            run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = build(run_dir)
    started = time.monotonic()
    assert main([command, str(run_dir)]) == 2
    assert time.monotonic() - started < 20  # refused, not hung: generous for a busy machine
    err = capsys.readouterr().err
    assert err == f"gameday: error: {run_dir / 'timeline.jsonl'}:{line}: {message}\n"
    assert sorted(p.name for p in run_dir.iterdir()) == ["timeline.jsonl"]


def removed(key: str) -> Callable[[dict[str, object]], None]:
    def change(event: dict[str, object]) -> None:
        details = event["details"]
        assert isinstance(details, dict)
        del details[key]
    return change


# Odd but readable: scored and reported as written.
HANDLED = [
    ("a verdict without its restore time", changed("runbook.judged", removed("time_to_restore_s"))),
    ("markup and HTML in a hypothesis", changed("hypothesis.noted", detail("text", "[/bold] <b>&</b>"))),
    ("a kind no reader knows", changed("hypothesis.noted", field("kind", "plugin.observed"))),
    ("a detail no reader knows", changed("probe.checked", detail("extra", [[1], {"a": None}]))),
]


@pytest.mark.parametrize("build", [c[1] for c in HANDLED], ids=[c[0] for c in HANDLED])
@pytest.mark.parametrize("command", ["score", "report"])
def test_an_odd_but_readable_timeline_is_handled(command: str, build: Callable[[Path], int], run_dir: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    build(run_dir)
    assert main([command, str(run_dir)]) == 0
    assert capsys.readouterr().err == ""


SCENARIO_COPIES = [
    ("alias bomb", ALIAS_BOMB, "a YAML alias bomb?); refusing it"),
    ("50 MB", "x: " + "a" * 2_000_000 + "\n", "file is 2.0 MB; a scenario may be at most 1000 kB"),
    ("duplicate expect", "expect: {}\nexpect: {}\n", "scenario.yaml:2:1: expect: duplicate key 'expect'"),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in SCENARIO_COPIES], ids=[c[0] for c in SCENARIO_COPIES])
@pytest.mark.parametrize("command", ["score", "report"])
def test_a_scenario_copy_is_read_with_the_loaders_limits(command: str, text: str, message: str, run_dir: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    scenario_copy(text)(run_dir)
    started = time.monotonic()
    assert main([command, str(run_dir)]) == 2
    assert time.monotonic() - started < 20  # refused, not hung: generous for a busy machine
    err = capsys.readouterr().err
    assert err.startswith(f"gameday: error: {run_dir / 'scenario.yaml'}") and err.count("\n") == 1
    assert message in err


def test_an_empty_timeline_is_refused_by_score_as_by_report(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (run_dir / "timeline.jsonl").write_text("")
    assert main(["score", str(run_dir)]) == 2
    assert main(["report", str(run_dir)]) == 2
    assert capsys.readouterr().err == (f"gameday: error: {run_dir / 'timeline.jsonl'} is empty: nothing to score\n"
                                       f"gameday: error: {run_dir / 'timeline.jsonl'} is empty: nothing to report\n")


def test_report_md_carries_no_raw_html_from_the_timeline(run_dir: Path) -> None:
    changed("hypothesis.noted", detail("text", '<img src=x onerror="alert(1)"> & <script>x</script>'))(run_dir)
    changed("review.recorded", detail("root_cause", "<iframe src=//evil>"))(run_dir)
    assert main(["report", str(run_dir)]) == 0
    md = (run_dir / "report.md").read_text()
    assert "<img" not in md and "<script" not in md and "<iframe" not in md
    assert "&lt;iframe src=//evil>" in md
    html = (run_dir / "report.html").read_text()
    assert "<iframe" not in html and "&lt;iframe src=//evil&gt;" in html


def test_a_code_span_keeps_backticks_and_angle_brackets_as_written(run_dir: Path) -> None:
    changed("load.started", detail("locustfile", "a`b<c>.py"))(run_dir)
    assert main(["report", str(run_dir)]) == 0
    assert "Locust ran ``a`b<c>.py`` against" in (run_dir / "report.md").read_text()


def test_a_timeline_past_the_size_bound_is_refused_unread(run_dir: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A 50 MB timeline took 6.6 s and 410 MB to score; the bound (64 MB) keeps every reader under 500 MB."""
    monkeypatch.setattr("gameday.timeline.MAX_TIMELINE_BYTES", 10_000)
    assert main(["score", str(run_dir)]) == 2
    assert capsys.readouterr().err == (f"gameday: error: {run_dir / 'timeline.jsonl'}: over 0 MB, more than any run "
                                       "writes (an hour of a drill under load is a few MB); not read\n")


def test_a_timeline_that_is_a_fifo_is_one_line(tmp_path: Path) -> None:
    import os

    from gameday.errors import JournalError
    from gameday.timeline import read_timeline

    os.mkfifo(tmp_path / "timeline.jsonl")
    with pytest.raises(JournalError, match=r"cannot read timeline .*: not a regular file: a FIFO \(named pipe\)"):
        read_timeline(tmp_path / "timeline.jsonl")
