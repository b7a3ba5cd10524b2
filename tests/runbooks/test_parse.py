"""The parser: what it makes of the format, and that it takes whatever Markdown a person writes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from gameday.runbooks.lint import lint_file
from gameday.runbooks.parse import MAX_BYTES, parse_file, parse_info, parse_text


def test_sections_steps_blocks_and_serves() -> None:
    book = parse_text(
        "# DB down\n\n## Serves\n\n- alert: `DatabaseUnreachable`, InstanceDown\n- scenario: checkout-db-down\n"
        "- orders fail\n\n## Steps\n\n1. Start it.\n\n   ```sh {run timeout=20s env=A,B}\n   docker start db\n   ```\n\n"
        "2. Then wait\n   a little.\n\n```bash {run}\nsleep 1\n```\n\n### Check by hand\n\nLook at the graph.\n\n"
        "## Verify\n\n```sh {run}\ntrue\n```\n",
        path=Path("runbooks/db-down.md"),
    )
    assert book.title == "DB down" and book.name == "db-down"
    assert [s.key for s in book.sections] == ["serves", "steps", "verify"]
    assert book.serves.alerts == ("DatabaseUnreachable", "InstanceDown")
    assert book.serves.scenarios == ("checkout-db-down",)
    assert book.serves.symptoms == ("orders fail",)
    assert [(s.number, s.title, s.line) for s in book.steps] == [
        (1, "Start it.", 11), (2, "Then wait", 17), (3, "Check by hand", 24)]
    first = book.steps[0].blocks[0]
    assert (first.runnable, first.language, first.timeout_text, first.env_grants) == (True, "sh", "20s", ("A", "B"))
    assert first.code == "docker start db\n" and first.line == 13
    assert [b.language for b in book.steps[1].blocks] == ["bash"], "a flush-left fence after an item belongs to it"
    assert book.steps[1].prose == "Then wait a little."
    assert book.steps[2].runnable_blocks == ()
    assert len(book.verify_blocks) == 1


@pytest.mark.parametrize(("info", "expected"), [
    ("sh {run}", ("sh", True, {})),
    ("bash {run timeout=5s}", ("bash", True, {"timeout": "5s"})),
    ("{run}", ("", True, {})),
    ("sh", ("sh", False, {})),
    ("sh run", ("sh", False, {})),
    ("console {.run}", ("console", False, {})),
    ("sh {run env=X,Y}", ("sh", True, {"env": "X,Y"})),
])
def test_the_runnable_marker(info: str, expected: tuple[str, bool, dict[str, str]]) -> None:
    assert parse_info(info) == expected


def test_crlf_and_bom_are_read_like_lf(tmp_path: Path) -> None:
    text = "# T\n\n## Steps\n\n1. Go.\n\n   ```sh {run}\n   true\n   ```\n"
    path = tmp_path / "crlf.md"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    book = parse_file(path)
    assert book.title == "T" and book.problems == ()
    assert book.steps[0].blocks[0].code == "true\n" and book.steps[0].line == 5


def test_a_huge_file_is_read_up_to_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    path.write_bytes(b"# Huge\n\n" + b"word " * (MAX_BYTES // 2))
    book = parse_file(path)
    assert book.title == "Huge"
    assert [p.rule for p in book.problems] == ["too-large"]


def _odd_markdown(rng: random.Random) -> list[tuple[str, bytes]]:
    """A corpus of what people (and tools) put in .md files."""
    pieces = [b"# ", b"## Steps\n", b"1. ", b"- ", b"```sh {run}\n", b"```\n", b"~~~\n", b"<div>", b"</div>",
              b"| a | b |\n|---|---|\n| 1 | 2 |\n", b"> quote\n", b"[link](x.md)", b"`code`", b"*", b"_", b"\n",
              b"    indented\n", b"<!-- c -->", b"\\", b"![img](a.png)", b"<TODO>", b"\xff\xfe", b"\r\n", b"\t"]
    corpus = [
        ("random-bytes", rng.randbytes(20_000)),
        ("nested-lists", b"".join(b"  " * i + b"1. item\n" for i in range(400))),
        ("nested-quotes", b"> " * 5000 + b"deep\n"),
        ("nested-brackets", b"[" * 5_000 + b"x" + b"]" * 5_000 + b"\n"),
        ("emphasis-storm", b"*a _b " * 3_000 + b"\n"),
        ("unclosed-fence", b"# T\n## Steps\n1. x\n```sh {run}\ndocker start a\n"),
        ("html-only", b"<html><body><h1>Runbook</h1><table><tr><td>1</td></tr></table></body></html>\n"),
        ("table-steps", b"# T\n## Steps\n| # | Do |\n|---|---|\n| 1 | docker start a |\n"),
        ("headings-reversed", b"## Rollback\nx\n## Escalate\n- y\n## Verify\nz\n## Steps\n1. a\n# Title\n"),
        ("crlf-bom", b"\xef\xbb\xbf# T\r\n## Steps\r\n1. a\r\n"),
        ("utf16", "# Titre\n## Étapes\n1. démarrer\n".encode("utf-16")),
        ("latin1", "# Café\n## Steps\n1. redémarrer\n".encode("latin-1")),
        ("nul-bytes", b"# T\x00\n## Steps\x00\n1. \x00\n"),
        ("empty", b""),
        ("only-newlines", b"\n" * 10_000),
        ("long-line", b"a" * 200_000),
        ("too-large", b"# Big\n" + b"1. step `docker start x`\n" * 12_000),
    ]
    for i in range(40):
        corpus.append((f"shuffle-{i}", b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 400)))))
    return corpus


def test_the_linter_survives_a_corpus_of_odd_markdown(tmp_path: Path) -> None:
    rng = random.Random(8)
    for name, data in _odd_markdown(rng):
        path = tmp_path / f"{name}.md"
        path.write_bytes(data)
        findings = lint_file(path)  # must not raise
        assert all(f.path == path and f.line >= 1 for f in findings), name
        if name in ("latin1", "utf16", "random-bytes"):
            assert any(f.rule == "encoding" for f in findings), name
        if name == "too-large":
            assert any(f.rule == "too-large" for f in findings)


def test_a_folder_or_missing_file_is_a_finding(tmp_path: Path) -> None:
    assert [f.rule for f in lint_file(tmp_path / "nope.md")] == ["unreadable"]
    (tmp_path / "dir.md").mkdir()
    assert [f.rule for f in lint_file(tmp_path / "dir.md")] == ["unreadable"]
