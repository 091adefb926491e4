"""Prune a high-volume register before the engines: drop the rows no enabled rule can use.

A records-system access log has millions of rows a month and the rules read a small part of them.
`plan(compiled, register, frames)` derives from the compiled rules which rows of `register` can take
part in a finding or be counted as not evaluable, whatever the period and window; `PrunePlan.keep`
then marks them chunk by chunk. Exact by construction, the kept rows are a superset of the rows that
matter: a row is kept when, for some rule and some input A on the register that takes part in a
match, it

- is counted as not evaluable for A (blank date, selection undecided, a needed field blank), so the
  run's not-evaluable counts are unchanged; or
- passes A's selection (rules.select.select_input itself, over all dates) and, for every partner
  input B of the rule on *another* register that also takes part in a match, the values of the keys
  A and B share occur together among B's selected rows. A partner on the same register, or on a
  register not loaded, constrains nothing.

An absent rule reading the register in a *missing* input needs every row of it (a pruned row could
be the one that clears a present row): then nothing is pruned.

A condition that reads the period ({period: start|end}) cannot cut: the late pass evaluates earlier
months with other bounds. Its outcome is unknown (True or False) on a row whose field is filled, and
undecided (NA) on a row whose field is blank, in every month. So each such condition is replaced by
a *completion*: true where its field is filled (`field eq field`), or false (`field ne field`), NA
where blank either way. The all-true completion selects every row some month selects (Kleene AND and
OR are monotone); the undecided rows of every completion (2**k for k such conditions of an input)
hold the rows some month counts as not evaluable.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from rules.compiler import CompiledInput, CompiledRule
from rules.evaluate import params_in_force
from rules.select import Selection, select_input

#: a window holding every date (day numbers), and a period nobody knows: a condition still reading it
#: is undecided (NA) for every row (only past MAX_COMPLETIONS: a coarser superset of the undecided rows)
ALL_DATES = (-(2**62), 2**62)
UNKNOWN_PERIOD = (pd.NA, pd.NA)
#: conditions reading the period in one input up to which every completion is enumerated
MAX_COMPLETIONS = 4


def _reads_period(cond: dict) -> bool:
    return isinstance(cond.get("value"), dict) and "period" in cond["value"]


def _input_reads_period(inp: CompiledInput) -> bool:
    return any(_reads_period(c) for c in (*inp.where, *(c for g in inp.where_any for c in g)))


def _completion(inp: CompiledInput, truth: tuple[bool, ...]) -> CompiledInput:
    """The input with its i-th condition reading the period made `truth[i]` where its field is filled
    (a comparison of the field with itself: NA where it is blank, as the condition is in any month)."""
    it = iter(truth)

    def one(c: dict) -> dict:
        if not _reads_period(c):
            return c
        return {"field": c["field"], "op": "eq" if next(it) else "ne", "value": {"field": c["field"]}}

    where = tuple(one(c) for c in inp.where)
    where_any = tuple(tuple(one(c) for c in g) for g in inp.where_any)
    return replace(inp, where=where, where_any=where_any)


def _period_conditions(inp: CompiledInput) -> int:
    return sum(_reads_period(c) for c in (*inp.where, *(c for g in inp.where_any for c in g)))


def _widest(inp: CompiledInput) -> CompiledInput:
    """The input selecting every row it selects in some month (every condition reading the period
    made true where its field is filled): Kleene AND and OR are monotone."""
    return _completion(inp, (True,) * _period_conditions(inp)) if _input_reads_period(inp) else inp


def _others(inp: CompiledInput) -> list[CompiledInput]:
    """The inputs whose undecided rows, with the widest's, are every row some month leaves undecided."""
    k = _period_conditions(inp)
    if k == 0:
        return []
    if k > MAX_COMPLETIONS:
        return [inp]  # with the period unknown: every row a condition reading it could decide
    return [_completion(inp, tuple(bool(n >> i & 1) for i in range(k))) for n in range(2**k - 1)]


def _matching(compiled: CompiledRule) -> list[CompiledInput]:
    """The inputs whose rows a match holds: an absent rule's present inputs, every other rule's all."""
    if compiled.kind == "absent":
        return [compiled.input(a) for a in compiled.present]
    return list(compiled.inputs)


@dataclass
class _Partner:
    alias: str  # B
    keys: list[str]  # the keys A and B share (engine columns key:<name>)
    tuples: pd.Index | pd.MultiIndex | None  # B's selected key values; None: no shared key
    rows: int  # B's selected rows (with no shared key, B constrains only by being empty)


