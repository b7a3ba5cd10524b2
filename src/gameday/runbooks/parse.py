"""Read a runbook: plain Markdown in, a typed ``Runbook`` out. Never raises on content.

The format (documented in docs/runbooks.md)::

    # Title
    ## Serves      list: ``alert: Name``, ``scenario: name``, anything else is a symptom
    ## Severity    guidance
    ## Steps       numbered list; each step may hold fenced command blocks
    ## Verify      how to tell it worked (may hold a runnable block)
    ## Escalate    when to call for help
    ## Rollback    how to undo the steps

A fenced block whose info string carries ``{run}`` (```` ```sh {run} ````) is *runnable*: the
executor runs it in a CI drill. ``{run timeout=20s env=NAME,OTHER}`` sets its timeout and lets it
see named secret variables (see execute.py).

Whatever a person writes (headings out of order, HTML, tables, CRLF, a BOM, bytes that are not
UTF-8, a 50 MB file) the parser returns a ``Runbook``; what it could not take is reported as a
``Finding`` in ``Runbook.problems``, which the linter passes on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gameday.errors import UnreadableFile
from gameday.runbooks.findings import Finding
from gameday.userfiles import read_regular_file

MAX_BYTES = 256_000
"""Bigger files are read up to here: a runbook is read at 3 AM, and parsing more costs seconds."""

SECTION_ALIASES: dict[str, tuple[str, ...]] = {
    "serves": ("serves", "alerts", "alert", "symptoms", "applies to", "triggers", "when to use"),
    "severity": ("severity", "severity guidance", "impact"),
    "steps": ("steps", "procedure", "mitigation", "mitigate", "remediation", "actions"),
    "verify": ("verify", "verification", "validate", "validation", "check"),
    "escalate": ("escalate", "escalation", "when to escalate", "escalation triggers"),
    "rollback": ("rollback", "roll back", "undo", "back out"),
}
"""Canonical section key -> headings accepted for it (compared lower-case, punctuation dropped)."""

SHELL_LANGUAGES = ("sh", "bash", "shell", "")
"""Languages a runnable block may be written in ('' = no language given: run with sh)."""

_ALIAS_TO_KEY = {alias: key for key, aliases in SECTION_ALIASES.items() for alias in aliases}
_SERVES_ITEM = re.compile(r"^\s*(alerts?|scenarios?|symptoms?)\s*[:\-\u2013\u2014]?\s*(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class CodeBlock:
    """A fenced block; ``line`` is the 1-based line of its opening fence."""

    line: int
    language: str
    runnable: bool
    code: str
    attrs: dict[str, str] = field(default_factory=dict)
    info: str = ""
    """The fence's info string as written (``sh {run timeout=20s}``), for the linter."""

    @property
    def env_grants(self) -> tuple[str, ...]:
        """Secret-looking variables this block is explicitly allowed to see (``env=A,B``)."""
        raw = self.attrs.get("env", "")
        return tuple(name for name in (part.strip() for part in raw.split(",")) if name)

    @property
    def timeout_text(self) -> str | None:
        return self.attrs.get("timeout")

    @property
    def code_lines(self) -> list[tuple[int, str]]:
        """(1-based line, text) of each line of code."""
        return [(self.line + 1 + i, text) for i, text in enumerate(self.code.splitlines())]


@dataclass(frozen=True)
class TextLine:
    """A line of prose (list markers and indentation removed) and where it is."""

    line: int
    text: str


@dataclass(frozen=True)
class Link:
    line: int
    href: str
    text: str


@dataclass(frozen=True)
class Step:
    number: int
    """1-based, in the order written (the numbers a person typed are not trusted: Markdown renumbers)."""
    line: int
    title: str
    text: tuple[TextLine, ...]
    blocks: tuple[CodeBlock, ...]
    bullet: bool = False
    """Written as a bullet (``-``) rather than a numbered item."""

    @property
    def runnable_blocks(self) -> tuple[CodeBlock, ...]:
        return tuple(b for b in self.blocks if b.runnable)

    @property
    def prose(self) -> str:
        return " ".join(t.text for t in self.text).strip()


@dataclass(frozen=True)
class Section:
    key: str
    """Canonical key (serves, severity, steps, verify, escalate, rollback) or the normalised heading."""
    heading: str
    line: int
    text: tuple[TextLine, ...]
    items: tuple[TextLine, ...]
    """Each list item's text (any list, any depth), first line where the item starts."""
    blocks: tuple[CodeBlock, ...]

    @property
    def is_empty(self) -> bool:
        return not self.text and not self.blocks

    @property
    def runnable_blocks(self) -> tuple[CodeBlock, ...]:
        return tuple(b for b in self.blocks if b.runnable)


