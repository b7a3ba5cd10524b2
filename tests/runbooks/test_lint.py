"""Each lint rule on a small runbook that breaks it, and nothing on one that does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gameday.runbooks.lint import RULES, LintOptions, lint_file, lint_paths

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
# Checkout: PostgreSQL is down

## Serves

- scenario: checkout-db-down
- alert: DatabaseUnreachable

## Severity

SEV2 while orders fail.

## Steps

1. Start PostgreSQL.

   ```sh {run}
   docker start gameday-demo-postgres
   ```

2. Wait for it.

   ```sh {run timeout=60s}
   sleep 1
   ```

## Verify

```sh {run}
curl -fsS http://127.0.0.1:18080/health
```

## Escalate

- Not healthy within 5 minutes: page the database on-call.

## Rollback

Nothing to undo.
"""


def write(tmp_path: Path, text: str, name: str = "book.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rules_of(tmp_path: Path, text: str, **options: Any) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for f in lint_file(write(tmp_path, text), LintOptions(**options) if options else None):
        found.setdefault(f.rule, []).append(f.line)
    return found


def test_a_complete_runbook_has_no_findings(tmp_path: Path) -> None:
    assert rules_of(tmp_path, GOOD) == {}


def test_every_shipped_runbook_lints_without_errors() -> None:
    findings = lint_paths([REPO / "runbooks"])
    assert [f.one_line() for f in findings if f.is_error] == []
    assert len(list((REPO / "runbooks").glob("*.md"))) >= 12


def test_missing_title(tmp_path: Path) -> None:
    assert rules_of(tmp_path, GOOD.replace("# Checkout: PostgreSQL is down\n", ""))["missing-title"] == [1]


@pytest.mark.parametrize(("section", "severity"), [("Serves", "error"), ("Steps", "error"),
                                                   ("Severity", "warning"), ("Rollback", "warning")])
def test_missing_sections(tmp_path: Path, section: str, severity: str) -> None:
    text = GOOD.replace(f"## {section}\n", "## Notes\n")
    findings = [f for f in lint_file(write(tmp_path, text)) if f.rule == "missing-section"]
    assert len(findings) == 1 and findings[0].severity == severity and section in findings[0].message


def test_headings_in_any_order_and_aliases_are_accepted(tmp_path: Path) -> None:
    parts = GOOD.split("\n## ")
    shuffled = parts[0] + "\n## " + "\n## ".join(reversed(parts[1:]))
    assert rules_of(tmp_path, shuffled.replace("## Escalate", "## When to escalate")) == {}


def test_step_with_no_action(tmp_path: Path) -> None:
    text = GOOD.replace("2. Wait for it.", "3. Investigate.\n\n4. Wait for it.")
    assert rules_of(tmp_path, text)["step-no-action"] == [20]


def test_command_outside_a_fence(tmp_path: Path) -> None:
    text = GOOD.replace("2. Wait for it.", "2. Wait for it, then restart checkout:\n   docker restart gameday-demo-checkout\n")
    found = rules_of(tmp_path, text)
    assert found["command-outside-fence"] == [21]


def test_inline_code_command_in_a_step(tmp_path: Path) -> None:
    text = GOOD.replace("2. Wait for it.", "2. Wait for it; run `docker logs --tail 20 gameday-demo-postgres`.")
    assert rules_of(tmp_path, text)["command-outside-fence"] == [20]


def test_commands_named_in_prose_outside_steps_are_fine(tmp_path: Path) -> None:
    text = GOOD.replace("Nothing to undo.", "Nothing to undo; `docker stop` is never needed.")
    assert "command-outside-fence" not in rules_of(tmp_path, text)


@pytest.mark.parametrize("placeholder", ["<TODO>", "TODO", "XXX", "FIXME", "<your-service>", "<container_name>",
                                         "<HOST>", "<name>"])
def test_placeholders(tmp_path: Path, placeholder: str) -> None:
    text = GOOD.replace("docker start gameday-demo-postgres", f"docker start {placeholder}")
    assert rules_of(tmp_path, text).get("placeholder") == [17]


def test_html_tags_are_not_placeholders(tmp_path: Path) -> None:
    text = GOOD.replace("Nothing to undo.", "<details><summary>Nothing</summary>to undo.<br></details>")
    assert "placeholder" not in rules_of(tmp_path, text)


def test_unknown_container(tmp_path: Path) -> None:
    text = GOOD.replace("docker start gameday-demo-postgres", "docker start gameday-demo-postgress")
    assert rules_of(tmp_path, text)["unknown-container"] == [17]


@pytest.mark.parametrize("command", [
    "docker restart -t 5 old-db",
    "docker exec -it old-db psql",
    "sudo docker container stop old-db",
    "docker logs --tail 10 old-db | tail -n 2",
    "docker cp old-db:/var/log/x.log .",
])
def test_unknown_container_in_docker_command_shapes(tmp_path: Path, command: str) -> None:
    text = GOOD.replace("docker start gameday-demo-postgres", command)
    found = [f for f in lint_file(write(tmp_path, text)) if f.rule == "unknown-container"]
    assert [("old-db" in f.message) for f in found] == [True]


def test_containers_passed_in_are_known_and_variables_are_skipped(tmp_path: Path) -> None:
    text = GOOD.replace("docker start gameday-demo-postgres", 'docker start my-db "$OTHER"')
    assert "unknown-container" not in rules_of(tmp_path, text, extra_containers=("my-db",))


def test_unknown_host(tmp_path: Path) -> None:
    text = GOOD.replace("http://127.0.0.1:18080/health", "http://checkout.prod.example.com/health")
    assert rules_of(tmp_path, text)["unknown-host"] == [29]


def test_no_verification(tmp_path: Path) -> None:
    text = GOOD.replace("## Verify\n\n```sh {run}\ncurl -fsS http://127.0.0.1:18080/health\n```\n", "")
    assert "no-verification" in rules_of(tmp_path, text)
    empty = GOOD.replace("```sh {run}\ncurl -fsS http://127.0.0.1:18080/health\n```\n", "")
    assert rules_of(tmp_path, empty)["no-verification"] == [26]


def test_no_escalation_trigger(tmp_path: Path) -> None:
    assert rules_of(tmp_path, GOOD.replace("- Not healthy within 5 minutes: page the database on-call.", "- N/A"))[
        "no-escalation"] == [32]
    assert "no-escalation" in rules_of(tmp_path, GOOD.replace("## Escalate", "## Other"))


def test_dead_relative_link(tmp_path: Path) -> None:
    (tmp_path / "exists.md").write_text("# x\n")
    text = GOOD.replace("Nothing to undo.", "See [here](exists.md#top), [there](missing.md) and [web](https://example.com).")
    assert rules_of(tmp_path, text)["dead-link"] == [38]


def test_runnable_block_in_another_language(tmp_path: Path) -> None:
    text = GOOD.replace("```sh {run timeout=60s}", "```python {run}")
    assert rules_of(tmp_path, text)["runnable-language"] == [22]


def test_bad_timeout_attribute(tmp_path: Path) -> None:
    assert rules_of(tmp_path, GOOD.replace("timeout=60s", "timeout=soon"))["bad-block-attribute"] == [22]


def test_prompt_in_runnable_block(tmp_path: Path) -> None:
    text = GOOD.replace("   docker start gameday-demo-postgres", "   $ docker start gameday-demo-postgres")
    assert rules_of(tmp_path, text)["prompt-in-runnable"] == [17]


def test_secret_variable_without_a_grant(tmp_path: Path) -> None:
    text = GOOD.replace("   sleep 1", '   psql "$GAMEDAY_DEMO_PG_ADMIN_DSN" -c "select 1"')
    assert rules_of(tmp_path, text)["secret-not-granted"] == [22]
    granted = text.replace("{run timeout=60s}", "{run timeout=60s env=GAMEDAY_DEMO_PG_ADMIN_DSN}")
    assert "secret-not-granted" not in rules_of(tmp_path, granted)


def test_no_runnable_step(tmp_path: Path) -> None:
    text = GOOD.replace("```sh {run}\n   docker", "```sh\n   docker").replace("{run timeout=60s}", "")
    assert "not-executable" in rules_of(tmp_path, text)


def test_block_before_the_first_step_and_bullet_steps(tmp_path: Path) -> None:
    text = GOOD.replace("## Steps\n\n1. Start", "## Steps\n\n```sh\nuptime\n```\n\n- Start")
    found = rules_of(tmp_path, text)
    assert found["block-outside-step"] == [14] and found["bullet-step"] == [18]


def test_duplicate_section(tmp_path: Path) -> None:
    assert rules_of(tmp_path, GOOD + "\n## Steps\n\n1. Again.\n")["duplicate-section"] == [40]


def test_non_utf8_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes(GOOD.replace("Nothing to undo.", "Rien à défaire.").encode("latin-1"))
    findings = lint_file(path)
    assert [(f.rule, f.line) for f in findings] == [("encoding", 38)]


def test_every_rule_is_documented() -> None:
    doc = (REPO / "docs" / "runbooks.md").read_text(encoding="utf-8")
    assert [rule for rule in RULES if f"`{rule}`" not in doc] == []


def test_the_full_example_in_the_docs_lints_clean(tmp_path: Path) -> None:
    doc = (REPO / "docs" / "runbooks.md").read_text(encoding="utf-8")
    example = doc.split("````markdown\n", 1)[1].split("\n````", 1)[0]
    assert rules_of(tmp_path, example) == {}


def test_a_failing_check_is_a_finding_and_the_others_still_report(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import gameday.runbooks.lint as lint_module

    def broken(*args: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(lint_module, "_links", broken)
    found = rules_of(tmp_path, GOOD.replace("TODO", "").replace("docker start gameday-demo-postgres", "docker start XXX"))
    assert found == {"internal-error": [1], "placeholder": [17], "unknown-container": [17]}
