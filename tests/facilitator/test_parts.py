"""The scaled tabletop clock, the runbook checklist, safe command runs and date answers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from gameday.clock import FakeClock
from gameday.facilitator.checklist import clean_environment, load_checklist, run_command
from gameday.facilitator.clock import ScaledClock
from gameday.facilitator.prompts import parse_date
from gameday.facilitator.templates import TemplateContext, draft

RUNBOOK = """# Cache down

Some prose with `a command outside a step`.

## Steps
1. Look at the cache
   ```sh {run}
   redis-cli ping
   ```
2. Restart it
   ```sh {run}
   docker restart cache
   ```
3. Tell the channel

## Verify
- the page loads
"""


def test_the_scaled_clock_runs_scenario_time_faster_and_sleeps_less() -> None:
    base = FakeClock()
    clock = ScaledClock(base, 60)
    start_wall, start = clock.wall(), clock.monotonic()
    base.advance(2)
    assert clock.monotonic() - start == pytest.approx(120)
    assert clock.wall() - start_wall == timedelta(seconds=120)
    clock.sleep(60)  # one scenario minute is one real second
    assert base.monotonic() == pytest.approx(3)
    assert clock.real_seconds(300) == pytest.approx(5)
    with pytest.raises(ValueError, match="speed must be positive"):
        ScaledClock(base, 0)


def test_a_runbook_becomes_a_numbered_checklist(tmp_path: Path) -> None:
    path = tmp_path / "cache.md"
    path.write_text(RUNBOOK)
    checklist = load_checklist(path)
    assert checklist.name == "Cache down"
    assert [(i.step, i.title, i.command) for i in checklist.items] == [
        (1, "Look at the cache", "redis-cli ping"), (2, "Restart it", "docker restart cache"),
        (3, "Tell the channel", None)]


def test_secrets_are_kept_out_of_a_command_environment() -> None:
    env = {"PATH": "/usr/bin", "HOME": "/root", "GAMEDAY_DEMO_PG_ADMIN_DSN": "postgresql://a:b@127.0.0.1/x",
           "GAMEDAY_DEMO_REDIS_ADMIN_URL": "redis://admin:pw@127.0.0.1:16379", "API_TOKEN": "t",
           "PGPASSWORD": "p", "SOME_URL": "http://user:secret@127.0.0.1/", "PLAIN_URL": "http://127.0.0.1:18080/"}
    assert clean_environment(env) == {"PATH": "/usr/bin", "HOME": "/root", "PLAIN_URL": "http://127.0.0.1:18080/"}


def test_a_command_runs_without_the_secrets_and_reports_its_exit(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PGPASSWORD": "hunter2", "VISIBLE": "yes"}
    result = run_command('echo "visible=$VISIBLE password=$PGPASSWORD"; exit 3', env=env, cwd=tmp_path)
    assert result.exit_code == 3 and not result.ok
    assert result.output == "visible=yes password="


def test_a_command_that_hangs_is_stopped_at_its_timeout(tmp_path: Path) -> None:
    result = run_command("echo started; sleep 60", env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path, timeout=0.5)
    assert result.exit_code is None and "timed out after 0.5s" in result.output
    assert result.duration_s < 20  # stopped, not waited for: generous for a busy machine


def test_long_output_keeps_its_tail(tmp_path: Path) -> None:
    result = run_command("seq 1 5000", env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert result.output.startswith("[...]") and result.output.endswith("5000") and len(result.output) < 2100


@pytest.mark.parametrize(("text", "expected"), [("2026-12-01", "2026-12-01"), ("2026-02-30", None),
                                                ("next week", None), ("12/01/2026", None)])
def test_due_dates_must_be_real_days(text: str, expected: str | None) -> None:
    assert parse_date(text) == expected


def test_a_status_template_fills_in_what_is_known() -> None:
    text = draft("internal", TemplateContext(incident="checkout-db-down", severity="SEV1", status="investigating",
                                             theory="", next_update="T+15m"))
    assert "Severity: SEV1" in text and "Current theory: <none yet>" in text and "Next update: T+15m" in text
    assert "<N>% of customers" in draft("customer", TemplateContext("x", "SEV2", "identified", "db", "T+30m"))


def test_a_secret_printed_by_a_command_is_hidden(tmp_path: Path) -> None:
    (tmp_path / "dsn").write_text("postgresql://admin:s3cret-pw@127.0.0.1:15432/checkout\n")
    env = {"PATH": "/usr/bin:/bin", "GAMEDAY_DEMO_PG_ADMIN_DSN": "postgresql://admin:s3cret-pw@127.0.0.1:15432/checkout"}
    result = run_command("cat dsn", env=env, cwd=tmp_path)
    assert result.ok and "s3cret" not in result.output and result.output == "***"
