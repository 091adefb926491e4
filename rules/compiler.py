"""The compiler: a validated Rule -> an engine-neutral, frozen, JSON-serialisable CompiledRule.

Owns the compiled form both engines read and `version` = sha256 of its canonical JSON.
Params stay references ({"param": name}) and are resolved at evaluation time, so the version
covers the rule, not the force's parameter values. Cross-input comparisons are emitted in a FIXED
SAFE ORDER: key equalities, then `eq` comparisons, then the other comparisons (durable-rules drops
a cross-fact comparison placed after a `$or`; ORs never reach an engine: `where_any` runs in pandas).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from audit import registers as reg
from rules import types as T
from rules.model import Rule, ValueRef, num_json
from rules.render import PLACEHOLDER

COMPILER_VERSION = 1


@dataclass(frozen=True)
class CompiledInput:
    alias: str
    register: str
    register_kind: str  # event | state | reference
    date_field: str | None  # the register's date field (event registers)
    where: tuple[dict, ...]  # {"field", "op", "value"} ANDed
    where_any: tuple[tuple[dict, ...], ...]  # OR of AND-groups
    fields: tuple[str, ...]  # projected: every field the rule uses (+ the date field)
    engine_fields: tuple[str, ...]  # what an engine sees besides fact_id and keys
    kinds: tuple[tuple[str, str], ...]  # field -> comparison kind, for every projected field


@dataclass(frozen=True)
class CompiledRule:
    id: str
    name: str
    title: str
    level: str
    status: str
    kind: str  # single | join | sequence | absent | aggregate | peers
    inputs: tuple[CompiledInput, ...]
    keys: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (key, ((alias, field), ...))
    compares: tuple[dict, ...]  # {"left": [a, f], "op", "right": [b, f], "offset": num|{param}|None, "sign": 1|-1}
    absent: dict | None  # {"present": a | [a, ...], "missing": b | [b | [b, c], ...]} (one name stays a string)
    aggregate: dict | None  # {"group_by", "date", "within_days", "having"}; peers: see _aggregate
    params: tuple[tuple[str, str, Any], ...]  # (name, type, default)
    lookback: tuple[Any, ...]  # day counts or {param}: the largest is the look-back
    alert: dict
    version: str = field(default="", compare=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("version")
        return d

    def canonical_json(self) -> str:
        return json.dumps({"compiler": COMPILER_VERSION, **self.to_dict()}, sort_keys=True, separators=(",", ":"))

    def input(self, alias: str) -> CompiledInput:
        return next(i for i in self.inputs if i.alias == alias)

    @property
    def aliases(self) -> list[str]:
        return [i.alias for i in self.inputs]

    @property
    def registers(self) -> list[str]:
        return sorted({i.register for i in self.inputs})

    @property
    def present(self) -> list[str]:
        """absent: the inputs of each candidate finding (joined when there are several)."""
        return _listed(self.absent["present"]) if self.absent else []

    @property
    def missing(self) -> list[list[str]]:
        """absent: groups of inputs (joined within a group) a candidate finding must match no row of."""
        return [_listed(g) for g in _listed(self.absent["missing"])] if self.absent else []

    @property
    def missing_inputs(self) -> list[str]:
        return [a for group in self.missing for a in group]


def _listed(names: str | list) -> list:
    return [names] if isinstance(names, str) else list(names)


def _one_or_list(names: tuple) -> str | list:
    """One name compiles to the string it always was, so the versions of rules written before
    `present` / `missing` took lists are unchanged."""
    return names[0] if len(names) == 1 else list(names)


def _value(v: Any) -> Any:
    return v.to_json() if isinstance(v, ValueRef) else v


def _cond(c) -> dict:
    out = {"field": c.field, "op": c.op, "value": _value(c.value)}
    if c.op == "keywords":  # only then: other conditions (and so rule versions) are unchanged
        out["fields"] = list(c.fields)
    return out


def _sorted_conds(conds) -> tuple[dict, ...]:
    return tuple(sorted((_cond(c) for c in conds), key=lambda d: json.dumps(d, sort_keys=True)))


def _cmp(left, op, right, offset=None, sign=1, blank=None) -> dict:
    out = {"left": list(left), "op": op, "right": list(right), "offset": num_json(offset) if offset is not None else None,
           "sign": sign}
    if blank == "open":  # only when set: `not_evaluable` is the default and leaves the version unchanged
        out["blank"] = "open"
    return out


def open_fields(compiled: "CompiledRule", alias: str) -> set[str]:
    """Fields of `alias` whose blank reads as an open period for the engines: the right operand of a
    `blank: open` compare and of no other compare (a field some other compare needs stays blank there,
    so its row is dropped and counted as not evaluable, as for any blank)."""
    opened, other = set(), set()
    for c in compiled.compares:
        for side in ("left", "right"):
            a, f = c[side]
            if a == alias:
                (opened if side == "right" and c.get("blank") == "open" else other).add(f)
    return opened - other


def _compares(rule: Rule) -> list[dict]:
    m = rule.match
    out = [_cmp(c.left, c.op, c.right, c.offset_days, blank=c.blank) for c in m.compare]
    if m.kind == "sequence":
        if m.order == "fixed":
            first, then = (m.first, m.dates[m.first]), (m.then, m.dates[m.then])
            out += [_cmp(then, "gte", first), _cmp(then, "lte", first, m.within_days)]
        else:
            a, b = [(alias, m.dates[alias]) for alias in rule.inputs]
            out += [_cmp(b, "gte", a, m.within_days, -1), _cmp(b, "lte", a, m.within_days)]
    # fixed safe order: equalities first, then the other comparisons (stable within each group)
    return [c for c in out if c["op"] == "eq"] + [c for c in out if c["op"] != "eq"]


def _lookback(rule: Rule) -> list[Any]:
    m = rule.match
    out: list[Any] = []
    if m.within_days is not None:
        out.append(num_json(m.within_days))
    out += [num_json(c.offset_days) for c in m.compare if c.offset_days is not None]
    for inp in rule.inputs.values():
        for c in inp.where + tuple(c for g in inp.where_any for c in g):
            if isinstance(c.value, ValueRef) and c.value.kind == "period" and c.value.offset_days is not None:
                out.append(num_json(c.value.offset_days))
    return out


def _used_fields(rule: Rule, alias: str) -> tuple[list[str], list[str]]:
    """(every field the rule uses for alias, the fields an engine needs to correlate)."""
    inp, m, a = rule.inputs[alias], rule.match, rule.alert
    used: list[str] = []
    for c in inp.where + tuple(c for g in inp.where_any for c in g):
        used.append(c.field)
        used += list(c.fields)
        if isinstance(c.value, ValueRef) and c.value.kind == "field":
            used.append(c.value.name)
    keys = [per[alias] for per in m.on.values() if alias in per]
    engine = [c.left[1] for c in m.compare if c.left[0] == alias] + [c.right[1] for c in m.compare if c.right[0] == alias]
    if alias in m.dates:
        engine.append(m.dates[alias])
    if m.kind == "peers":  # qualified alias.field names; the engines' statistics read them
        engine += [f for q in [*m.group_by, *m.peers_by, *([m.measure.field] if m.measure.field else [])]
                   for al, _, f in [q.partition(".")] if al == alias]
        used += keys + engine
    else:
        used += keys + engine + list(m.group_by) + ([m.date] if m.date else [])
    used += [h.field for h in m.having if h.field]
    for al, f in list(a.fields) + list(a.dedup) + ([a.subject] if a.subject else []):
        if al == alias:
            used.append(f)
    for ph in PLACEHOLDER.findall(a.title):
        head, _, tail = ph.partition("|")[0].partition(".")
        if head == alias:
            used.append(tail)
    register = reg.get(inp.register)
    if register.date_field:
        used.append(register.date_field)
    dedupe = lambda xs: sorted(set(xs))  # noqa: E731 - canonical order: the hash ignores authoring order
    return dedupe(used), dedupe(engine)


def _aggregate(m) -> dict | None:
    """aggregate: windows per group; peers: one value per group against its peer group's others
    (kept in the same slot, so adding peers left every other rule's version unchanged)."""
    if m.kind == "aggregate":
        return {"group_by": list(m.group_by), "date": m.date, "within_days": num_json(m.within_days),
                "having": [{"function": h.function, "field": h.field, "op": h.op, "value": num_json(h.value)}
                           for h in m.having]}
    if m.kind == "peers":
        return {"group_by": list(m.group_by), "peers_by": list(m.peers_by),
                "measure": {"function": m.measure.function, "field": m.measure.field},
                "zscore": num_json(m.zscore), "min_value": num_json(m.min_value), "min_peers": num_json(m.min_peers)}
    return None


def compile_rule(rule: Rule) -> CompiledRule:
    """Compile a rule that passed validation (semantic_problems returned no errors)."""
    m = rule.match
    inputs = []
    for alias, inp in rule.inputs.items():
        register = reg.get(inp.register)
        fields, engine = _used_fields(rule, alias)
        inputs.append(CompiledInput(
            alias=alias, register=inp.register, register_kind=register.kind, date_field=register.date_field,
            where=_sorted_conds(inp.where), where_any=tuple(_sorted_conds(g) for g in inp.where_any),
            fields=tuple(fields), engine_fields=tuple(engine),
            kinds=tuple((f, T.kind_of(register.fields[f])) for f in fields),
        ))
    a = rule.alert
    compiled = CompiledRule(
        id=rule.id, name=rule.name, title=rule.title, level=rule.level, status=rule.status, kind=m.kind,
        inputs=tuple(inputs),
        keys=tuple((k, tuple(sorted(per.items()))) for k, per in sorted(m.on.items())),
        compares=tuple(_compares(rule)),
        absent={"present": _one_or_list(m.present), "missing": _one_or_list(tuple(_one_or_list(g) for g in m.missing))}
        if m.kind == "absent" else None,
        aggregate=_aggregate(m),
        params=tuple((p.name, p.type, p.default) for p in sorted(rule.params.values(), key=lambda p: p.name)),
        lookback=tuple(_lookback(rule)),
        alert={"title": a.title, "subject": list(a.subject) if a.subject else None,
               "fields": [list(x) for x in a.fields], "dedup": [list(x) for x in a.dedup], "runbook": a.runbook},
    )
    version = hashlib.sha256(compiled.canonical_json().encode()).hexdigest()
    object.__setattr__(compiled, "version", version)
    return compiled


def resolve(value: Any, params: dict[str, Any]) -> Any:
    """A number or {param: name} -> its value under `params`."""
    if isinstance(value, dict) and "param" in value:
        return params[value["param"]]
    return value


def lookback_days(compiled: CompiledRule, params: dict[str, Any]) -> int:
    values = [abs(int(resolve(v, params))) for v in compiled.lookback]
    return max(values, default=0)
