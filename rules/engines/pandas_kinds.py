"""The match kinds that run in pandas for every engine: `single` and `aggregate`.

`aggregate` (docs/rule-format.md): per group, each row is an anchor; its window holds the rows
with anchor.date - N < date <= anchor.date. Windows satisfying every `having` clause and sharing
a row are merged into one finding (the union of their rows): deterministic and engine-independent.
"""
from __future__ import annotations

import operator
from typing import Any

import numpy as np
import pandas as pd

from rules.compiler import CompiledRule, resolve
from rules.engines.base import EngineResult

OPS = {"eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt,
       "lte": operator.le}


def single(compiled: CompiledRule, frames: dict[str, pd.DataFrame]) -> EngineResult:
    alias = compiled.aliases[0]
    return EngineResult(matches=[{alias: (fid,)} for fid in frames[alias]["fact_id"]])


def _window_value(h: dict, lo: int, hi: int, cums: dict, values: dict) -> Any:
    if h["function"] == "count":
        return hi - lo
    if h["function"] == "sum":
        c = cums[h["field"]]
        return c[hi] - c[lo]
    return len(set(values[h["field"]][lo:hi]))


def aggregate(compiled: CompiledRule, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> EngineResult:
    alias = compiled.aliases[0]
    agg = compiled.aggregate
    n_days = int(resolve(agg["within_days"], params))
    having = [{**h, "value": resolve(h["value"], params)} for h in agg["having"]]
    df = frames[alias].sort_values([agg["date"], "fact_id"], kind="stable")
    out: list[dict] = []
    if df.empty:
        return EngineResult(matches=out)
    for _, g in df.groupby(agg["group_by"], sort=True, dropna=False):
        dates = g[agg["date"]].to_numpy(dtype="int64")
        ids = g["fact_id"].to_numpy()
        cums = {h["field"]: np.concatenate([[0], np.cumsum(g[h["field"]].to_numpy())])
                for h in having if h["function"] == "sum"}
        values = {h["field"]: g[h["field"]].to_numpy() for h in having if h["function"] == "distinct"}
        los = np.searchsorted(dates, dates - n_days, side="right")
        his = np.searchsorted(dates, dates, side="right")
        intervals = []
        for lo, hi in sorted(set(zip(los.tolist(), his.tolist()))):
            if all(OPS[h["op"]](_window_value(h, lo, hi, cums, values), h["value"]) for h in having):
                intervals.append([lo, hi])
        merged: list[list[int]] = []
        for lo, hi in intervals:  # sorted by lo; windows sharing a row (lo < previous hi) merge
            if merged and lo < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        out += [{alias: tuple(sorted(ids[lo:hi]))} for lo, hi in merged]
    return EngineResult(matches=out)


def shared(compiled: CompiledRule, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> EngineResult | None:
    """`single` and `aggregate` run here for every engine; None for the correlation kinds."""
    if compiled.kind == "single":
        return single(compiled, frames)
    if compiled.kind == "aggregate":
        return aggregate(compiled, frames, params)
    return None
