"""Strict YAML 1.2 loading of rule files, keeping the file:line:col of every node.

Owns: turning bytes into plain Python data (dict / list / str / int / float / bool / None) plus a
position map, and refusing anything hostile or ambiguous:
- bounded work, whatever the input: a file over MAX_FILE_BYTES is refused before it is read; then
  one pass over the YAML event stream (no nodes built yet) refuses nesting deeper than MAX_DEPTH,
  more than MAX_NODES nodes, tags, anchors / aliases and directives, at the event where the limit is
  crossed; only then is the document composed (its depth now bounded, so no RecursionError);
- strings over MAX_STRING_CHARS; duplicate keys; tags (`!!python/object`, `!foo`, even `!!str`);
  anchors and aliases (a rule has no use for them, and refusing them makes billion-laughs
  expansion impossible); `%YAML` / `%TAG` directives (`%YAML 1.1` would turn `no` into false);
- YAML 1.2 core schema only, so `no` / `yes` stay strings, `2026-11-26` stays a string and a quoted
  `"012345"` stays a string (an unquoted 012345 is an int; the validators refuse ints for ids).
Every error reads `file:line:col: message` (1-based line and column).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.parser import Parser

#: Limits on one rule file. The largest shipped rule is under 7 KB, 7 levels deep and under 500
#: nodes; these leave ample room for a force's own rules while bounding the work a file can cause
#: (ruamel's scanner does work proportional to the nesting for every token, and its composer
#: recurses once per level: an unbounded file could hang `rules validate` or blow the stack).
MAX_FILE_BYTES = 256 * 1024  # 256 KiB
MAX_STRING_CHARS = 10_000
MAX_DEPTH = 32  # nested mappings / sequences, the top-level mapping included
MAX_NODES = 20_000  # scalars, mappings and sequences (keys included)

Path_ = tuple  # a path into the document: ("inputs", "gift", "where", "outcome|eq")


@dataclass
class Problem:
    """One problem found in a rule file: where, what, and how bad."""

    file: str
    line: int
    col: int
    message: str
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class RuleLoadError(ValueError):
    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


@dataclass
class Document:
    """A loaded rule file: plain data plus the position of every node by its path."""

    file: str
    data: Any
    positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: tuple | list) -> tuple[int, int]:
        """Line/col of the node at `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, (1, 1))

    def problem(self, path: tuple | list, message: str, severity: str = "error") -> Problem:
        line, col = self.where(path)
        return Problem(self.file, line, col, message, severity)


def _yaml() -> YAML:
    y = YAML(typ="safe", pure=True)
    y.version = (1, 2)
    y.allow_duplicate_keys = False
    return y


def _fail(file: str, node_or_mark: Any, message: str) -> RuleLoadError:
    mark = getattr(node_or_mark, "start_mark", node_or_mark)
    line = getattr(mark, "line", 0) + 1
    col = getattr(mark, "column", 0) + 1
    return RuleLoadError(Problem(file, line, col, message))


_CORE_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq", "tag:yaml.org,2002:timestamp",
}


class _Limits:
    """Refuses directives, tags, anchors and aliases, nesting deeper than MAX_DEPTH and more than
    MAX_NODES nodes, each at the event where it appears."""

    def __init__(self, text: str, file: str):
        self.text, self.file, self.depth, self.nodes = text, file, 0, 0

    def check(self, ev: Any) -> None:
        from ruamel.yaml.events import (AliasEvent, CollectionEndEvent, CollectionStartEvent,
                                        DocumentStartEvent, NodeEvent)

        file = self.file
        if isinstance(ev, DocumentStartEvent) and (
                getattr(ev, "tags", None) or getattr(ev, "version", None) not in (None, (1, 2))):
            # the event is at the '---'; point at the first directive line above it
            lines = self.text.split("\n", ev.start_mark.line + 1)[: ev.start_mark.line + 1]
            line = next((i for i, t in enumerate(lines) if t.startswith("%")), ev.start_mark.line)
            raise RuleLoadError(Problem(file, line + 1, 1, "YAML directives (%TAG, or %YAML other than 1.2) "
                                        "are not allowed in a rule file (rules are read as YAML 1.2 core)"))
        if isinstance(ev, AliasEvent):
            raise _fail(file, ev, "YAML anchors and aliases (&name / *name) are not allowed in a rule file")
        if not isinstance(ev, NodeEvent):
            if isinstance(ev, CollectionEndEvent):
                self.depth -= 1
            return
        if getattr(ev, "anchor", None) is not None:
            raise _fail(file, ev, "YAML anchors and aliases (&name / *name) are not allowed in a rule file")
        if getattr(ev, "tag", None) is not None:
            raise _fail(file, ev, "YAML tags are not allowed in a rule file (a rule is plain data)")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _fail(file, ev, f"more than {MAX_NODES:,} YAML nodes (values, keys, lists and "
                                  "mappings); a rule needs far fewer")
        if isinstance(ev, CollectionStartEvent):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise _fail(file, ev, f"nested deeper than {MAX_DEPTH} levels")


class _BoundedParser(Parser):
    """The parser the composer reads: every event is checked (_Limits) as the composer takes it,
    before a node is built from it, so a deep or huge file is refused at the event that crosses a
    limit, in the one parse (the parser is a state machine; the composer recurses only as deep as
    the events let it)."""

    def get_event(self) -> Any:
        ev = super().get_event()
        self.loader.limits.check(ev)
        return ev


def _yaml_error(file: str, e: Exception, text: str) -> RuleLoadError:
    """An unmarked ruamel error as a located problem (a ReaderError knows its character index)."""
    position, reason = getattr(e, "position", None), getattr(e, "reason", None)
    if isinstance(position, int) and 0 <= position <= len(text) and reason:
        line = text.count("\n", 0, position) + 1
        col = position - (text.rfind("\n", 0, position) + 1) + 1
        char = getattr(e, "character", None)
        shown = f" (character #x{ord(char):04x})" if isinstance(char, str) and len(char) == 1 else ""
        return RuleLoadError(Problem(file, line, col, f"not valid YAML: {reason}{shown}"))
    first = str(e).splitlines()[0] if str(e) else type(e).__name__
    return RuleLoadError(Problem(file, 1, 1, f"not valid YAML: {first}"))


def _walk(node: Node, path: tuple, doc: Document, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise _fail(doc.file, node, f"nested deeper than {MAX_DEPTH} levels")
    doc.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if node.tag not in _CORE_TAGS:
        raise _fail(doc.file, node, f"unsupported YAML tag {node.tag!r}")
    if isinstance(node, ScalarNode):
        if len(node.value) > MAX_STRING_CHARS:
            raise _fail(doc.file, node, f"value is {len(node.value):,} characters long; the limit is {MAX_STRING_CHARS:,}")
        return _construct_scalar(node, doc)
    if isinstance(node, SequenceNode):
        return [_walk(child, path + (i,), doc, depth + 1) for i, child in enumerate(node.value)]
    if isinstance(node, MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _fail(doc.file, key_node, "mapping keys must be plain strings")
            key = _construct_scalar(key_node, doc)
            if not isinstance(key, str):
                key = str(key) if not isinstance(key, bool) else ("true" if key else "false")
            if key in out:
                first = doc.positions.get(path + (key,), (0, 0))
                raise _fail(doc.file, key_node, f"duplicate key {key!r} (first defined at line {first[0]})")
            doc.positions[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _walk(value_node, path + (key,), doc, depth + 1)
            # keep the key's own position (more useful than the value's for "unknown key" errors)
            doc.positions[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return out
    raise _fail(doc.file, node, f"unsupported YAML node {type(node).__name__}")


def _construct_scalar(node: ScalarNode, doc: Document) -> Any:
    """YAML 1.2 core schema values (the resolver already picked the tag)."""
    tag, value = node.tag, node.value
    if tag in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"):
        return value  # dates stay strings ("2026-11-26"); the validators check their form
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return value.lower() == "true"
    text = value.replace("_", "")
    if tag == "tag:yaml.org,2002:float" and text.lower().endswith((".inf", ".nan")):
        raise _fail(doc.file, node, f"{value!r}: infinity and NaN are not allowed in a rule")
    try:
        if tag == "tag:yaml.org,2002:int":
            if text.lower().startswith(("0x", "+0x", "-0x")):
                return int(text, 16)
            if text.lower().startswith(("0o", "+0o", "-0o")):
                return int(text.replace("o", "").replace("O", ""), 8)
            return int(text, 10)
        if tag == "tag:yaml.org,2002:float":
            return float(text)
    except ValueError:
        raise _fail(doc.file, node, f"{value!r} is not a valid number") from None
    raise _fail(doc.file, node, f"unsupported scalar tag {tag!r}")


def load_text(text: str, file: str = "<string>") -> Document:
    """Parse one rule document from text. Raises RuleLoadError (file:line:col: message)."""
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_FILE_BYTES:
        raise RuleLoadError(Problem(file, 1, 1, f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}"))
    y = _yaml()
    y.Parser, y.limits = _BoundedParser, _Limits(text, file)  # bounded: checked event by event
    try:
        nodes = list(y.compose_all(text))
    except MarkedYAMLError as e:
        raise _fail(file, e.problem_mark or e.context_mark, f"not valid YAML: {e.problem}") from None
    except YAMLError as e:  # e.g. a ReaderError: a character YAML does not allow (NUL, ...)
        raise _yaml_error(file, e, text) from None
    if not nodes or nodes[0] is None:
        raise RuleLoadError(Problem(file, 1, 1, "the file is empty; a rule file holds one rule"))
    if len(nodes) > 1:
        raise _fail(file, nodes[1], "a rule file holds exactly one YAML document (found a second '---')")
    doc = Document(file=file, data=None)
    doc.data = _walk(nodes[0], (), doc, 0)
    if not isinstance(doc.data, dict):
        raise _fail(file, nodes[0], "a rule file must be a mapping (key: value) at the top level")
    return doc


def load_file(path: str | Path) -> Document:
    """Load one rule file; its size is checked before it is read (and again while reading it, in
    case it grows in between). Raises RuleLoadError."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise RuleLoadError(Problem(str(path), 1, 1, f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}"))
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise RuleLoadError(Problem(str(path), 1, 1, f"cannot read file: {e.strerror or e}")) from None
    if len(data) > MAX_FILE_BYTES:
        raise RuleLoadError(Problem(str(path), 1, 1, f"file is over {MAX_FILE_BYTES:,} bytes (the limit)"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RuleLoadError(Problem(str(path), 1, 1, f"not UTF-8 text ({e.reason} at byte {e.start})")) from None
    return load_text(text.replace("\r\n", "\n").replace("\r", "\n"), str(path))  # as read_text would
