"""Stack files: where a staging stack is and what in it may be faulted, owned apart from the scenarios.

    stacks/demo.yaml                       a scenario says ``stack: demo`` (or ``stack: {file: ../x.yaml}``)
      version: 1
      name: demo
      platform: docker                     the platform of the stack's containers (docker, compose, ...)
      environment: staging                 production refuses every fault without --allow-production
      toxiproxy / prometheus / alertmanager: {url: ...}     docker: {base_url: ...}
      endpoints:  {checkout: {url: http://127.0.0.1:18080}}   probes say {endpoint: checkout, path: /health}
      targets:    {postgres: {container: gameday-demo-postgres}, db-path: {proxy: postgres}, ...}
      allow:      {docker: [gameday-demo-postgres], toxiproxy: [postgres], postgres: [checkout], ...}
      platforms:  {compose: {...}}         settings a platform reads (``StackSpec.platform_settings``), checked
                                           by the platform's ``settings_model`` when it has one

A stack file is read by the same YAML reader as a scenario (same limits, same ``file:line:column: field:
message`` errors). Secrets are named by environment variable (``dsn_env``, ``url_env``), never written: a
URL with a password anywhere in a stack is an error. Only a stack file has ``allow:``; a scenario's inline
stack cannot approve its own targets.

Where ``stack: NAME`` is looked for, first found wins (``stack_file_candidates``):
``<scenario's folder>/stacks/NAME.yaml``, ``<scenario's folder>/../stacks/NAME.yaml``, ``./stacks/NAME.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from gameday.errors import ScenarioError, ScenarioErrors
from gameday.scenario.model import Name, StackSpec, _no_password
from gameday.scenario.yaml_source import FieldPath, SourceDocument, load_yaml_file

STACK_FOLDER = "stacks"
STACK_SUFFIXES = (".yaml", ".yml")
_STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


class StackFile(StackSpec):
    """A stack file: a stack, its version, its containers' platform, and the allowlist (empty: nothing allowed)."""

    version: Literal[1]
    platform: Name = Field("docker", description="the platform of the stack's containers: docker, compose, ...")
    allow: dict[Name, list[str]] | None = Field(
        default_factory=dict,
        description="what may be faulted, per platform: docker: container names, toxiproxy: proxies, postgres: "
                    "roles, redis: users, host: paths (a folder allows what is below it); names or globs")

    @field_validator("allow", mode="before")
    @classmethod
    def _null_allows_nothing(cls, value: Any) -> Any:
        # `allow:` with every entry commented out is null to YAML; it must allow nothing, never read as an
        # inline stack's "no allowlist" (which would let any labelled container be faulted).
        return {} if value is None else value


def stack_file_candidates(name: str, scenario_dir: Path, cwd: Path) -> list[Path]:
    """Where ``stack: <name>`` is looked for, in order."""
    folders = [scenario_dir / STACK_FOLDER, scenario_dir.parent / STACK_FOLDER, cwd / STACK_FOLDER]
    return [folder / f"{name}{suffix}" for folder in folders for suffix in STACK_SUFFIXES]


def stack_reference(raw: Any) -> tuple[str, str] | None:
    """``("name", "demo")`` for ``stack: demo``, ``("file", path)`` for ``stack: {file: path}``; None for an
    inline stack (a mapping without ``file``) or no stack."""
    if isinstance(raw, str):
        return ("name", raw)
    if isinstance(raw, dict) and "file" in raw:
        return ("file", raw["file"])
    return None


def url_secret_problems(doc: SourceDocument, data: Any, at: FieldPath) -> list[ScenarioError]:
    """Every string in ``data`` that is a URL with a password: secrets come from the environment."""
    problems = []
    for path, value in _strings(data, at):
        if "://" in value and "@" in value:
            try:
                _no_password(value)
            except ValueError as exc:
                problems.append(doc.error(path, str(exc)))
    return problems


