"""Read YAML into plain data while remembering where each value stood in the file.

PyYAML's composer gives us nodes with positions; we build the Python values ourselves so that we can
refuse what PyYAML would accept silently (duplicate keys) and stop what would never finish
(an alias bomb expands into billions of nodes; we count while we build and stop early).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gameday.errors import ScenarioError, UnreadableFile
from gameday.userfiles import read_regular_file

MAX_FILE_BYTES = 1_000_000
MAX_NODES = 20_000
"""A large real scenario has a few thousand values; more is an alias bomb, refused well under a second."""

_PLAIN_TAGS: dict[type, str] = {yaml.MappingNode: "tag:yaml.org,2002:map", yaml.SequenceNode: "tag:yaml.org,2002:seq"}

Location = tuple[int, int]  # 1-based line and column
FieldPath = tuple[str | int, ...]


@dataclass
class SourceDocument:
    """A YAML document's data plus a map from each field path to its position in the file."""

    path: Path
    data: Any
    locations: dict[FieldPath, Location] = field(default_factory=dict)

    def locate(self, field_path: FieldPath) -> Location | None:
        """Position of the deepest known prefix of ``field_path`` (a missing key points at its parent)."""
        for end in range(len(field_path), -1, -1):
            found = self.locations.get(tuple(field_path[:end]))
            if found is not None:
                return found
        return None

    def error(self, field_path: FieldPath, message: str) -> ScenarioError:
        where = self.locate(field_path)
        return ScenarioError(
            message,
            path=self.path,
            line=where[0] if where else None,
            column=where[1] if where else None,
            field=format_field_path(field_path),
        )


def format_field_path(field_path: FieldPath) -> str:
    out = ""
    for part in field_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pos(node: yaml.Node) -> Location:
    return node.start_mark.line + 1, node.start_mark.column + 1


def load_yaml_file(path: Path) -> SourceDocument:
    """Read one YAML file; every failure is a ScenarioError naming the file and, where known, the line."""
    try:
        raw = read_regular_file(path, limit=MAX_FILE_BYTES)
    except UnreadableFile as exc:
        raise ScenarioError(exc.reason, path=path) from None
    if len(raw) > MAX_FILE_BYTES:
        size = path.stat().st_size
        raise ScenarioError(
            f"file is {size / 1e6:.1f} MB; a scenario may be at most {MAX_FILE_BYTES // 1000} kB", path=path
        )
    if b"\x00" in raw:
        raise ScenarioError("binary data, not YAML text", path=path, line=raw[: raw.index(b"\x00")].count(b"\n") + 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError("not UTF-8 text", path=path, line=line) from None
    return load_yaml_text(text, path)


def load_yaml_text(text: str, path: Path) -> SourceDocument:
    if not text.strip() or all(ln.lstrip().startswith("#") or not ln.strip() for ln in text.splitlines()):
        raise ScenarioError("file is empty; a scenario starts with 'version: 1'", path=path, line=1)
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        if "\\t" in problem or "'\\t'" in problem or "tab" in problem.lower():
            problem = "tab character in indentation; YAML indents with spaces"
        raise ScenarioError(
            f"invalid YAML: {problem}",
            path=path,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"invalid YAML: {exc}", path=path) from None
    except RecursionError:
        raise ScenarioError("invalid YAML: nested too deeply", path=path) from None
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        raise ScenarioError("file is empty; a scenario starts with 'version: 1'", path=path, line=1)
    if len(nodes) > 1:
        line, col = _pos(nodes[1])
        raise ScenarioError("more than one YAML document; put one scenario in each file", path=path, line=line, column=col)
    doc = SourceDocument(path=path, data=None)
    try:
        doc.data = _Builder(doc).build(nodes[0], ())
    except RecursionError:
        raise ScenarioError("nested too deeply", path=path) from None
    return doc


class _Builder:
    def __init__(self, doc: SourceDocument) -> None:
        self.doc = doc
        self.count = 0
        self.constructor = yaml.SafeLoader("")

    def _fail(self, node: yaml.Node, path: FieldPath, message: str) -> ScenarioError:
        line, col = _pos(node)
        return ScenarioError(message, path=self.doc.path, line=line, column=col, field=format_field_path(path))

    def build(self, node: yaml.Node, path: FieldPath) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self._fail(
                node, path, f"document expands to more than {MAX_NODES} values (a YAML alias bomb?); refusing it"
            )
        self.doc.locations.setdefault(path, _pos(node))
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag != _PLAIN_TAGS[type(node)]:
            # PyYAML's own constructors would run these (!!python/object/apply); we would silently drop them.
            raise self._fail(node, path, f"YAML tag {node.tag[:100]!r} is not allowed on a "
                                         f"{'mapping' if isinstance(node, yaml.MappingNode) else 'list'}")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: FieldPath) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            problem = " ".join(str(getattr(exc, "problem", None) or exc).split())  # one line, not PyYAML's marks
            raise self._fail(node, path, f"invalid value: {problem}") from None
        except Exception as exc:  # noqa: BLE001 - PyYAML's scalar constructors raise plain errors for bad input
            # e.g. 2026-02-30 (resolved as a timestamp: ValueError) or `!!bool maybe` (KeyError).
            kind = str(node.tag).rsplit(":", 1)[-1]
            reason = "" if isinstance(exc, KeyError) else f": {exc}"
            raise self._fail(node, path, f"invalid {kind} {node.value!r}{reason} (quote it to keep it text)") from None

    def _mapping(self, node: yaml.MappingNode, path: FieldPath) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                # '<<: *defaults' merges a mapping (or a list of them); explicit keys win.
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for src in sources:
                    value = self.build(src, path)
                    if not isinstance(value, dict):
                        raise self._fail(src, path, "'<<' merges only mappings")
                    for k, v in value.items():
                        merged.setdefault(k, v)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._fail(key_node, path, "a key must be a plain value, not a list or mapping")
            key = self._scalar(key_node, path)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise self._fail(key_node, path, f"unsupported key {key!r}")
            key = str(key) if not isinstance(key, str) else key
            if key in result:
                raise self._fail(key_node, (*path, key), f"duplicate key '{key}'")
            self.doc.locations[(*path, key)] = _pos(key_node)
            result[key] = self.build(value_node, (*path, key))
            # A value's position is better than its key's for errors about the value itself.
            if not isinstance(value_node, (yaml.MappingNode, yaml.SequenceNode)):
                self.doc.locations[(*path, key)] = _pos(value_node)
        for k, v in merged.items():
            result.setdefault(k, v)
        return result
