"""The late pass: findings of earlier months that a row arriving (or changing) now makes.

A run of period P reports the findings of P (rules.evaluate). Registers are written late, so a
finding of an earlier month Q can appear only now, when a row it cites first reaches the audit.
For each rule with an event input, this evaluates the rule *as the run of Q would have*, for every
month Q from P minus the look-back to the month before P that can hold such a finding, and keeps
the findings that cite at least one fresh row (fact ids the caller names: audit.store.ledger).

Exact, not approximate: a finding's facts share the values of every join key (and group_by field,
and both sides of an equality compare with no offset), so rows outside the partitions of fresh rows
cannot be in a finding that cites one; a finding's
as-of date is the latest of its facts' dates and is never earlier than its fresh fact's date, so
only months from the earliest fresh date on, holding some candidate row's date, are evaluated.
Whether such a finding was raised before is the store's business, not this module's.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pandas as pd

from audit import registers
from audit.period import Period
from rules import types as T
from rules.compiler import CompiledRule, lookback_days
from rules.evaluate import (RuleStats, evaluate_rule, evaluate_window, finding_of, findings_in, params_in_force,
                            run_selections, select_window)
from rules.finding import Finding
from rules.select import Selection, day_number, normalise


def _partition_fields(compiled: CompiledRule) -> list[dict[str, str]]:
    """Per join key (or aggregate group_by field, or equality compare with no offset between two
    inputs): alias -> the field holding it. Every fact of a finding holds the same value there.
    None when some part leaves out an input of a rule of three or more: a finding's row of that
    input need not share a value with any fresh row, so nothing can be cut on it."""
    if compiled.kind == "peers":  # every member's value moves its peers' baseline: nothing can be cut
        return None
    parts = [{alias: fname for alias, fname in per} for _, per in compiled.keys]
    parts += [{c["left"][0]: c["left"][1], c["right"][0]: c["right"][1]} for c in compiled.compares
              if c["op"] == "eq" and not c.get("offset") and not c.get("blank") and c["left"][0] != c["right"][0]]
    if compiled.aggregate:
        alias = compiled.aliases[0]
        parts += [{alias: f} for f in compiled.aggregate["group_by"]]
    if len(compiled.inputs) > 2 and any(len(p) < len(compiled.inputs) for p in parts):
        return None
    return parts


def _fresh_mask(df: pd.DataFrame, fresh: set[str]) -> pd.Series:
    return df["fact_id"].isin(fresh) if "fact_id" in df and len(df) else pd.Series(False, index=df.index)


class Shared:
    """What every rule's late pass in one run reads of the whole registers, computed once: each
    register's fresh rows, and partition columns as the engines compare them (rules.select.normalise
    with the field's kind: text, day numbers, pence...)."""

    def __init__(self, frames: dict[str, pd.DataFrame], fresh: set[str]):
        self.frames, self.fresh = frames, fresh
        self._fresh: dict[str, pd.Series] = {}
        self._early: dict[tuple[str, str, pd.Timestamp], pd.Series] = {}
        self._dates: dict[tuple[str, str], pd.Series] = {}
        self._values: dict[tuple[str, str], pd.Series] = {}

    def fresh_mask(self, register: str) -> pd.Series:
        if register not in self._fresh:
            self._fresh[register] = _fresh_mask(self.frames[register], self.fresh)
        return self._fresh[register]

    def fresh_rows(self, register: str, df: pd.DataFrame) -> pd.Series:
        """fresh_mask of `df`, rows of the register's frame (a cut of it keeps their labels)."""
        whole = self.fresh_mask(register)
        return whole if df is self.frames[register] else whole.reindex(df.index, fill_value=False)

    def dates(self, register: str, fname: str) -> pd.Series:
        if (register, fname) not in self._dates:
            self._dates[register, fname] = pd.to_datetime(self.frames[register][fname], errors="coerce")
        return self._dates[register, fname]

    def citable_before(self, inp, before: pd.Timestamp) -> pd.Series:
        """The fresh rows of an input that a finding dated before `before` can cite: a finding's
        as-of date is the latest of its facts' dates, so a row of an event input dated on or after
        `before` is in no such finding (an undated row is kept: nothing is assumed of it)."""
        fresh = self.fresh_mask(inp.register)
        if inp.register_kind != "event" or inp.date_field not in self.frames[inp.register]:
            return fresh
        key = (inp.register, inp.date_field, before)
        if key not in self._early:
            d = self.dates(inp.register, inp.date_field)
            self._early[key] = fresh & ~(d >= before).fillna(False).astype(bool)
        return self._early[key]

    def values(self, register: str, fname: str) -> pd.Series:
        if (register, fname) not in self._values:
            fld = registers.get(register).fields.get(fname)
            kind = T.kind_of(fld) if fld is not None else "string"
            self._values[register, fname] = normalise(self.frames[register][fname], kind, fld)
        return self._values[register, fname]


