"""Runbooks followed against a real fault: a busybox web server killed with the container_kill driver."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gameday.clock import SystemClock
from gameday.faults.docker import ContainerKill
from gameday.runbooks.execute import RunbookVerdict, execute_runbook
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


def follow(path: Path, web: WebContainer, timeline: Timeline, **kwargs: Any) -> RunbookVerdict:
    return execute_runbook(path, scenario=web_scenario(web.name, web.url), timeline=timeline, env=ENV,
                           clock=SystemClock(), settle_s=0.5, restore_timeout=3.0, **kwargs)


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

    assert not verdict.works
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
    web.container.start()  # what the engine's revert does
    timeline.record("fault.reverted", fault="kill", duration_s=0.1)
    book = Path(tmp_path / "noop.md")
    book.write_text("# Noop\n\n## Steps\n\n1. Wait.\n\n   ```sh {run}\n   sleep 0.2\n   ```\n", encoding="utf-8")

    verdict = follow(book, web, timeline)

    assert not verdict.restored and verdict.restored_by == "harness revert"