@dataclass
class _Reader:
    """One input A on the register that takes part in a match, with what its partners allow."""

    compiled: CompiledRule
    inp: CompiledInput  # A, widest (conditions reading the period true where their field is filled)
    others: list[CompiledInput]  # A's other completions (their undecided rows only)
    params: dict[str, Any]
    partners: list[_Partner] = field(default_factory=list)

    def keep(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of `frame` (a RangeIndex) this input can use or must count."""
        sel = select_input(self.compiled, self.inp, frame, self.params, ALL_DATES, UNKNOWN_PERIOD)
        mask = sel.undecided.copy()
        for other in self.others:
            mask |= select_input(self.compiled, other, frame, self.params, ALL_DATES, UNKNOWN_PERIOD).undecided
        ok = np.ones(len(sel.engine), dtype=bool)
        for p in self.partners:
            ok &= _occurs(sel, p)
        mask[sel.selected.index.to_numpy()[ok]] = True
        return mask


def _index(engine: pd.DataFrame, keys: list[str]) -> pd.Index | pd.MultiIndex:
    cols = [f"key:{k}" for k in keys]
    if len(cols) == 1:
        return pd.Index(engine[cols[0]])
    return pd.MultiIndex.from_arrays([engine[c] for c in cols])


def _occurs(sel: Selection, p: _Partner) -> np.ndarray:
    if p.tuples is None:
        return np.full(len(sel.engine), p.rows > 0)
    if not len(sel.engine):
        return np.zeros(0, dtype=bool)
    return np.asarray(_index(sel.engine, p.keys).isin(p.tuples), dtype=bool)


@dataclass
class PrunePlan:
    register: str
    prunable: bool  # False: keep every row (why_not says why)
    why_not: str | None
    rules: list[str]  # names of the rules that read the register
    readers: list[_Reader] = field(default_factory=list, repr=False)

    def keep(self, df: pd.DataFrame) -> np.ndarray:
        """Bool mask over `df` (rows of the register with derived keys filled): the rows to keep."""
        if not self.prunable:
            return np.ones(len(df), dtype=bool)
        frame = df.reset_index(drop=True)  # selections' indexes are then positions in df
        mask = np.zeros(len(df), dtype=bool)
        for reader in self.readers:
            mask |= reader.keep(frame)
        return mask


def plan(compiled: list[CompiledRule], register: str, frames: dict[str, pd.DataFrame],
         params_overrides: dict[str, dict] | None = None) -> PrunePlan:
    """What `register`'s rows must be kept for the rules `compiled` (the enabled rules); `frames`
    holds the other registers as the engines get them (`register`'s own frame, if there, is unused)."""
    reading = [c for c in compiled if any(i.register == register for i in c.inputs)]
    names = [c.name for c in reading]
    for c in reading:
        if c.kind == "absent" and any(c.input(a).register == register for a in c.missing_inputs):
            return PrunePlan(register, False, f"rule {c.name} reads {register} in a missing input of an absent "
                                              f"rule: every row of it may clear a finding", names)
    readers: list[_Reader] = []
    for c in reading:
        params = params_in_force(c, (params_overrides or {}).get(c.name))
        matching = _matching(c)
        selected: dict[str, Selection] = {}  # B's selection, once per rule
        for a in (i for i in matching if i.register == register):
            reader = _Reader(c, _widest(a), _others(a), params)
            for b in matching:
                if b.register == register or b.register not in frames:
                    continue
                shared = [k for k, per in c.keys if {a.alias, b.alias} <= {al for al, _ in per}]
                if not _same_kinds(c, a, b, shared):
                    continue  # the engines could not compare them as values either: no cut
                if b.alias not in selected:
                    selected[b.alias] = select_input(c, _widest(b), frames[b.register], params, ALL_DATES,
                                                     UNKNOWN_PERIOD)
                engine = selected[b.alias].engine
                tuples = _index(engine, shared).unique() if shared else None
                reader.partners.append(_Partner(b.alias, shared, tuples, len(engine)))
            readers.append(reader)
    return PrunePlan(register, True, None, names, readers)


def _same_kinds(compiled: CompiledRule, a: CompiledInput, b: CompiledInput, keys: list[str]) -> bool:
    ka, kb = dict(a.kinds), dict(b.kinds)
    for k, per in compiled.keys:
        if k in keys:
            f = dict(per)
            if ka.get(f[a.alias]) != kb.get(f[b.alias]):
                return False
    return True