def _strings(data: Any, at: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    if isinstance(data, str):
        yield at, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, (*at, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _strings(value, (*at, i))


def load_stack_file(path: Path, *, platforms: Any | None = None) -> StackFile:
    """Read and check one stack file; ScenarioErrors listing every problem, located in the stack file."""
    stack, _, problems = read_stack_file(path, platforms=platforms)
    if problems or stack is None:
        raise ScenarioErrors(problems)
    return stack


def read_stack_file(path: Path, *, platforms: Any | None = None) -> tuple[StackFile | None, Any, list[ScenarioError]]:
    """The stack (None if it does not validate), its raw data, and every problem found."""
    from gameday.platforms.registry import installed_platforms
    from gameday.scenario.loader import translate_errors

    try:
        doc = load_yaml_file(path)
    except ScenarioError as exc:
        return None, {}, [exc]
    if not isinstance(doc.data, dict):
        return None, {}, [doc.error((), "a stack file is a mapping of keys (version, name, targets, allow, ...)")]
    raw = dict(doc.data)
    raw.setdefault("name", path.stem)
    registry = platforms or installed_platforms()
    problems: list[ScenarioError] = []
    stack: StackFile | None = None
    try:
        stack = StackFile.model_validate(raw, context={"platforms": registry})
    except ValidationError as exc:
        problems.extend(translate_errors(doc, exc))
    known = {(p.field, p.message) for p in problems}
    for extra in url_secret_problems(doc, raw, ()) + _allow_problems(doc, raw, registry) + \
            platform_settings_problems(doc, raw, registry, ()):
        if (extra.field, extra.message) not in known:
            problems.append(extra)
    problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    if stack is not None and not problems:
        stack.from_file(str(path))
        return stack, raw, []
    return None, raw, problems


def _allow_problems(doc: SourceDocument, raw: dict[str, Any], registry: Any) -> list[ScenarioError]:
    """``allow:`` keys are installed platforms; ``platform:`` is one too."""
    problems = []
    allow = raw.get("allow")
    if isinstance(allow, dict):
        for key, entries in allow.items():
            if isinstance(key, str) and key not in registry:
                problems.append(doc.error(("allow", key), f"unknown platform '{key}' (known: "
                                                          f"{', '.join(registry.names())})"))
            elif isinstance(key, str) and isinstance(entries, list):
                problems.extend(_allow_entry_problems(doc, registry, key, entries))
    platform = raw.get("platform")
    if isinstance(platform, str) and platform not in registry:
        problems.append(doc.error(("platform",), f"unknown platform '{platform}' (known: {', '.join(registry.names())})"))
    return problems


def _allow_entry_problems(doc: SourceDocument, registry: Any, key: str, entries: list[Any]) -> list[ScenarioError]:
    """A platform that knows the shape of its allowlist entries (``ChecksAllowEntries``) checks each one."""
    from gameday.errors import GamedayError
    from gameday.platforms.base import ChecksAllowEntries

    try:
        platform = registry.get(key)
    except GamedayError:
        return []  # a platform that does not load is reported where its settings or targets are read
    if not isinstance(platform, ChecksAllowEntries):
        return []
    problems = []
    for i, entry in enumerate(entries):
        problem = platform.allow_entry_problem(entry) if isinstance(entry, str) else None
        if problem is not None:
            problems.append(doc.error(("allow", key, i), problem))
    return problems


def platform_settings_problems(doc: SourceDocument, raw: dict[str, Any], registry: Any,
                               at: FieldPath) -> list[ScenarioError]:
    """``platforms.<name>``: an installed platform, and its settings as its own ``settings_model`` (a pydantic
    model, optional) reads them."""
    from gameday.errors import GamedayError
    from gameday.scenario.loader import translate_errors

    settings = raw.get("platforms")
    problems: list[ScenarioError] = []
    for name, values in settings.items() if isinstance(settings, dict) else ():
        where: FieldPath = (*at, "platforms", name)
        try:
            platform = registry.get(name)
        except GamedayError as exc:
            problems.append(doc.error(where, str(exc)))
            continue
        model = getattr(platform, "settings_model", None)
        if model is not None and isinstance(values, dict):
            try:
                model.model_validate(values)
            except ValidationError as exc:
                problems.extend(translate_errors(doc, exc, prefix=where))
    return problems


def find_stack_file(doc: SourceDocument, raw: Any, cwd: Path | None = None) -> tuple[Path | None, ScenarioError | None]:
    """The stack file a scenario's ``stack:`` names, or the located error saying why there is none."""
    kind, value = stack_reference(raw) or ("", None)
    at: FieldPath = ("stack",) if kind == "name" else ("stack", "file")
    if not isinstance(value, str) or not value:
        return None, doc.error(at, "a stack file is named by a non-empty string")
    if kind == "file":
        if isinstance(raw, dict) and set(raw) != {"file"}:
            extra = sorted(str(k) for k in raw if k != "file")
            return None, doc.error(("stack", extra[0]), "unknown key: a stack given by file has only file:")
        path = Path(value)
        path = path if path.is_absolute() else doc.path.parent / path
        if not path.is_file():
            return None, doc.error(at, f"no stack file at {path}")
        return path, None
    if not _STACK_NAME.fullmatch(value):
        return None, doc.error(at, f"a stack's name is letters, digits, '.', '_' and '-' (got {value[:100]!r}); "
                                   "give a path as stack: {file: PATH}")
    candidates = stack_file_candidates(value, doc.path.parent, cwd or Path.cwd())
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        looked = ", ".join(str(c) for c in candidates if c.suffix == ".yaml")
        return None, doc.error(at, f"no stack file '{value}' (looked for {looked})")
    return found, None


def resolve_stack(doc: SourceDocument, *, platforms: Any | None = None,
                  cwd: Path | None = None) -> tuple[StackSpec | None, Any, list[ScenarioError]]:
    """The scenario's stack: read from the stack file it names, or its inline ``stack:`` checked (no ``allow:``,
    no password in a URL). Returns the stack (None when it has problems), its raw data and the problems."""
    from gameday.platforms.registry import installed_platforms
    from gameday.scenario.loader import translate_errors

    data: dict[str, Any] = doc.data
    raw = data.get("stack", {})
    if stack_reference(raw) is not None:
        path, problem = find_stack_file(doc, raw, cwd)
        if problem is not None or path is None:
            return None, {}, [problem] if problem else []
        return read_stack_file(path, platforms=platforms)
    if not isinstance(raw, dict):
        return None, {}, [doc.error(("stack",), f"stack is a stack file's name or a mapping, not {type(raw).__name__}")]
    registry = platforms or installed_platforms()
    problems: list[ScenarioError] = []
    stack: StackSpec | None = None
    try:
        stack = StackSpec.model_validate(raw, context={"platforms": registry})
    except ValidationError as exc:
        problems.extend(translate_errors(doc, exc, prefix=("stack",)))
    if "allow" in raw:
        problems.append(doc.error(("stack", "allow"), "a scenario cannot approve its own targets: put the stack and its "
                                                      "allowlist in a stack file (stacks/<name>.yaml) and write "
                                                      "stack: <name>"))
    known = {(p.field, p.message) for p in problems}
    extra = url_secret_problems(doc, raw, ("stack",)) + platform_settings_problems(doc, raw, registry, ("stack",))
    problems.extend(p for p in extra if (p.field, p.message) not in known)
    return (stack if not problems else None), raw, problems


def target_approval_problems(doc: SourceDocument, stack: StackSpec, *, platforms: Any | None = None) -> list[ScenarioError]:
    """At each fault's ``target`` line: a target the stack file's allowlist does not name, or, in an inline
    stack, a target whose platform has no opt-in of its own (the label of a container is checked at run time)."""
    from gameday.errors import GamedayError
    from gameday.platforms.base import allowlist_matches
    from gameday.platforms.registry import installed_platforms

    registry = platforms or installed_platforms()
    problems = []
    faults = doc.data.get("faults")
    for i, fault in enumerate(faults if isinstance(faults, list) else []):
        name = fault.get("target") if isinstance(fault, dict) else None
        target = stack.targets.get(name) if isinstance(name, str) else None
        if target is None:
            continue
        try:
            platform = registry.get(target.platform)
        except GamedayError:
            continue
        at: FieldPath = ("faults", i, "target")
        if stack.allow is not None:
            allow_name = getattr(platform, "allow_name", None)
            wanted = allow_name(target) if callable(allow_name) else None
            if wanted is not None and not allowlist_matches(stack.allow.get(target.platform, []), wanted):
                where = f" in {stack.source}" if stack.source else ""
                problems.append(doc.error(at, f"target '{name}' ({target.selector}) is not allowed by stack "
                                              f"'{stack.name}': its allow.{target.platform}{where} does not list "
                                              f"{wanted}"))
        elif getattr(platform, "opt_in", None) == "":
            problems.append(doc.error(at, f"target '{name}' ({target.selector}) is on platform '{target.platform}', "
                                          "which has no opt-in of its own: an inline stack cannot approve it; name a "
                                          f"stack file (stack: <name>) whose allow.{target.platform} lists it"))
    return problems
