"""The reference engine: the whole compiled form in plain pandas merges. It is the oracle.

join / sequence: merge the inputs on the key columns, then keep the rows where every compiled
comparison holds. absent: the present inputs are joined so (one present input: its rows); a
present row is a finding unless, for some missing input, a row of it shares the keys it names and
satisfies every comparison that involves it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rules.compiler import CompiledRule
from rules.engines import pandas_kinds
from rules.engines.base import EngineResult, offset_value

_NP = {"eq": np.equal, "ne": np.not_equal, "gt": np.greater, "gte": np.greater_equal, "lt": np.less,
       "lte": np.less_equal}


def _holds(merged: pd.DataFrame, cmp: dict, params: dict[str, Any]) -> np.ndarray:
    left = merged[f"{cmp['left'][0]}.{cmp['left'][1]}"].to_numpy()
    right = merged[f"{cmp['right'][0]}.{cmp['right'][1]}"].to_numpy()
    off = offset_value(cmp, params)
    if off:
        right = right + off
    return _NP[cmp["op"]](left, right).astype(bool)


def _named(compiled: CompiledRule) -> dict[str, set[str]]:
    """Key -> the inputs that name it."""
    return {key: {a for a, _ in per} for key, per in compiled.keys}


def _merge(compiled: CompiledRule, merged: pd.DataFrame, have: list[str], frame: pd.DataFrame, alias: str,
           params: dict[str, Any]) -> pd.DataFrame:
    """`merged` (columns `alias.column` of the inputs in `have`) joined with one more input on every
    key it shares with them, then cut to the comparisons that relate it to them."""
    on = [(next(a for a in have if a in names), key) for key, names in _named(compiled).items()
          if alias in names and names & set(have)]
    right = frame.add_prefix(f"{alias}.")
    merged = merged.merge(right, left_on=[f"{a}.key:{k}" for a, k in on], right_on=[f"{alias}.key:{k}" for _, k in on],
                          how="inner")
    keep = np.ones(len(merged), dtype=bool)
    for cmp in compiled.compares:
        sides = {cmp["left"][0], cmp["right"][0]}
        if alias in sides and sides - {alias} <= set(have):
            keep &= _holds(merged, cmp, params)
    return merged[keep]


def _correlate(compiled: CompiledRule, frames: dict[str, pd.DataFrame], aliases: list[str],
               params: dict[str, Any]) -> pd.DataFrame:
    merged = frames[aliases[0]].add_prefix(f"{aliases[0]}.")
    for i, alias in enumerate(aliases[1:], start=1):
        merged = _merge(compiled, merged, aliases[:i], frames[alias], alias, params)
    return merged


class ReferenceEngine:
    name = "reference"

    def evaluate(self, compiled: CompiledRule, frames: dict[str, pd.DataFrame],
                 params: dict[str, Any]) -> EngineResult:
        if (done := pandas_kinds.shared(compiled, frames, params)) is not None:
            return done
        if compiled.kind == "peers":
            return pandas_kinds.peers(compiled, _correlate(compiled, frames, compiled.aliases, params), params)
        if compiled.kind == "absent":
            present = compiled.present
            rows = _correlate(compiled, frames, present, params).reset_index(drop=True)
            hit = np.zeros(len(rows), dtype=bool)
            for group in compiled.missing:
                matched = rows.assign(_row=np.arange(len(rows)))
                for i, alias in enumerate(group):
                    matched = _merge(compiled, matched, present + group[:i], frames[alias], alias, params)
                hit[matched["_row"].to_numpy()] = True
            found = rows[~hit]
        else:
            present = compiled.aliases
            found = _correlate(compiled, frames, present, params)
        cols = [found[f"{a}.fact_id"].to_numpy() for a in present]
        return EngineResult(matches=[{a: (row[i],) for i, a in enumerate(present)} for row in zip(*cols)])