def prune(compiled: CompiledRule, frames: dict[str, pd.DataFrame], fresh: set[str],
          shared: Shared | None = None, before: pd.Timestamp | None = None) -> dict[str, pd.DataFrame] | None:
    """The register frames cut to the partitions of fresh rows; None when nothing is fresh. With
    `before` (the run's first day), only fresh rows a finding of an earlier month can cite count:
    a row dated in the run's own month makes no partition of an earlier month's finding."""
    shared = shared or Shared(frames, fresh)
    regs = {i.alias: i.register for i in compiled.inputs}
    fresh_at = {i.alias: (shared.fresh_mask(i.register) if before is None else shared.citable_before(i, before))
                .to_numpy(dtype=bool) for i in compiled.inputs}
    if not any(m.any() for m in fresh_at.values()):
        return None
    parts = _partition_fields(compiled)
    if parts is None:
        return frames  # nothing to cut on that holds for every input: evaluate whole
    if not parts:
        if len(compiled.inputs) == 1:  # a finding of a single-input rule cites one row: a fresh one
            (alias, register), = regs.items()
            return {**frames, register: frames[register][fresh_at[alias]]}
        return frames  # no key to cut on: evaluate whole
    # a join or sequence match holds one row per input, so it cites a fresh row either of its own
    # or of another input: a row that is not fresh is needed only where a fresh row of *another*
    # input shares its partition (an aggregate's group, or an absent rule's present row, needs them all)
    one_per_input = compiled.kind in ("join", "sequence") and not compiled.absent and not compiled.aggregate
    masks: dict[str, pd.Series] = {}
    for alias, register in regs.items():
        df = frames[register]
        keep = pd.Series(True, index=df.index)
        for per in parts:
            if alias not in per:
                continue
            values = set()
            for other, fname in per.items():
                if fname in frames[regs[other]] and not (one_per_input and other == alias):
                    values |= set(shared.values(regs[other], fname)[fresh_at[other]].dropna())
            keep &= shared.values(register, per[alias]).isin(values).fillna(False).astype(bool) \
                if per[alias] in df else False
        if one_per_input:
            keep |= fresh_at[alias]
        masks[register] = masks[register] | keep if register in masks else keep
    return {r: (frames[r][masks[r].to_numpy(dtype=bool)] if r in masks else frames[r]) for r in frames}


