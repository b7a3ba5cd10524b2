"""Lint runbooks: findings with file, line, rule and severity. Never raises on a runbook's content.

Rules (id, severity, what it finds) are listed in ``RULES`` and in docs/runbooks.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from gameday.runbooks import commands
from gameday.runbooks.dangerous import dangerous_commands
from gameday.runbooks.envfilter import referenced_secret_names
from gameday.runbooks.findings import Finding, Severity
from gameday.runbooks.parse import SHELL_LANGUAGES, CodeBlock, Runbook, info_problems, parse_file

RULES: dict[str, tuple[Severity, str]] = {
    "missing-title": ("error", "no `# Title` heading"),
    "missing-section": ("error", "a required section (Serves, Steps) is missing; Severity and Rollback: warning"),
    "duplicate-section": ("warning", "the same section appears twice; only the first is used"),
    "no-steps": ("error", "the Steps section has no numbered list items"),
    "step-no-action": ("error", "a step says nothing to do: empty, or only 'TBD', 'investigate', 'fix it' ..."),
    "bullet-step": ("warning", "a step is a bullet, not a numbered item"),
    "block-outside-step": ("warning", "a code block in Steps before the first step: never run, easy to miss"),
    "command-outside-fence": ("warning", "a shell command in the prose of Steps or Verify, not in a fenced block"),
    "placeholder": ("error", "TODO, FIXME, XXX, TBD, <TODO>, <your-service> and other <angle> placeholders"),
    "unknown-container": ("error", "a docker command names a container the stack does not have"),
    "unknown-host": ("warning", "a command talks to a host that is not loopback or a known host"),
    "no-verification": ("error", "no Verify section, or an empty one"),
    "no-escalation": ("error", "no Escalate section, or one without a trigger"),
    "dead-link": ("error", "a relative link points at a file that does not exist"),
    "runnable-language": ("error", "a {run} block in a language the executor does not run (sh, bash)"),
    "bad-block-attribute": ("error", "a {run} block's attributes: unclosed, unknown, timeout= not above 0s, bad env="),
    "dangerous-command": ("error", "a {run} block deletes /, wipes a disk, stops the machine, runs downloaded code"),
    "prompt-in-runnable": ("error", "a runnable block line starts with '$ ' (the prompt would be run)"),
    "secret-not-granted": ("warning", "a runnable block uses a secret variable it is not granted with env="),
    "not-executable": ("warning", "no step has a runnable block: a drill cannot check this runbook"),
    "encoding": ("warning", "the file is not valid UTF-8"),
    "too-large": ("warning", "the file is too large; only its start was read"),
    "unreadable": ("error", "the file cannot be read"),
    "unparseable": ("error", "the Markdown could not be read"),
    "internal-error": ("error", "a check of the linter itself failed on this file (a bug: please report it)"),
}

REQUIRED_SECTIONS: dict[str, Severity] = {
    "serves": "error", "steps": "error", "severity": "warning", "rollback": "warning",
}
_SECTION_TITLES = {"serves": "Serves", "steps": "Steps", "severity": "Severity", "rollback": "Rollback",
                   "verify": "Verify", "escalate": "Escalate"}

_VAGUE = frozenset(
    {"", "tbd", "todo", "n a", "na", "none", "investigate", "fix", "fix it", "check", "look into it", "debug",
     "do the thing", "figure it out", "see above", "see below", "etc", "wip"}
)
_PLACEHOLDER_WORD = re.compile(r"\b(TODO|FIXME|XXX|TBD)\b")
_ANGLE = re.compile(r"<([A-Za-z][A-Za-z0-9_\-]*)>")
_HTML_TAGS = frozenset(
    [
        "a", "abbr", "address", "area", "article", "aside", "audio", "b", "base", "bdi", "bdo", "blockquote",
        "body", "br", "button", "canvas", "caption", "cite", "code", "col", "colgroup", "data", "datalist",
        "dd", "del", "details", "dfn", "dialog", "div", "dl", "dt", "em", "embed", "fieldset", "figcaption",
        "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hr", "html", "i",
        "iframe", "img", "input", "ins", "kbd", "label", "legend", "li", "link", "main", "map", "mark", "menu",
        "meta", "meter", "nav", "noscript", "object", "ol", "optgroup", "option", "output", "p", "param",
        "picture", "pre", "progress", "q", "rp", "rt", "ruby", "s", "samp", "script", "section", "select",
        "small", "source", "span", "strike", "strong", "style", "sub", "summary", "sup", "table", "tbody", "td",
        "template", "textarea", "tfoot", "th", "thead", "time", "title", "tr", "track", "u", "ul", "var",
        "video", "wbr", "center", "font", "big", "tt"
    ]
)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*:", re.IGNORECASE)


@dataclass
class LintOptions:
    containers: tuple[str, ...] = commands.DEMO_CONTAINERS
    hosts: tuple[str, ...] = commands.LOCAL_HOSTS
    extra_containers: tuple[str, ...] = field(default_factory=tuple)


def lint_paths(paths: Iterable[Path], options: LintOptions | None = None) -> list[Finding]:
    """Lint every ``*.md`` in the given files and folders (folders are searched recursively)."""
    findings: list[Finding] = []
    for path in runbook_files(paths):
        findings.extend(lint_file(path, options))
    return findings


NOT_RUNBOOKS = frozenset({"readme.md", "index.md"})
"""Skipped when a folder is searched (they describe the folder); named explicitly, they are linted."""


def runbook_files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*.md") if p.is_file() and p.name.lower() not in NOT_RUNBOOKS))
        else:
            out.append(path)
    return out


def lint_file(path: Path, options: LintOptions | None = None) -> list[Finding]:
    return lint(parse_file(path), options)


def lint(runbook: Runbook, options: LintOptions | None = None) -> list[Finding]:
    """Every finding for one parsed runbook, sorted by line."""
    opts = options or LintOptions()
    out: list[Finding] = list(runbook.problems)
    if any(f.rule in ("unreadable",) for f in out):
        return out
    add = _Adder(runbook.path, out)
    checks: list[tuple[str, Callable[[], None]]] = [
        ("structure", lambda: _structure(runbook, add)),
        ("steps", lambda: _steps(runbook, add)),
        ("placeholders", lambda: _placeholders(runbook, add)),
        ("prose commands", lambda: _prose_commands(runbook, add)),
        ("code blocks", lambda: _blocks(runbook, add, opts)),
        ("links", lambda: _links(runbook, add)),
    ]
    for what, check in checks:
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - a bug of ours must not hide the other findings
            add(1, "internal-error", f"the {what} check failed ({type(exc).__name__}: {exc}); please report it")
    return sorted(out, key=lambda f: (f.line, f.rule))


class _Adder:
    def __init__(self, path: Path, out: list[Finding]) -> None:
        self.path = path
        self.out = out

    def __call__(self, line: int, rule: str, message: str, severity: Severity | None = None) -> None:
        self.out.append(Finding(self.path, max(1, line), rule, severity or RULES[rule][0], message))


def _structure(runbook: Runbook, add: _Adder) -> None:
    if runbook.title is None:
        add(1, "missing-title", "no `# Title` heading: start the runbook with one")
    seen: set[str] = set()
    for section in runbook.sections:
        if section.key in _SECTION_TITLES and section.key in seen:
            add(section.line, "duplicate-section", f"second '## {section.heading}' section; only the first one is used")
        seen.add(section.key)
    end = max(1, len(runbook.lines))
    for key, severity in REQUIRED_SECTIONS.items():
        if runbook.section(key) is None:
            add(end, "missing-section", f"no '## {_SECTION_TITLES[key]}' section", severity)
    verify = runbook.section("verify")
    if verify is None:
        add(end, "no-verification", "no '## Verify' section: say how to tell the service is back")
    elif verify.is_empty:
        add(verify.line, "no-verification", "the Verify section is empty")
    escalate = runbook.section("escalate")
    if escalate is None:
        add(end, "no-escalation", "no '## Escalate' section: say when to call for help and whom")
    elif not any(_normalise(t.text) not in _VAGUE for t in escalate.text):
        add(escalate.line, "no-escalation", "the Escalate section names no trigger")


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text.lower()).split())


def _steps(runbook: Runbook, add: _Adder) -> None:
    section = runbook.section("steps")
    if section is None:
        return
    if not runbook.steps:
        add(section.line, "no-steps", "the Steps section has no numbered steps")
    for step in runbook.steps:
        if not step.blocks and _normalise(step.prose) in _VAGUE:
            shown = step.prose[:40] or "empty"
            add(step.line, "step-no-action", f"step {step.number} says nothing to do ({shown!r})")
        if step.bullet:
            add(step.line, "bullet-step", f"step {step.number} is a bullet; number the steps (1., 2., ...)")
    for block in runbook.loose_blocks:
        add(block.line, "block-outside-step", "code block before the first step: put it under a numbered step")
    if runbook.steps and not any(step.runnable_blocks for step in runbook.steps):
        add(section.line, "not-executable", "no step has a ```sh {run} block; a drill cannot check that it works")


def _placeholders(runbook: Runbook, add: _Adder) -> None:
    for index, line in enumerate(runbook.lines, start=1):
        if len(line) > 10_000:  # a minified blob: not where people leave TODOs, and slow to scan
            line = line[:10_000]
        word = _PLACEHOLDER_WORD.search(line)
        if word:
            add(index, "placeholder", f"placeholder '{word.group(1)}' left in")
            continue
        for match in _ANGLE.finditer(line):
            name = match.group(1)
            if name.lower() in _HTML_TAGS:
                continue
            add(index, "placeholder", f"placeholder '<{name}>' left in: write the real name")
            break


_ACTION_SECTIONS = ("steps", "verify")
"""Where prose commands are findings; elsewhere (Escalate, Rollback) a command may be named in passing."""


def _prose_commands(runbook: Runbook, add: _Adder) -> None:
    seen: set[int] = set()
    for section in runbook.sections:
        if section.key not in _ACTION_SECTIONS:
            continue
        for text in section.text:
            if text.line in seen:
                continue
            if commands.looks_like_command(text.text.replace("`", "")) or any(
                commands.looks_like_command(span) for span in commands.inline_code(text.text)
            ):
                seen.add(text.line)
                add(text.line, "command-outside-fence",
                    "a command in prose: put it in a fenced ```sh block (add {run} if a drill may run it)")


def _all_blocks(runbook: Runbook) -> list[CodeBlock]:
    blocks: list[CodeBlock] = list(runbook.loose_blocks)
    for section in runbook.sections:
        blocks.extend(section.blocks)
    return _unique(blocks)


def _unique(blocks: list[CodeBlock]) -> list[CodeBlock]:
    seen: set[int] = set()
    out = []
    for block in blocks:
        if block.line not in seen:
            seen.add(block.line)
            out.append(block)
    return out


def _blocks(runbook: Runbook, add: _Adder, opts: LintOptions) -> None:
    known_containers = set(opts.containers) | set(opts.extra_containers)
    known_hosts = {h.lower() for h in opts.hosts}
    code_sources: list[tuple[int, str, bool]] = []  # (first line, code, is a fenced block)
    for block in _all_blocks(runbook):
        for problem in info_problems(block.info):
            add(block.line, "bad-block-attribute", problem)
        if block.runnable:
            _runnable_block(block, add)
        if block.language in SHELL_LANGUAGES:
            _dangers(block, add)
        code_sources.append((block.line + 1, block.code, True))
    for section in runbook.sections:
        for text in section.text:
            for span in commands.inline_code(text.text):
                code_sources.append((text.line, span, False))
            if commands.looks_like_command(text.text):
                code_sources.append((text.line, text.text.removeprefix("$ "), False))
    for first_line, code, fenced in code_sources:
        for ref in commands.docker_containers(code):
            name = ref.name.lstrip("/")
            if name not in known_containers:
                add(first_line + (ref.line_offset if fenced else 0), "unknown-container",
                    f"container '{name}' is not in the stack (known: {', '.join(sorted(known_containers))})")
        for ref in commands.hosts(code):
            if ref.name not in known_hosts:
                add(first_line + (ref.line_offset if fenced else 0), "unknown-host",
                    f"host '{ref.name}' is not part of the stack (only loopback is)")


def _runnable_block(block: CodeBlock, add: _Adder) -> None:
    if block.language not in SHELL_LANGUAGES:
        add(block.line, "runnable-language", f"{{run}} on a '{block.language}' block; only sh and bash are run")
    for line, text in block.code_lines:
        if text.lstrip().startswith("$ "):
            add(line, "prompt-in-runnable", "line starts with '$ ': drop the prompt, the line is run as written")
            break
    granted = set(block.env_grants)
    for name in referenced_secret_names(block.code):
        if name not in granted:
            add(block.line, "secret-not-granted",
                f"${name} is secret-looking and stripped from commands; grant it with {{run env={name}}}")


def _dangers(block: CodeBlock, add: _Adder) -> None:
    """A drill runs {run} blocks on the harness's machine: an error there; elsewhere a person may still run
    the block from the facilitator's checklist, so a warning."""
    severity: Severity = "error" if block.runnable else "warning"
    where = "a {run} block" if block.runnable else "a block a person may run"
    for danger in dangerous_commands(block.code):
        add(block.line + 1 + danger.line_offset, "dangerous-command", f"dangerous command in {where}: {danger.message}",
            severity)


def _links(runbook: Runbook, add: _Adder) -> None:
    base = runbook.path.parent
    for link in runbook.links:
        href = link.href.strip()
        if not href or href.startswith(("#", "/", "//")) or _SCHEME.match(href):
            continue
        target = unquote(href.split("#", 1)[0].split("?", 1)[0])
        if not target:
            continue
        try:
            exists = (base / target).exists()
        except (OSError, ValueError):
            exists = False
        if not exists:
            add(link.line, "dead-link", f"link to '{target}' which does not exist (relative to {base})")