@dataclass(frozen=True)
class Serves:
    alerts: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()
    symptoms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Runbook:
    path: Path
    name: str
    """The file's stem: ``runbooks/checkout-db-down.md`` -> ``checkout-db-down``."""
    title: str | None
    title_line: int | None
    sections: tuple[Section, ...]
    steps: tuple[Step, ...]
    loose_blocks: tuple[CodeBlock, ...]
    """Blocks in the Steps section before the first step (never run)."""
    links: tuple[Link, ...]
    lines: tuple[str, ...]
    problems: tuple[Finding, ...]

    def section(self, key: str) -> Section | None:
        """The first section with this canonical key."""
        return next((s for s in self.sections if s.key == key), None)

    @property
    def serves(self) -> Serves:
        section = self.section("serves")
        if section is None:
            return Serves()
        alerts: list[str] = []
        scenarios: list[str] = []
        symptoms: list[str] = []
        for item in section.items:
            match = _SERVES_ITEM.match(item.text)
            if not match or not match.group(2).strip():
                symptoms.append(item.text.strip())
                continue
            kind = match.group(1).lower()
            if kind.startswith("symptom"):
                symptoms.append(match.group(2).strip())
                continue
            names = [_clean_name(n) for n in re.split(r"[,\s]+", match.group(2))]
            (alerts if kind.startswith("alert") else scenarios).extend(n for n in names if n)
        return Serves(tuple(alerts), tuple(scenarios), tuple(symptoms))

    @property
    def verify_blocks(self) -> tuple[CodeBlock, ...]:
        section = self.section("verify")
        return section.runnable_blocks if section else ()


def _clean_name(text: str) -> str:
    return text.strip().strip("`*_'\"").rstrip(".;:").strip("`*_'\"")


def normalise_heading(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text.lower()).split())


def section_key(heading: str) -> str:
    norm = normalise_heading(heading)
    return _ALIAS_TO_KEY.get(norm, norm)


def parse_info(info: str) -> tuple[str, bool, dict[str, str]]:
    """``sh {run timeout=20s env=A}`` -> ("sh", True, {"timeout": "20s", "env": "A"})."""
    info = info.strip()
    language = re.split(r"[\s{]", info, maxsplit=1)[0].lower() if info else ""
    runnable = False
    attrs: dict[str, str] = {}
    brace = re.search(r"\{([^}]*)\}", info)
    if brace:
        for word in brace.group(1).split():
            if word == "run":
                runnable = True
            elif "=" in word:
                key, _, value = word.partition("=")
                attrs[key.strip().lower()] = value.strip().strip("\"'")
    return language, runnable, attrs


RUN_ATTRIBUTES = ("timeout", "env")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def info_problems(info: str) -> list[str]:
    """What is wrong with a fence's ``{run ...}`` attributes, in words; [] when it has none or they are right.

    ``parse_info`` reads leniently (a drill must not stop on a typo); the linter says what it could not use:
    an unclosed ``{run`` (the block is silently not run), unknown attributes, ``timeout=0s``, ``env=`` that
    names no variable. Braces without ``run``, ``timeout=`` or ``env=`` (``{.class}``) are someone else's.
    """
    start = info.find("{")
    if start < 0:
        return []
    end = info.find("}", start)
    body = info[start + 1:] if end < 0 else info[start + 1:end]
    words = body.split()
    ours = "run" in words or any(w.partition("=")[0].strip().lower() in RUN_ATTRIBUTES for w in words if "=" in w)
    if not ours:
        return []
    if end < 0:
        return ["unclosed '{': the block is not run as it stands (close the attributes with '}')"]
    if "run" not in words:
        return ["timeout= and env= are attributes of a {run} block, and this block has no 'run'"]
    problems: list[str] = []
    rest = info[end + 1:].strip()
    if rest:
        problems.append(f"text after the attributes: {rest[:40]!r}")
    seen: set[str] = set()
    for word in words:
        key, equals, value = word.partition("=")
        key = key.strip().lower()
        if key in seen:
            problems.append(f"'{key[:40]}' given twice")
            continue
        seen.add(key)
        if word == "run":
            continue
        if not equals:
            problems.append(f"'{word[:40]}' is not an attribute (run, timeout=DURATION, env=NAME,NAME)")
        elif key not in RUN_ATTRIBUTES:
            problems.append(f"unknown attribute '{key[:40]}' (known: run, timeout, env)")
        elif key == "timeout":
            problems.extend(_timeout_problem(value.strip("\"'")))
        else:
            value = value.strip("\"'")
            bad = [name for name in value.split(",") if not _VARIABLE.fullmatch(name)]
            if bad:
                problems.append(f"env={value[:60]}: not a list of variable names separated by commas "
                                f"(e.g. env=A,B): {', '.join(repr(b[:30]) for b in bad[:3])}")
    return problems


