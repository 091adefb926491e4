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


def aggregate(compiled: CompiledRule, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> EngineResult:
    """Vectorised over all groups at once: rows sorted by (group, date, fact_id) and each row's
    window found with one searchsorted on a key that keeps groups apart (group * span + day), so
    a window never crosses into another group; count and sum come from global cumulative sums.
    Only `distinct` and the merge of overlapping windows loop, over the windows that pass."""
    alias = compiled.aliases[0]
    agg = compiled.aggregate
    n_days = int(resolve(agg["within_days"], params))
    having = [{**h, "value": resolve(h["value"], params)} for h in agg["having"]]
    df = frames[alias]
    if df.empty:
        return EngineResult(matches=[])
    df = df.assign(_group=df.groupby(agg["group_by"], sort=True, dropna=False).ngroup().to_numpy())
    df = df.sort_values(["_group", agg["date"], "fact_id"], kind="stable")
    groups = df["_group"].to_numpy(dtype="int64")
    dates = df[agg["date"]].to_numpy(dtype="int64")
    ids = df["fact_id"].to_numpy()
    span = int(dates.max() - dates.min()) + n_days + 1
    key = groups * span + (dates - dates.min())
    los = np.searchsorted(key, key - n_days, side="right")
    his = np.searchsorted(key, key, side="right")
    pairs = np.unique(np.stack([los, his], axis=1), axis=0)  # sorted by lo, then hi
    lo, hi = pairs[:, 0], pairs[:, 1]
    keep = np.ones(len(pairs), dtype=bool)
    for h in having:
        if h["function"] == "count":
            value = hi - lo
        elif h["function"] == "sum":
            cum = np.concatenate([[0], np.cumsum(df[h["field"]].to_numpy())])
            value = cum[hi] - cum[lo]
        else:
            continue
        keep &= np.asarray(OPS[h["op"]](value, h["value"]), dtype=bool)
    distinct = [h for h in having if h["function"] == "distinct"]
    values = {h["field"]: df[h["field"]].to_numpy() for h in distinct}
    merged: list[list[int]] = []
    for a, b in pairs[keep].tolist():
        if distinct and not all(OPS[h["op"]](len(set(values[h["field"]][a:b])), h["value"]) for h in distinct):
            continue
        if merged and a < merged[-1][1]:  # windows sharing a row merge (never across groups)
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return EngineResult(matches=[{alias: tuple(sorted(ids[a:b]))} for a, b in merged])


def shared(compiled: CompiledRule, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> EngineResult | None:
    """`single` and `aggregate` run here for every engine; None for the correlation kinds."""
    if compiled.kind == "single":
        return single(compiled, frames)
    if compiled.kind == "aggregate":
        return aggregate(compiled, frames, params)
    return None
