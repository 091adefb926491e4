"""The match kinds that run in pandas for every engine: `single`, `aggregate`, and the statistics
of `peers` (each engine joins a peers rule's inputs its own way, then hands the rows to `peers`).

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
from rules.engines.base import EngineResult, Measured

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


def peers(compiled: CompiledRule, joined: pd.DataFrame, params: dict[str, Any]) -> EngineResult:
    """`peers` over the joined rows (columns `alias.column`, one row per combination of the inputs).

    A member is a group_by value within one peer group (peers_by values). Its value is the count of
    its rows, or the distinct values of the measured field among them. It is flagged when at least
    min_peers *other* members share its peer group, its value is at least min_value, and it exceeds
    the others' mean + zscore * max(sd, 1): leave-one-out, so a trawler does not raise the bar they
    are measured against, and a floor of 1 on the spread, so identical peers do not make one extra
    view an outlier. The finding holds every row of the member, and the figures."""
    agg = compiled.aggregate
    if joined.empty:
        return EngineResult(matches=[])
    group, by, measure = agg["group_by"][0], list(agg["peers_by"]), agg["measure"]
    z, least, min_peers = (float(resolve(agg["zscore"], params)), int(resolve(agg["min_value"], params)),
                           int(resolve(agg["min_peers"], params)))
    keys = [group, *by]
    members = joined.groupby(keys, sort=True, dropna=False)
    values = members.size() if measure["function"] == "count" else members[measure["field"]].nunique()
    table = values.rename("value").reset_index()
    table["square"] = table["value"].astype("float64") ** 2
    v = table["value"].to_numpy(dtype="float64")
    peer = table.groupby(by, sort=False, dropna=False)
    n = peer["value"].transform("size").to_numpy(dtype="float64")
    total = peer["value"].transform("sum").to_numpy(dtype="float64")
    squares = peer["square"].transform("sum").to_numpy()
    others = n - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(others > 0, (total - v) / np.maximum(others, 1), 0.0)
        sd = np.sqrt(np.clip(np.where(others > 0, (squares - v * v) / np.maximum(others, 1) - mean * mean, 0.0), 0, None))
    threshold = mean + z * np.maximum(sd, 1.0)
    flagged = np.flatnonzero((others >= min_peers) & (v >= least) & (v > threshold))
    if not len(flagged):
        return EngineResult(matches=[])
    rows = members.indices
    aliases = compiled.aliases
    matches = []
    for i in flagged:
        key = tuple(table.iloc[i][k] for k in keys)
        picked = joined.iloc[rows[key if len(keys) > 1 else key[0]]]
        facts = {a: tuple(sorted(set(picked[f"{a}.fact_id"]))) for a in aliases}
        figures = {"value": int(v[i]), "peers.group": " / ".join(str(table.iloc[i][b]) for b in by),
                   "peers.count": int(others[i]), "peers.mean": round(float(mean[i]), 2),
                   "peers.sd": round(float(sd[i]), 2), "peers.threshold": round(float(threshold[i]), 2)}
        matches.append(Measured(facts, figures))
    return EngineResult(matches=matches)


def shared(compiled: CompiledRule, frames: dict[str, pd.DataFrame], params: dict[str, Any]) -> EngineResult | None:
    """`single`, `aggregate` and a one-input `peers` run here for every engine; None for the others."""
    if compiled.kind == "single":
        return single(compiled, frames)
    if compiled.kind == "aggregate":
        return aggregate(compiled, frames, params)
    if compiled.kind == "peers" and len(compiled.inputs) == 1:
        alias = compiled.aliases[0]
        return peers(compiled, frames[alias].add_prefix(f"{alias}."), params)
    return None