def _months(compiled: CompiledRule, frames: dict[str, pd.DataFrame], shared: Shared, first: Period,
            period: Period, lookback: int) -> list[Period]:
    """Months in [first, period) that can hold a late finding citing a fresh row.

    A finding of month Q is the latest of its facts' dates, and the run of Q reads rows dated from
    Q's start minus the rule's look-back: so a fresh row dated d can only be cited by findings of
    the months from d's to (d + look-back)'s. A fresh row of a state input has no date: any month
    holding a candidate row's date can then hold such a finding."""
    dates, fresh_dates, state_fresh = [], [], False
    for inp in compiled.inputs:
        df = frames[inp.register]
        fresh = shared.fresh_rows(inp.register, df)
        if inp.register_kind != "event":
            state_fresh |= bool(fresh.any())
            continue
        if inp.date_field not in df:
            continue
        d = shared.dates(inp.register, inp.date_field)
        d = d if df is shared.frames[inp.register] else d.reindex(df.index)
        dates.append(d.dropna())
        fresh_dates.append(d[fresh.to_numpy(dtype=bool)].dropna())
    if not dates:
        return []
    lo, hi = pd.Timestamp(first.start), pd.Timestamp(period.start)
    candidates = pd.concat(dates)
    candidates = candidates[(candidates >= lo) & (candidates < hi)]
    months = {Period(int(y), int(m)) for y, m in
              pd.DataFrame({"y": candidates.dt.year, "m": candidates.dt.month}).drop_duplicates().itertuples(index=False)}
    if state_fresh:
        return sorted(months)
    reach = set()
    for ts in pd.concat(fresh_dates).drop_duplicates():
        q, last = Period(ts.year, ts.month), Period.containing((ts + pd.Timedelta(days=lookback)).date())
        while q <= last:
            reach.add(q)
            q = q.next()
    return sorted(months & reach)


def months_back(period: Period, months: int) -> Period:
    p = period
    for _ in range(months):
        p = p.previous()
    return p


def _state_months(fresh_from: dict[str, Period], frames: dict[str, pd.DataFrame], compiled: CompiledRule,
                  first: Period, period: Period) -> tuple[set[str], list[Period]]:
    """For a rule with no event input: the fresh rows it can cite in an earlier month, and the months
    from the earliest month any of them could have been cited in, up to the month before `period`."""
    ids = set()
    for inp in compiled.inputs:
        df = frames[inp.register]
        ids |= set(df["fact_id"][df["fact_id"].isin(fresh_from.keys())]) if "fact_id" in df else set()
    if not ids:
        return set(), []
    q, months = max(first, min(fresh_from[i] for i in ids)), []
    while q < period:
        months.append(q)
        q = q.next()
    return ids, months


def late_findings(compiled: CompiledRule, frames: dict[str, pd.DataFrame], period: Period, fresh: set[str],
                  lookback_months: int, overrides: dict[str, Any] | None = None, engine: str = "durable",
                  fresh_from: dict[str, Period] | None = None, shared: Shared | None = None
                  ) -> tuple[list[Finding], int]:
    """Findings of months before `period` (within the look-back) citing a fresh row; and how many
    months were evaluated.

    A rule with no event input (a condition as of a month's end) is evaluated for earlier months only
    with the fresh rows of `fresh_from` (fact id -> the first month it could have been cited in: a row
    back after months its source could not be read, a state entry made before it was first seen), and
    its findings there are dated the end of their month."""
    if lookback_months <= 0 or not fresh or any(i.register not in frames for i in compiled.inputs):
        return [], 0
    first = months_back(period, lookback_months)
    stateful = not any(i.register_kind == "event" for i in compiled.inputs)
    if stateful:
        fresh, months = _state_months(fresh_from or {}, frames, compiled, first, period)
        if not months:
            return [], 0
    if not (shared and shared.fresh is fresh and shared.frames is frames):
        shared = Shared(frames, fresh)
    pruned = prune(compiled, frames, fresh, shared, before=None if stateful else pd.Timestamp(period.start))
    if pruned is None:
        return [], 0
    lookback = lookback_days(compiled, params_in_force(compiled, overrides))
    if not stateful:
        months = _months(compiled, pruned, shared, first, period, lookback)
    found: dict[tuple, Finding] = {}
    if not stateful and _one_window_will_do(compiled):
        for f in _in_one_window(compiled, pruned, months, overrides, engine, lookback):
            if any(fid in fresh for ids in f.facts.values() for fid in ids):
                found.setdefault(f.key(), f)
        return sorted(found.values(), key=lambda f: f.key()), len(months)
    for q, findings in _month_by_month(compiled, pruned, months, overrides, engine, lookback):
        for f in findings:
            cited = [fid for ids in f.facts.values() for fid in ids if fid in fresh]
            if stateful:
                if not any(fresh_from[fid] <= q for fid in cited):
                    continue
                f = replace(f, as_of=q.end)
            if cited:
                found.setdefault(f.key(), f)
    return sorted(found.values(), key=lambda f: f.key()), len(months)


