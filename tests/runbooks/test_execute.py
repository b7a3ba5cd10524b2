"""Runbooks followed against a real fault: a busybox web server killed with the container_kill driver."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from gameday.clock import SystemClock
from gameday.faults.docker import ContainerKill
from gameday.runbooks.execute import TIMEOUT_EXIT_CODE, RunbookVerdict, execute_runbook
from gameday.runbooks.parse import parse_text
from gameday.timeline import Timeline, read_timeline
from tests.conftest import WebContainer, http_ok
from tests.runbooks.conftest import render_fixture, web_scenario

pytestmark = pytest.mark.docker

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}


def kill(web: WebContainer, duration: str = "3s") -> None:
    scenario = web_scenario(web.name, web.url, duration=duration)
    driver = ContainerKill()
    driver.inject(driver.prepare(scenario.faults[0], scenario.stack))
    assert not http_ok(web.url)


def follow(path: Path, web: WebContainer, timeline: Timeline, **kwargs: object) -> RunbookVerdict:
    return execute_runbook(path, scenario=web_scenario(web.name, web.url), timeline=timeline, env=ENV,
                           clock=SystemClock(), settle_s=0.5, restore_timeout=3.0, **kwargs)  # type: ignore[arg-type]


def test_a_good_runbook_restores_service_and_records_each_step(
    web_container: Callable[..., WebContainer], timeline: Timeline, tmp_path: Path
) -> None:
    web = web_container()
    kill(web)
    book = render_fixture("good-web.md", tmp_path / "books", web=web.name, port=web.port)

    verdict = follow(book, web, timeline)

    assert verdict.restored and verdict.works, verdict.reason
    assert verdict.restored_by == "runbook"
    assert verdict.failing_steps == []
    assert verdict.time_to_restore_s is not None and verdict.time_to_restore_s > 0
    assert verdict.idle_steps == [1], "inspecting the container changes nothing a probe sees"
    assert http_ok(web.url)
    events = read_timeline(timeline.path)
    steps = [e.details for e in events if e.kind == "runbook.step"]
    assert [(s["step"], s["outcome"], s["section"]) for s in steps] == [
        (1, "done", "steps"), (2, "done", "steps"), (3, "done", "verify")]
    assert steps[0]["output"].strip() == "exited"
    assert steps[1]["command"] == f"docker start {web.name}" and steps[1]["exit_code"] == 0
    assert all(isinstance(s["duration_s"], float) for s in steps)
    judged = [e.details for e in events if e.kind == "runbook.judged"]
    assert judged and judged[0]["restored"] is True and judged[0]["total_steps"] == 3


def test_a_stale_runbook_fails_and_names_the_failing_step(
    web_container: Callable[..., WebContainer], timeline: Timeline, tmp_path: Path
) -> None:
    web = web_container()
    kill(web)
    book = render_fixture("stale-web.md", tmp_path / "books", port=web.port)

    verdict = follow(book, web, timeline)

    assert not verdict.restored
    assert verdict.failing_steps[0] == 2, "docker start on the old name is the step that fails"
    step2 = verdict.steps[1]
    assert step2.outcome == "failed" and step2.exit_code not in (0, None)
    assert "gdtest-web-old-name" in step2.output, "Docker's own error is kept in the record"
    assert verdict.steps[2].outcome == "skipped" and verdict.steps[2].reason == "an earlier step failed"
    assert not http_ok(web.url)


def test_the_deliberately_broken_runbook_is_judged_broken(
    web_container: Callable[..., WebContainer], timeline: Timeline, tmp_path: Path
) -> None:
    web = web_container()
    decoy = web_container()
    kill(web)
    book = render_fixture("broken-restarts-wrong-container.md", tmp_path / "books", web=web.name, decoy=decoy.name)

    verdict = follow(book, web, timeline)

    assert verdict.broken
    assert not verdict.restored
    assert verdict.failing_steps == [], "every command succeeds; the runbook is still wrong"
    assert verdict.idle_steps == [1, 2, 3], "restarting the decoy changes nothing the probe sees"
    assert "still red" in verdict.reason
    assert not http_ok(web.url) and http_ok(decoy.url)


def test_a_harness_revert_gets_no_credit(
    web_container: Callable[..., WebContainer], timeline: Timeline, tmp_path: Path
) -> None:
    """If the service only comes back because the harness reverted the fault, the runbook did not restore it."""
    web = web_container()
    kill(web)
    web.container.start()  # type: ignore[attr-defined]  # what the engine's revert does
    timeline.record("fault.reverted", fault="kill", duration_s=0.1)
    book = Path(tmp_path / "noop.md")
    book.write_text("# Noop\n\n## Steps\n\n1. Wait.\n\n   ```sh {run}\n   sleep 0.2\n   ```\n", encoding="utf-8")

    verdict = follow(book, web, timeline)

    assert not verdict.restored and verdict.restored_by == "harness revert"


def test_secrets_are_not_passed_to_commands_and_never_recorded(timeline: Timeline, tmp_path: Path) -> None:
    env = {
        **ENV,
        "GAMEDAY_TEST_DB_PASSWORD": "pw-0f9d8c7b6a",
        "SERVICE_API_TOKEN": "tok-1a2b3c4d5e",
        "GAMEDAY_TEST_ADMIN_DSN": "postgresql://admin:dsnpw-77aa88bb@127.0.0.1:1/db",
        "UPSTREAM": "redis://app:urlpw-5566ccdd@127.0.0.1:2/0",
        "HARMLESS": "visible-value",
    }
    book = tmp_path / "env.md"
    book.write_text(
        "# Env\n\n## Steps\n\n"
        "1. Show the environment.\n\n   ```sh {run}\n   env | sort\n   ```\n\n"
        "2. Use the one granted secret.\n\n   ```sh {run env=GAMEDAY_TEST_ADMIN_DSN}\n"
        "   echo \"dsn=$GAMEDAY_TEST_ADMIN_DSN\"\n   echo \"token: ${SERVICE_API_TOKEN:-unset}\"\n   ```\n\n"
        "3. Print a secret that leaked by another way (a file).\n\n   ```sh {run}\n   echo tok-1a2b3c4d5e\n   ```\n",
        encoding="utf-8",
    )
    verdict = execute_runbook(book, scenario=None, timeline=timeline, env=env, clock=SystemClock(), settle_s=0)

    out1, out2, out3 = (s.output for s in verdict.steps)
    assert "HARMLESS=visible-value" in out1
    for name in ("GAMEDAY_TEST_DB_PASSWORD", "SERVICE_API_TOKEN", "GAMEDAY_TEST_ADMIN_DSN", "UPSTREAM"):
        assert name not in out1, f"{name} must not reach a command that was not granted it"
    assert "dsn=***" in out2, "the granted secret reaches the command, and is redacted in its output"
    assert "token: unset" in out2, "a grant is for the named variable only"
    assert out3.strip() == "***"
    record = timeline.path.read_text(encoding="utf-8")
    for secret in ("pw-0f9d8c7b6a", "tok-1a2b3c4d5e", "dsnpw-77aa88bb", "urlpw-5566ccdd"):
        assert secret not in record


def test_a_step_that_hangs_is_killed_at_its_timeout(timeline: Timeline, tmp_path: Path) -> None:
    book = parse_text("# Hang\n\n## Steps\n\n1. Hang.\n\n   ```sh {run timeout=500ms}\n   sleep 30 | cat\n   ```\n",
                      path=tmp_path / "hang.md")
    verdict = execute_runbook(book, scenario=None, timeline=timeline, env=ENV, clock=SystemClock(), settle_s=0)

    step = verdict.steps[0]
    assert step.outcome == "failed" and step.exit_code == TIMEOUT_EXIT_CODE
    assert step.reason == "timed out after 0.5s"
    assert step.duration_s < 10, "the whole process group is killed, not waited for"
    assert verdict.failing_steps == [1]


def test_long_output_is_truncated_in_the_record(timeline: Timeline, tmp_path: Path) -> None:
    book = parse_text("# Loud\n\n## Steps\n\n1. Talk a lot.\n\n   ```sh {run}\n   seq 1 100000\n   ```\n",
                      path=tmp_path / "loud.md")
    verdict = execute_runbook(book, scenario=None, timeline=timeline, env=ENV, clock=SystemClock(), settle_s=0)

    output = verdict.steps[0].output
    assert len(output) < 2200
    assert output.startswith("1\n2\n") and output.rstrip().endswith("100000")
    assert "cut" in output


def test_without_probes_or_verify_nothing_is_restored(timeline: Timeline, tmp_path: Path) -> None:
    book = parse_text("# Echo\n\n## Steps\n\n1. Say hi.\n\n   ```sh {run}\n   echo hi\n   ```\n", path=tmp_path / "e.md")
    verdict = execute_runbook(book, scenario=None, timeline=timeline, env=ENV, clock=SystemClock(), settle_s=0)

    assert not verdict.restored
    assert "nothing to judge by" in verdict.reason