def _timeout_problem(text: str) -> list[str]:
    from gameday.scenario.durations import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        return [f"timeout={text[:40]}: {exc}"]
    return [] if seconds > 0 else [f"timeout={text[:40]}: must be more than 0s (the step would time out at once)"]


# --- reading ---------------------------------------------------------------------------------


def read_text(path: Path) -> tuple[str, list[Finding]]:
    """The file's text (capped, BOM dropped, CRLF made LF) and what went wrong reading it."""
    problems: list[Finding] = []
    try:
        raw = read_regular_file(path, limit=MAX_BYTES)
    except UnreadableFile as exc:
        return "", [Finding(path, 1, "unreadable", "error", exc.reason)]
    if len(raw) > MAX_BYTES:
        cut = raw.rfind(b"\n", 0, MAX_BYTES)
        raw = raw[: cut + 1 if cut > 0 else MAX_BYTES]
        problems.append(Finding(path, 1, "too-large", "warning",
                                f"file is over {MAX_BYTES // 1000} kB; only the first {len(raw)} bytes were read"))
    text, encoding_problem = decode(raw)
    if encoding_problem is not None:
        line, detail = encoding_problem
        problems.append(Finding(path, line, "encoding", "warning", detail))
    return text, problems


def decode(raw: bytes) -> tuple[str, tuple[int, str] | None]:
    """UTF-8 (a BOM is dropped); anything else is decoded with replacement characters and reported."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
        problem = None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        text = raw.decode("utf-8", errors="replace")
        problem = (line, f"not valid UTF-8 (first bad byte at offset {exc.start}); read with replacement characters")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, problem


def parse_file(path: Path) -> Runbook:
    text, problems = read_text(path)
    return parse_text(text, path=path, problems=problems)


def parse_text(text: str, *, path: Path = Path("<runbook>"), problems: Iterable[Finding] = ()) -> Runbook:
    """Parse Markdown text into a ``Runbook``; any failure of the Markdown parser becomes a finding."""
    found = list(problems)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = tuple(text.split("\n"))
    try:
        tokens = _tokens(text)
    except Exception as exc:  # noqa: BLE001 - third-party parser on arbitrary input: a finding, never a crash
        found.append(Finding(path, 1, "unparseable", "error", f"the Markdown parser gave up: {type(exc).__name__}"))
        tokens = []
    builder = _Builder(path, lines, tokens)
    try:
        builder.build()
    except Exception as exc:  # noqa: BLE001 - what was read so far is kept; the rest becomes a finding
        found.append(Finding(path, 1, "unparseable", "error", f"could not read the structure: {type(exc).__name__}"))
    return Runbook(
        path=path,
        name=path.stem,
        title=builder.title,
        title_line=builder.title_line,
        sections=tuple(builder.sections),
        steps=tuple(builder.steps),
        loose_blocks=tuple(builder.loose_blocks),
        links=tuple(builder.links),
        lines=lines,
        problems=tuple(found),
    )


def _tokens(text: str) -> list[Any]:
    from markdown_it import MarkdownIt

    return list(MarkdownIt("commonmark").parse(text))


# --- building the model from tokens ------------------------------------------------------------

_MARKER = re.compile(r"^\s*(?:>\s*)*(?:(?:[-*+]|\d{1,9}[.)])\s+)?")


class _Builder:
    """Walks markdown-it's flat token stream once, cutting it into sections and steps."""

    def __init__(self, path: Path, lines: tuple[str, ...], tokens: list[Any]) -> None:
        self.path = path
        self.lines = lines
        self.tokens = tokens
        self.title: str | None = None
        self.title_line: int | None = None
        self.sections: list[Section] = []
        self.steps: list[Step] = []
        self.loose_blocks: list[CodeBlock] = []
        self.links: list[Link] = []

    def build(self) -> None:
        # Cut at top-level h1/h2 headings; h3+ stay inside their section.
        i = 0
        n = len(self.tokens)
        current: tuple[str, int, list[Any]] | None = None
        while i < n:
            tok = self.tokens[i]
            if tok.type == "heading_open" and tok.level == 0 and tok.tag in ("h1", "h2"):
                heading = _inline_text(self.tokens[i + 1]) if i + 1 < n else ""
                line = _line(tok)
                self._collect_links(self.tokens[i + 1] if i + 1 < n else None)
                if current is not None:
                    self._finish_section(*current)
                    current = None
                if tok.tag == "h1":
                    if self.title is None:
                        self.title, self.title_line = heading.strip(), line
                else:
                    current = (heading, line, [])
                i += 3
                continue
            if current is not None:
                current[2].append(tok)
            else:
                self._collect_links(tok)
            i += 1
        if current is not None:
            self._finish_section(*current)

    def _collect_links(self, tok: Any) -> None:
        if tok is None or tok.type != "inline" or not tok.children:
            return
        line = _line(tok)
        offset = 0
        for child in tok.children:
            if child.type in ("softbreak", "hardbreak"):
                offset += 1
            elif child.type == "link_open":
                href = str(child.attrs.get("href", ""))
                self.links.append(Link(line + offset, href, ""))

    def _finish_section(self, heading: str, line: int, toks: list[Any]) -> None:
        key = section_key(heading)
        text: list[TextLine] = []
        items: list[TextLine] = []
        blocks: list[CodeBlock] = []
        for index, tok in enumerate(toks):
            self._collect_links(tok)
            if tok.type == "inline":
                text.extend(self._text_lines(tok))
            elif tok.type == "list_item_open":
                items.append(self._item_text(toks, index))
            elif tok.type in ("fence", "code_block"):
                blocks.append(_block(tok))
        self.sections.append(Section(key, heading.strip(), line, tuple(text), tuple(items), tuple(blocks)))
        if key == "steps" and not any(s.key == "steps" for s in self.sections[:-1]):
            self._cut_steps(toks)

    def _item_text(self, toks: list[Any], index: int) -> TextLine:
        """First line of the list item opened at ``toks[index]``."""
        for tok in toks[index + 1: index + 8]:
            if tok.type == "inline":
                return TextLine(_line(tok), _inline_text(tok).split("\n")[0].strip())
            if tok.type in ("list_item_close", "list_item_open"):
                break
        return TextLine(_line(toks[index]), "")

    def _text_lines(self, tok: Any) -> list[TextLine]:
        start, end = (tok.map or [0, 0])[:2]
        out: list[TextLine] = []
        for index in range(start, min(end, len(self.lines))):
            stripped = _MARKER.sub("", self.lines[index], count=1).strip()
            if stripped.startswith("#"):
                stripped = stripped.lstrip("#").strip()
            if stripped:
                out.append(TextLine(index + 1, stripped))
        return out

    def _cut_steps(self, toks: list[Any]) -> None:
        """A step starts at each top-level list item and at each h3+ heading in the Steps section.

        Content that follows a step at top level (a fence written flush left after ``1. Do X``, which
        ends the list in CommonMark) still belongs to that step, as a person means it.
        """
        current: dict[str, Any] | None = None
        list_depth = 0
        ordered_stack: list[bool] = []

        def close() -> None:
            nonlocal current
            if current is not None:
                self.steps.append(Step(
                    number=len(self.steps) + 1,
                    line=current["line"],
                    title=current["title"],
                    text=tuple(current["text"]),
                    blocks=tuple(current["blocks"]),
                    bullet=current["bullet"],
                ))
            current = None

        for i, tok in enumerate(toks):
            if tok.type in ("ordered_list_open", "bullet_list_open"):
                list_depth += 1
                ordered_stack.append(tok.type == "ordered_list_open")
                continue
            if tok.type in ("ordered_list_close", "bullet_list_close"):
                list_depth = max(0, list_depth - 1)
                if ordered_stack:
                    ordered_stack.pop()
                continue
            starts_item = tok.type == "list_item_open" and list_depth == 1
            starts_heading = tok.type == "heading_open" and list_depth == 0
            if starts_item or starts_heading:
                close()
                title = ""
                if starts_heading and i + 1 < len(toks):
                    title = _inline_text(toks[i + 1])
                elif starts_item:
                    title = self._item_text(toks, i).text
                current = {"line": _line(tok), "title": title.strip(), "text": [], "blocks": [],
                           "bullet": starts_item and not (ordered_stack and ordered_stack[-1])}
                continue
            if tok.type == "inline":
                if current is not None:
                    current["text"].extend(self._text_lines(tok))
            elif tok.type in ("fence", "code_block"):
                if current is not None:
                    current["blocks"].append(_block(tok))
                else:
                    self.loose_blocks.append(_block(tok))
        close()


def _line(tok: Any) -> int:
    return int(tok.map[0]) + 1 if tok.map else 1


def _block(tok: Any) -> CodeBlock:
    if tok.type == "code_block":  # indented code: no info string, never runnable
        return CodeBlock(_line(tok), "", False, str(tok.content))
    language, runnable, attrs = parse_info(str(tok.info or ""))
    return CodeBlock(_line(tok), language, runnable, str(tok.content), attrs, str(tok.info or ""))


def _inline_text(tok: Any) -> str:
    """Plain text of an inline token (code spans kept, markup dropped, soft breaks as newlines)."""
    if tok is None or tok.type != "inline":
        return ""
    if not tok.children:
        return str(tok.content)
    parts: list[str] = []
    for child in tok.children:
        if child.type in ("text", "code_inline"):
            parts.append(str(child.content))
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)