def _one_window_will_do(compiled: CompiledRule) -> bool:
    """Whether one evaluation spanning many months finds each month's matches: when a match depends
    on its own rows alone. Not for an aggregate (a group counts what its window holds), an absent
    rule (a wider window holds more rows that could be the missing one), or a condition that reads
    the period (it differs month by month)."""
    return not (compiled.aggregate or compiled.absent or _reads_period(compiled))


def _reads_period(compiled: CompiledRule) -> bool:
    """Whether a condition compares with the period ({period: start|end}): a row's selection then
    differs month by month."""
    conds = [c for i in compiled.inputs for c in (*i.where, *(c for g in i.where_any for c in g))]
    return any(isinstance(c.get("value"), dict) and "period" in c["value"] for c in conds)


def _month_by_month(compiled: CompiledRule, frames: dict[str, pd.DataFrame], months: list[Period],
                    overrides: dict[str, Any] | None, engine: str, lookback: int):
    """(month, the findings its run would make) for each of `months`, as evaluate_rule gives them.
    Rows are selected once, over the window spanning every month, and cut to each month's window: a
    row's selection depends on the row alone, unless a condition reads the period."""
    if _reads_period(compiled) or not months:
        for q in months:
            yield q, evaluate_rule(compiled, frames, q, overrides, engine)[0]
        return
    params = params_in_force(compiled, overrides)
    start, end = day_number(months[0].start), day_number(months[-1].end)
    whole = select_window(compiled, frames, (start - lookback, end), (start, end), params, RuleStats(compiled.name))
    # day numbers of each event input's selected rows (all dated: the window drops undated rows; an
    # input whose frame lacks its date column selects none, so there is nothing to cut)
    days = {i.alias: normalise(whole[i.alias].selected[i.date_field], "date").to_numpy(dtype="int64")
            for i in compiled.inputs if i.register_kind == "event" and i.date_field in whole[i.alias].selected}
    for q in months:
        lo, hi = day_number(q.start), day_number(q.end)
        cut = {}
        for alias, sel in whole.items():
            if alias in days:  # an event input: the rows dated in this month's window (none is undated here)
                keep = (days[alias] >= lo - lookback) & (days[alias] <= hi)
                sel = Selection(alias, sel.rows_in, sel.selected[keep], sel.engine[keep].reset_index(drop=True),
                                sel.not_evaluable)
            cut[alias] = sel
        got = run_selections(compiled, cut, (lo, hi), params, engine, RuleStats(compiled.name))
        yield q, findings_in(compiled, got, q)


def _in_one_window(compiled: CompiledRule, frames: dict[str, pd.DataFrame], months: list[Period],
                   overrides: dict[str, Any] | None, engine: str, lookback: int) -> list[Finding]:
    """The findings the runs of `months` would each have made, from one engine call over the window
    spanning them all: a match belongs to the month of its as-of date, and only if every dated row
    it cites lies in that month's own window (from the month's start minus the look-back)."""
    if not months:
        return []
    wanted = set(months)
    start, end = day_number(months[0].start), day_number(months[-1].end)
    got = evaluate_window(compiled, frames, (start - lookback, end), (start, end),
                          params_in_force(compiled, overrides), engine, RuleStats(compiled.name))
    out = []
    for m in got.matches:
        as_of = got.facts.as_of(m)
        if as_of is None or Period.containing(as_of) not in wanted:
            continue
        floor = day_number(Period.containing(as_of).start) - lookback
        if all((d := got.facts.date(a, f)) is None or day_number(d) >= floor for a, ids in m.items() for f in ids):
            out.append(finding_of(compiled, got, m, as_of))
    return out


def event_months_late(as_of: date | None, period: Period) -> int:
    """Whole months between the finding's month and the run's month."""
    if as_of is None:
        return 0
    return (period.year - as_of.year) * 12 + period.month - as_of.month
