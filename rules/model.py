"""The authoring model of a rule: plain dataclasses built from a schema-valid rule document.

Owns: Rule, Input, Condition, ValueRef, Compare, Match, Param, Alert, RuleTest, and `from_document`
(which assumes the JSON Schema already passed; semantic checks live in rules.validate).
Every object keeps `path`, its position in the document, so problems can name file:line:col.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from rules.loader import Document

OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "startswith", "exists",
       "weekday_in", "multiple_of", "keywords")  # keywords: only from an input's `keywords` block
MATCH_KINDS = ("single", "join", "sequence", "absent", "aggregate", "peers")
#: alert levels, most severe first (the schema's `level` enum): queue order, report counts, reliance
LEVELS = ("critical", "high", "medium", "low", "informational")
#: what a `peers` finding carries besides its rows: its value and its peer group's baseline (the
#: others: every member of the group but the flagged one), for titles ({value}, {peers.mean}) and evidence
PEER_FIGURES = ("value", "peers.group", "peers.count", "peers.mean", "peers.sd", "peers.threshold")


@dataclass(frozen=True)
class ValueRef:
    """A structured value: {param}, {field (+offset_days | times)} or {period (+offset_days)}."""

    kind: str  # param | field | period
    name: str  # param name, field name, or start|end
    offset_days: "Num | None" = None
    times: "Num | None" = None

    def to_json(self) -> dict:
        out: dict[str, Any] = {self.kind: self.name}
        if self.offset_days is not None:
            out["offset_days"] = num_json(self.offset_days)
        if self.times is not None:
            out["times"] = num_json(self.times)
        return out


Num = Union[int, float, ValueRef]  # a number or {param: name}


def num_json(v: Num) -> Any:
    return v.to_json() if isinstance(v, ValueRef) else v


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any  # literal, list of literals, or ValueRef
    path: tuple = ()
    fields: tuple[str, ...] = ()  # op keywords: every field searched (`field` is the first)


@dataclass(frozen=True)
class Input:
    alias: str
    register: str
    where: tuple[Condition, ...] = ()
    where_any: tuple[tuple[Condition, ...], ...] = ()
    path: tuple = ()


@dataclass(frozen=True)
class Compare:
    left: tuple[str, str]  # (alias, field)
    op: str
    right: tuple[str, str]
    offset_days: Num | None = None
    path: tuple = ()
    blank: str | None = None  # None = not said (behaves as not_evaluable); "open": the period is still running


@dataclass(frozen=True)
class Having:
    function: str  # count | sum | distinct
    field: str | None
    op: str
    value: Num
    path: tuple = ()


@dataclass(frozen=True)
class Match:
    kind: str
    on: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> alias -> field
    compare: tuple[Compare, ...] = ()
    dates: dict[str, str] = field(default_factory=dict)  # sequence: alias -> date field
    within_days: Num | None = None
    order: str = "any"
    first: str | None = None
    then: str | None = None
    present: tuple[str, ...] = ()  # absent: the inputs joined into each candidate finding
    missing: tuple[tuple[str, ...], ...] = ()  # absent: groups of inputs (joined within a group) none may match it
    group_by: tuple[str, ...] = ()
    date: str | None = None
    having: tuple[Having, ...] = ()
    measure: Having | None = None  # peers: count | distinct(field) per group (op / value unused)
    peers_by: tuple[str, ...] = ()  # peers: qualified fields naming each group's peer group
    zscore: Num | None = None  # peers: flagged above the others' mean + zscore * max(sd, 1)
    min_value: Num | None = None  # peers: and at or above this value
    min_peers: Num | None = None  # peers: only among at least this many others

    @property
    def missing_inputs(self) -> tuple[str, ...]:
        return tuple(a for group in self.missing for a in group)


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any
    description: str = ""


@dataclass(frozen=True)
class Alert:
    title: str
    dedup: tuple[tuple[str, str], ...]
    subject: tuple[str, str] | None = None
    fields: tuple[tuple[str, str], ...] = ()
    runbook: str = ""


@dataclass(frozen=True)
class RuleTest:
    name: str
    given: dict[str, list[dict]]
    expect: list[dict[str, list[int]]]
    period: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    path: tuple = ()


@dataclass
class Rule:
    id: str
    name: str
    title: str
    description: str
    status: str
    level: str
    inputs: dict[str, Input]
    match: Match
    params: dict[str, Param]
    alert: Alert
    tests: list[RuleTest]
    author: str = ""
    date: str | None = None
    modified: str | None = None
    references: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    falsepositives: list[str] = field(default_factory=list)
    doc: Document | None = None

    @property
    def file(self) -> str:
        return self.doc.file if self.doc else "<rule>"

    @property
    def registers(self) -> list[str]:
        return sorted({i.register for i in self.inputs.values()})


def _ref(v: Any) -> Any:
    """A dict value becomes a ValueRef; lists and literals stay as they are."""
    if not isinstance(v, dict):
        return v
    for kind in ("param", "field", "period"):
        if kind in v:
            return ValueRef(kind, v[kind], _ref(v.get("offset_days")), _ref(v.get("times")))
    raise ValueError(f"not a value reference: {v!r}")


def _conditions(raw: dict, path: tuple) -> tuple[Condition, ...]:
    out = []
    for key, value in raw.items():
        fname, op = key.split("|", 1)
        out.append(Condition(fname, op, _ref(value), path + (key,)))
    return tuple(out)


def _keywords(raw: dict | None, path: tuple) -> tuple[Condition, ...]:
    """An input's `keywords` block as one condition of its `where` (any word in any field)."""
    if not raw:
        return ()
    fields = tuple(raw["fields"])
    return (Condition(fields[0], "keywords", list(raw["any"]), path, fields),)


