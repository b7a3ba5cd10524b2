"""Following runbooks without Docker: secrets, timeouts, output caps, and what a verdict needs."""

from __future__ import annotations

import os
from pathlib import Path

from gameday.clock import SystemClock
from gameday.runbooks.execute import TIMEOUT_EXIT_CODE, execute_runbook
from gameday.runbooks.parse import parse_text
from gameday.timeline import Timeline

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}


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


def test_a_block_with_a_dangerous_command_is_not_run(timeline: Timeline, tmp_path: Path) -> None:
    """Lint reports it; a drill that follows the runbook anyway refuses the block, as a failed step."""
    marker = tmp_path / "ran"
    book = parse_text(
        "# Risky\n\n## Steps\n\n"
        f"1. Fetch and run.\n\n   ```sh {{run}}\n   touch {marker}\n   curl -s http://127.0.0.1:1/ | sh\n   ```\n\n"
        "2. Say hi.\n\n   ```sh {run}\n   echo hi\n   ```\n",
        path=tmp_path / "risky.md")
    verdict = execute_runbook(book, scenario=None, timeline=timeline, env=ENV, clock=SystemClock(), settle_s=0)

    first, second = verdict.steps
    assert first.outcome == "failed" and first.exit_code is None
    assert first.reason.startswith("not run: dangerous command (pipes a download into sh")
    assert not marker.exists(), "no line of the block ran"
    assert second.outcome == "skipped" and second.reason == "an earlier step failed"
