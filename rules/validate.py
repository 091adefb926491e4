"""Validation of rule documents: JSON Schema, then semantic checks; collects ALL problems.

Owns: `schema_problems(doc)`, `semantic_problems(rule)` and `cross_rule_problems(rules)`.
Every problem carries file:line:col. Nothing here raises on a bad rule; callers decide.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Iterator

import jsonschema

from audit import registers as reg
from rules import types as T
from rules.loader import Document, Problem
from rules.model import PEER_FIGURES, Rule, ValueRef
from rules.render import PLACEHOLDER, tense

SCHEMA_PATH = Path(__file__).with_name("schema") / "rule.schema.json"
NO_RIGHT_VALUE_OPS = ("exists",)
ORDERING_OPS = ("lt", "lte", "gt", "gte")


@cache
def _validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(SCHEMA_PATH.read_text()))


def _best(err: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For oneOf/anyOf failures, the deepest sub-error is the most useful one."""
    if err.context:
        return max(err.context, key=lambda e: (len(e.absolute_path), -len(e.message)))
    return err


def schema_problems(doc: Document) -> list[Problem]:
    out = []
    for err in sorted(_validator().iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        e = _best(err)
        path = tuple(e.absolute_path)
        where = ".".join(str(p) for p in path) or "(top level)"
        if e.validator == "additionalProperties" and isinstance(e.instance, dict):
            allowed = e.schema.get("properties", {})
            extra = [k for k in e.instance if k not in allowed]
            for key in extra:  # one problem per unknown key, located at the key itself
                out.append(doc.problem(path + (key,), f"{where}: unknown key {key!r}"))
            if extra and allowed:
                continue
        if isinstance(e.instance, str) and isinstance(_at(doc.data, path), dict) and e.instance in _at(doc.data, path):
            path = path + (e.instance,)  # a propertyNames failure: point at the offending key
        out.append(doc.problem(path, f"{where}: {e.message}"))
    return out


def _at(data: Any, path: tuple) -> Any:
    for p in path:
        data = data[p]
    return data


class _Checker:
    def __init__(self, rule: Rule):
        self.rule = rule
        self.doc = rule.doc or Document("<rule>", {})
        self.problems: list[Problem] = []
        self.used_params: set[str] = set()

    def err(self, path: tuple, msg: str, severity: str = "error") -> None:
        self.problems.append(self.doc.problem(path, msg, severity))

    # -- lookups -------------------------------------------------------------------------------
    def register_of(self, alias: str) -> reg.Register | None:
        inp = self.rule.inputs.get(alias)
        if inp is None:
            return None
        return reg.registers().get(inp.register)

    def field(self, alias: str, fname: str, path: tuple) -> reg.Field | None:
        if alias not in self.rule.inputs:
            self.err(path, f"unknown input alias {alias!r} (inputs: {', '.join(self.rule.inputs)})")
            return None
        r = self.register_of(alias)
        if r is None:
            return None  # the unknown register is reported once, at the input
        if fname not in r.fields:
            self.err(path, f"register {r.name} has no field {fname!r}")
            return None
        return r.fields[fname]

    def num(self, v: Any, path: tuple, want: str = "int") -> None:
        """A number or {param}: the param must exist and be numeric."""
        if isinstance(v, ValueRef):
            self.param(v.name, path, want)

    def param(self, name: str, path: tuple, kind: str) -> None:
        self.used_params.add(name)
        p = self.rule.params.get(name)
        if p is None:
            self.err(path, f"param {name!r} is not defined under params")
        elif not T.param_fits(p.type, kind):
            self.err(path, f"param {name!r} is {p.type} but is used where a {kind} is expected")

    # -- checks --------------------------------------------------------------------------------
    def run(self) -> list[Problem]:
        r = self.rule
        if self.doc.file.endswith((".yaml", ".yml")) and Path(self.doc.file).stem != r.name:
            self.err(("name",), f"name {r.name!r} must equal the file name ({Path(self.doc.file).stem!r})")
        for p in r.params.values():
            problem = T.default_problem(p.type, p.default)
            if problem:
                self.err(("params", p.name, "default"), f"param {p.name}: {problem}")
        for alias, inp in r.inputs.items():
            if inp.register not in reg.registers():
                self.err(inp.path + ("register",), f"unknown register {inp.register!r} (known: {', '.join(reg.names())})")
                continue
            for c in inp.where + tuple(c for group in inp.where_any for c in group):
                self.condition(alias, c)
        self.match()
        self.alert()
        self.tests()
        for name in sorted(set(r.params) - self.used_params):
            self.err(("params", name), f"param {name!r} is defined but never used", "warning")
        return self.problems

    def condition(self, alias: str, c) -> None:
        f = self.field(alias, c.field, c.path)
        if f is None:
            return
        kind, v, op = T.kind_of(f), c.value, c.op
        if isinstance(v, ValueRef):
            if op in ("exists", "in", "not_in", "weekday_in", "contains", "startswith"):
                self.err(c.path, f"{op} takes literal values, not a reference")
            elif v.kind == "param":
                self.param(v.name, c.path, "int" if op == "multiple_of" else kind)
                if v.times is not None:  # a band: a share of a param (e.g. 90% of a threshold)
                    if kind not in T.NUMERIC or op == "multiple_of":
                        self.err(c.path, f"times needs a number or money compare; {f.name} is {f.type}")
                    self.num(v.times, c.path, "number")
            elif v.kind == "period":
                if kind != "date":
                    self.err(c.path, f"{{period: ...}} compares with dates; {f.name} is {f.type}")
                self.num(v.offset_days, c.path)
            else:
                other = self.field(alias, v.name, c.path)
                if other is not None:
                    okind = T.kind_of(other)
                    if v.times is not None:
                        if kind not in T.NUMERIC or okind not in T.NUMERIC:
                            self.err(c.path, f"times needs numbers: {f.name} is {f.type}, {other.name} is {other.type}")
                        self.num(v.times, c.path, "number")
                    elif not T.comparable(kind, okind):
                        self.err(c.path, f"compared types disagree: {f.name} is {f.type}, {other.name} is {other.type}")
                    if v.offset_days is not None:
                        if kind != "date":
                            self.err(c.path, f"offset_days applies to dates; {f.name} is {f.type}")
                        self.num(v.offset_days, c.path)
            return
        if op == "keywords":
            for extra in c.fields[1:]:
                other = self.field(alias, extra, c.path)
                if other is not None and T.kind_of(other) not in ("string", "rank"):
                    self.err(c.path, f"keywords apply to text fields; {other.name} is {other.type}")
            if kind not in ("string", "rank"):
                self.err(c.path, f"keywords apply to text fields; {f.name} is {f.type}")
            return
        if op == "exists":
            if not isinstance(v, bool):
                self.err(c.path, "exists takes true or false")
        elif op in ("in", "not_in"):
            if not isinstance(v, list):
                self.err(c.path, f"{op} takes a list of values")
            else:
                for item in v:
                    problem = T.literal_problem(f, item)
                    if problem:
                        self.err(c.path, problem)
        elif op in ("contains", "startswith"):
            if kind not in ("string", "rank"):
                self.err(c.path, f"{op} applies to text fields; {f.name} is {f.type}")
            for item in v if isinstance(v, list) else [v]:
                if not isinstance(item, str):
                    self.err(c.path, f"{op} takes text (got {item!r})")
        elif op == "weekday_in":
            if kind != "date":
                self.err(c.path, f"weekday_in applies to dates; {f.name} is {f.type}")
            if not isinstance(v, list) or not all(isinstance(x, int) and 1 <= x <= 7 for x in v):
                self.err(c.path, "weekday_in takes a list of ISO weekdays 1 (Mon) ... 7 (Sun)")
        elif op == "multiple_of":
            if kind not in ("money", "int"):
                self.err(c.path, f"multiple_of applies to money or integers; {f.name} is {f.type}")
            if not (isinstance(v, int) and not isinstance(v, bool) and v > 0):
                self.err(c.path, "multiple_of takes a positive integer")
        else:
            if isinstance(v, list):
                self.err(c.path, f"{op} takes one value (use in / not_in for a list)")
                return
            problem = T.literal_problem(f, v)
            if problem:
                self.err(c.path, problem)
            if op in ("gt", "gte", "lt", "lte") and kind in ("string", "bool"):
                self.err(c.path, f"{op} needs an ordered value; {f.name} is {f.type}")

    def match(self) -> None:
        r, m = self.rule, self.rule.match
        aliases = list(r.inputs)
        n = len(aliases)
        p = ("match",)
        if m.kind == "peers":
            self.peers()
        if m.kind in ("single", "aggregate") and n != 1:
            self.err(p + ("kind",), f"match kind {m.kind} takes exactly one input (found {n})")
        if m.kind == "join" and n < 2:
            self.err(p + ("kind",), "match kind join needs at least two inputs")
        if m.kind == "sequence" and n != 2:
            self.err(p + ("kind",), f"match kind {m.kind} takes exactly two inputs (found {n})")
        if m.kind == "absent" and n < 2:
            self.err(p + ("kind",), f"match kind absent needs at least two inputs (found {n})")
        if m.kind in ("join", "sequence"):
            self.keys(aliases)
        if m.kind == "absent":
            self.absent()
        if m.kind in ("join", "sequence", "absent"):
            for c in m.compare:
                self.compare(c)
        if m.kind == "sequence":
            if set(m.dates) != set(aliases):
                self.err(p + ("dates",), f"dates must name each input once ({', '.join(aliases)})")
            for alias, fname in m.dates.items():
                f = self.field(alias, fname, p + ("dates", alias))
                if f is not None and T.kind_of(f) != "date":
                    self.err(p + ("dates", alias), f"{alias}.{fname} is {f.type}, not a date")
            self.num(m.within_days, p + ("within_days",))
            if m.order == "fixed":
                if {m.first, m.then} != set(aliases) or m.first == m.then:
                    self.err(p + ("order",), "order: fixed needs first and then naming the two inputs")
            elif m.first or m.then:
                self.err(p + ("first",), "first / then only apply with order: fixed")
        if m.kind == "aggregate" and aliases:
            alias = aliases[0]
            for i, g in enumerate(m.group_by):
                self.field(alias, g, p + ("group_by", i))
            f = self.field(alias, m.date or "", p + ("date",))
            if f is not None and T.kind_of(f) != "date":
                self.err(p + ("date",), f"{alias}.{m.date} is {f.type}, not a date")
            self.num(m.within_days, p + ("within_days",))
            for h in m.having:
                if h.function == "count":
                    if h.field:
                        self.err(h.path, "count takes no field")
                    self.num(h.value, h.path)
                    continue
                if not h.field:
                    self.err(h.path, f"{h.function} needs a field")
                    continue
                hf = self.field(alias, h.field, h.path + ("field",))
                if hf is not None and h.function == "sum" and T.kind_of(hf) not in T.NUMERIC:
                    self.err(h.path, f"sum needs a number or money field; {h.field} is {hf.type}")
                kind = T.kind_of(hf) if (hf is not None and h.function == "sum") else "int"
                self.num(h.value, h.path, kind)

    def absent(self) -> None:
        """present and missing share out the inputs. Each key names two or more inputs, and a present
        input if it names inputs of two missing groups (it ties each to the present rows). In the order
        written, each present input shares a key with an earlier one, and each input of a missing group
        with the present inputs or an earlier one of its group (the order they are joined in). A
        compare never relates two missing groups (each group is checked alone)."""
        r, m = self.rule, self.rule.match
        p = ("match",)
        present, groups = list(m.present), [list(g) for g in m.missing]
        named = present + [a for g in groups for a in g]
        if ([a for a in named if a not in r.inputs] or len(set(named)) != len(named) or set(named) != set(r.inputs)
                or not present or not groups):
            self.err(p + ("present",), "present and missing must share out the inputs: each input named once, "
                                       f"in one of them (inputs: {', '.join(r.inputs)})")
            return
        group_of = {a: i for i, g in enumerate(groups) for a in g}
        if not m.on:
            self.err(p + ("on",), "at least one equality key is needed in `on`")
        self.joining_keys()
        for key, per_alias in m.on.items():
            if len({group_of[a] for a in per_alias if a in group_of}) > 1 and not set(per_alias) & set(present):
                self.err(p + ("on", key), f"key {key!r} joins two missing groups and no present input: each group "
                                          "is checked alone, against the present rows")
        self.joined_in_order(present, p + ("present",), "present input")
        for g in groups:
            for i, alias in enumerate(g):
                if not self.shares(alias, present + g[:i]):
                    self.err(p + ("missing",), f"missing input {alias!r} shares no key with the present inputs or "
                                               "an input before it in its group: it would be compared with every row")
        for c in m.compare:
            sides = {group_of.get(c.left[0]), group_of.get(c.right[0])} - {None}
            if len(sides) > 1:
                self.err(c.path, "a compare cannot relate two missing groups: each is checked against the present "
                                 "rows on its own (list inputs joined together as one group: [a, b])")

    def shares(self, alias: str, earlier: list[str]) -> bool:
        """Some key names `alias` and an input of `earlier` (so it can be joined to them)."""
        return any(alias in per and set(per) & set(earlier) for per in self.rule.match.on.values())

    def joining_keys(self) -> None:
        """absent / peers: keys may name some of the inputs, but each joins two or more."""
        for key, per_alias in self.rule.match.on.items():
            if len(per_alias) < 2:
                self.err(("match", "on", key), f"key {key!r} names one input: a key joins two or more")
            self.key_types(key, per_alias)

    def joined_in_order(self, aliases: list[str], path: tuple, what: str) -> None:
        """Each input after the first shares a key with an earlier one (the order they are joined in)."""
        for i, alias in enumerate(aliases[1:], start=1):
            if not self.shares(alias, aliases[:i]):
                self.err(path, f"{what} {alias!r} shares no key with an input before it ({', '.join(aliases[:i])}): "
                               "order them so each is joined to an earlier one")

    def peers(self) -> None:
        """peers: the inputs joined in the order written (each shares a key with an earlier one); one
        group_by field, a measure, peers_by fields, all qualified alias.field; zscore / min_value /
        min_peers numbers or params."""
        r, m = self.rule, self.rule.match
        p = ("match",)
        self.joining_keys()
        self.joined_in_order(list(r.inputs), p + ("on",), "input")
        for c in m.compare:
            self.compare(c)
        for label, refs in (("group_by", m.group_by), ("peers_by", m.peers_by)):
            for i, q in enumerate(refs):
                self.qualified(q, p + (label, i))
        if m.measure is not None:
            if m.measure.function == "distinct" and not m.measure.field:
                self.err(p + ("measure",), "distinct needs a field (alias.field)")
            elif m.measure.function == "count" and m.measure.field:
                self.err(p + ("measure",), "count takes no field")
            elif m.measure.field:
                self.qualified(m.measure.field, p + ("measure", "field"))
        self.num(m.zscore, p + ("zscore",), "number")
        self.num(m.min_value, p + ("min_value",))
        self.num(m.min_peers, p + ("min_peers",))

    def qualified(self, q: str, path: tuple) -> None:
        alias, _, fname = q.partition(".")
        if alias not in self.rule.inputs:
            self.err(path, f"{q}: {alias!r} is not an input ({', '.join(self.rule.inputs)})")
        else:
            self.field(alias, fname, path)

    def keys(self, aliases: list[str]) -> None:
        m = self.rule.match
        if not m.on:
            self.err(("match", "on"), "at least one equality key is needed in `on`")
        for key, per_alias in m.on.items():
            path = ("match", "on", key)
            missing = [a for a in aliases if a not in per_alias]
            if missing:
                self.err(path, f"key {key!r} must name a field for every input (missing: {', '.join(missing)})")
            self.key_types(key, per_alias)

    def key_types(self, key: str, per_alias: dict[str, str]) -> None:
        path = ("match", "on", key)
        kinds = {}
        for alias, fname in per_alias.items():
            f = self.field(alias, fname, path + (alias,))
            if f is not None:
                kinds[f"{alias}.{fname}"] = (T.kind_of(f), f.type)
        if len({k for k, _ in kinds.values()}) > 1:
            detail = ", ".join(f"{q} is {t}" for q, (_, t) in kinds.items())
            self.err(path, f"joined keys have different types: {detail}")

    def compare(self, c) -> None:
        lf = self.field(*c.left, c.path + ("left",))
        rf = self.field(*c.right, c.path + ("right",))
        if c.left[0] == c.right[0]:
            self.err(c.path, "compare relates two different inputs (use where for one input)")
        if lf is None or rf is None:
            return
        lk, rk = T.kind_of(lf), T.kind_of(rf)
        if not T.comparable(lk, rk):
            self.err(c.path, f"compared types disagree: {'.'.join(c.left)} is {lf.type}, {'.'.join(c.right)} is {rf.type}")
        if c.op not in ("eq", "ne") and lk in ("string", "bool"):
            self.err(c.path, f"{c.op} needs ordered values; {'.'.join(c.left)} is {lf.type}")
        if c.offset_days is not None:
            if lk != "date":
                self.err(c.path, "offset_days applies to date comparisons")
            self.num(c.offset_days, c.path + ("offset_days",))
        self.blank_meaning(c, lf, rf)

    def blank_meaning(self, c, lf: reg.Field, rf: reg.Field) -> None:
        """`blank: open` only where a blank can mean "still running": an ordering op and an open-ended
        right operand. A compare of an open-ended field that does not say what its blank means is
        warned about: by default such a blank makes the pair not evaluable, which is easy to miss."""
        left, right = ".".join(c.left), ".".join(c.right)
        path = c.path + ("blank",)
        if c.blank == "open":
            if c.op not in ORDERING_OPS:
                self.err(path, f"blank: open needs an ordering op (lt, lte, gt, gte), not {c.op}: "
                               "a period that has not ended has no end date to be equal to")
            if not rf.open_ended:
                swap = (f"; {left} is: write it on the right and flip the op (lte <-> gte, lt <-> gt)"
                        if lf.open_ended else "")
                self.err(path, f"blank: open applies to the right operand, which must be an open-ended date "
                               f"field (registers.toml open_ended = true); {right} is not{swap}")
            return
        if c.blank is not None:
            return
        if rf.open_ended:
            self.err(c.path, f"{right} is open-ended (blank while the period is still open): say what a blank "
                             "means, `blank: open` (still running) or `blank: not_evaluable` (the default: the "
                             "pair is counted as not evaluable)", "warning")
        if lf.open_ended:
            self.err(c.path, f"{left} is open-ended (blank while the period is still open) and a blank on the "
                             "left is never read as open: to treat it as still running, write it on the right "
                             "with `blank: open`; to keep the default, say `blank: not_evaluable`", "warning")

    def alert(self) -> None:
        r, a = self.rule, self.rule.alert
        allowed = list(r.match.present) if r.match.kind == "absent" else list(r.inputs)
        for label, refs in (("subject", [a.subject] if a.subject else []), ("fields", a.fields), ("dedup", a.dedup)):
            for i, (alias, fname) in enumerate(refs):
                path = ("alert", label) if label == "subject" else ("alert", label, i)
                if alias not in allowed:
                    self.err(path, f"alert {label} {alias}.{fname}: alias must be one of {', '.join(map(str, allowed))}")
                else:
                    self.field(alias, fname, path)
        for ph in PLACEHOLDER.findall(a.title):
            self.placeholder(ph, allowed)

    def placeholder(self, ph: str, allowed: list) -> None:
        m = self.rule.match
        path = ("alert", "title")
        ref, words = tense(ph)
        if words:
            head, _, tail = ref.partition(".")
            f = self.field(head, tail, path) if head in allowed and tail else None
            if f is None or f.type != "date" or not all(words):
                self.err(path, f"placeholder {{{ph}}}: |past/future words apply to a date field, "
                               "e.g. {clearance.expiry_date|expired/expires}")
            return
        if m.kind == "peers" and (ph == "value" or ph.startswith("peers.")):
            if ph not in PEER_FIGURES:
                self.err(path, f"unknown placeholder {{{ph}}}: peers rules show {', '.join('{%s}' % f for f in PEER_FIGURES)}")
            return
        if m.kind == "aggregate" and ph in ("count", "sum"):
            if ph == "sum" and not any(h.function == "sum" for h in m.having):
                self.err(path, "{sum} needs a having clause with function: sum")
            return
        head, _, tail = ph.partition(".")
        if not tail:
            self.err(path, f"unknown placeholder {{{ph}}}: use {{alias.field}} or {{params.name}}")
        elif head == "params":
            if tail not in self.rule.params:
                self.err(path, f"placeholder {{{ph}}}: param {tail!r} is not defined")
            self.used_params.add(tail)
        elif head == "group" and m.kind == "aggregate":
            if tail not in m.group_by:
                self.err(path, f"placeholder {{{ph}}}: {tail!r} is not in group_by")
        elif head not in allowed:
            self.err(path, f"placeholder {{{ph}}}: alias {head!r} must be one of {', '.join(map(str, allowed))}")
        else:
            self.field(head, tail, path)

    def tests(self) -> None:
        r = self.rule
        if not any(t.expect for t in r.tests) or not any(not t.expect for t in r.tests):
            self.err(("tests",), "tests need at least one positive case (expect alerts) and one negative (expect: [])")
        for t in r.tests:
            for alias, rows in t.given.items():
                if alias not in r.inputs:
                    self.err(t.path + ("given", alias), f"given names unknown input {alias!r}")
                    continue
                register = self.register_of(alias)
                for i, row in enumerate(rows):
                    for key, value in row.items():
                        p = t.path + ("given", alias, i, key)
                        if register is None or key == "fact_id" or value is None:
                            continue
                        if key not in register.fields:
                            self.err(p, f"register {register.name} has no field {key!r}")
                            continue
                        problem = T.literal_problem(register.fields[key], value)
                        if problem:
                            self.err(p, problem)
            for name in t.params:
                if name not in r.params:
                    self.err(t.path + ("params", name), f"test overrides unknown param {name!r}")
            for j, exp in enumerate(t.expect):
                for alias, idxs in exp.items():
                    n = len(t.given.get(alias, []))
                    if alias not in r.inputs:
                        self.err(t.path + ("expect", j, alias), f"expect names unknown input {alias!r}")
                    elif any(i >= n for i in idxs):
                        self.err(t.path + ("expect", j, alias), f"index out of range: {alias} has {n} given row(s)")


def semantic_problems(rule: Rule) -> list[Problem]:
    return _Checker(rule).run()


def cross_rule_problems(rules: list[Rule]) -> Iterator[Problem]:
    """Duplicate ids or names across every loaded folder."""
    for attr in ("id", "name"):
        seen: dict[str, Rule] = {}
        for r in rules:
            value = getattr(r, attr)
            if value in seen:
                first = seen[value]
                yield r.doc.problem((attr,), f"duplicate rule {attr} {value!r} (also in {first.file})")
            else:
                seen[value] = r