def _names(value: str | list[str] | None) -> tuple[str, ...]:
    """`present`: one input name or a list of them."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _groups(value: str | list | None) -> tuple[tuple[str, ...], ...]:
    """`missing`: one input name, or a list of names and of groups (lists of names joined together)."""
    if value is None:
        return ()
    return ((value,),) if isinstance(value, str) else tuple(_names(v) for v in value)


def _qualified(text: str) -> tuple[str, str]:
    alias, fname = text.split(".", 1)
    return alias, fname


def from_document(doc: Document) -> Rule:
    """Build the model from a document that passed the JSON Schema."""
    d = doc.data
    inputs = {
        alias: Input(alias, spec["register"], _conditions(spec.get("where", {}), ("inputs", alias, "where"))
                     + _keywords(spec.get("keywords"), ("inputs", alias, "keywords")),
                     tuple(_conditions(group, ("inputs", alias, "where_any", i))
                           for i, group in enumerate(spec.get("where_any", []))), ("inputs", alias))
        for alias, spec in d["inputs"].items()
    }
    m = d["match"]
    match = Match(
        kind=m["kind"], on={k: dict(v) for k, v in m.get("on", {}).items()},
        compare=tuple(Compare(_qualified(c["left"]), c["op"], _qualified(c["right"]), _ref(c.get("offset_days")),
                              ("match", "compare", i), c.get("blank")) for i, c in enumerate(m.get("compare", []))),
        dates=dict(m.get("dates", {})), within_days=_ref(m.get("within_days")), order=m.get("order", "any"),
        first=m.get("first"), then=m.get("then"), present=_names(m.get("present")), missing=_groups(m.get("missing")),
        group_by=tuple(m.get("group_by", ())), date=m.get("date"),
        having=tuple(Having(h["function"], h.get("field"), h["op"], _ref(h["value"]), ("match", "having", i))
                     for i, h in enumerate(m.get("having", []))),
        measure=Having(m["measure"]["function"], m["measure"].get("field"), "gte", 0, ("match", "measure"))
        if "measure" in m else None,
        peers_by=tuple(m.get("peers_by", ())), zscore=_ref(m.get("zscore")), min_value=_ref(m.get("min_value")),
        min_peers=_ref(m.get("min_peers")),
    )
    params = {n: Param(n, p["type"], p["default"], p.get("description", "")) for n, p in d.get("params", {}).items()}
    a = d["alert"]
    alert = Alert(
        title=a["title"], dedup=tuple(_qualified(x) for x in a["dedup"]),
        subject=_qualified(a["subject"]) if a.get("subject") else None,
        fields=tuple(_qualified(x) for x in a.get("fields", [])), runbook=a.get("runbook", ""),
    )
    tests = [RuleTest(t["name"], t["given"], t["expect"], t.get("period"), t.get("params", {}), ("tests", i))
             for i, t in enumerate(d["tests"])]
    return Rule(
        id=d["id"], name=d["name"], title=d["title"], description=d["description"], status=d["status"],
        level=d["level"], inputs=inputs, match=match, params=params, alert=alert, tests=tests,
        author=d.get("author", ""), date=d.get("date"), modified=d.get("modified"),
        references=list(d.get("references", [])), tags=list(d.get("tags", [])),
        falsepositives=list(d.get("falsepositives", [])), doc=doc,
    )
