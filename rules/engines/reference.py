"""The reference engine: the whole compiled form in plain pandas merges. It is the oracle.

join / sequence: merge the inputs on the key columns, then keep the rows where every compiled
comparison holds. absent: a present row is a finding unless some missing row shares its keys and
satisfies every comparison.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rules.compiler import CompiledRule
from rules.engines import pandas_kinds
from rules.engines.base import EngineResult, key_columns, offset_value

_NP = {"eq": np.equal, "ne": np.not_equal, "gt": np.greater, "gte": np.greater_equal, "lt": np.less,
       "lte": np.less_equal}


def _prefixed(df: pd.DataFrame, alias: str, keys: list[str]) -> pd.DataFrame:
    return df.rename(columns={c: f"{alias}.{c}" for c in df.columns if c not in keys})


def _holds(merged: pd.DataFrame, cmp: dict, params: dict[str, Any]) -> np.ndarray:
    left = merged[f"{cmp['left'][0]}.{cmp['left'][1]}"].to_numpy()
    right = merged[f"{cmp['right'][0]}.{cmp['right'][1]}"].to_numpy()
    off = offset_value(cmp, params)
    if off:
        right = right + off
    return _NP[cmp["op"]](left, right).astype(bool)


def _correlate(compiled: CompiledRule, frames: dict[str, pd.DataFrame], aliases: list[str],
               params: dict[str, Any]) -> pd.DataFrame:
    keys = key_columns(compiled)
    merged = _prefixed(frames[aliases[0]], aliases[0], keys)
    for alias in aliases[1:]:
        merged = merged.merge(_prefixed(frames[alias], alias, keys), on=keys, how="inner")
    keep = np.ones(len(merged), dtype=bool)
    for cmp in compiled.compares:
        keep &= _holds(merged, cmp, params)
    return merged[keep]


class ReferenceEngine:
    name = "reference"

    def evaluate(self, compiled: CompiledRule, frames: dict[str, pd.DataFrame],
                 params: dict[str, Any]) -> EngineResult:
        if (done := pandas_kinds.shared(compiled, frames, params)) is not None:
            return done
        if compiled.kind == "absent":
            present, missing = compiled.absent["present"], compiled.absent["missing"]
            matched = _correlate(compiled, frames, [present, missing], params)
            hit = set(matched[f"{present}.fact_id"])
            ids = [f for f in frames[present]["fact_id"] if f not in hit]
            return EngineResult(matches=[{present: (f,)} for f in ids])
        aliases = compiled.aliases
        matched = _correlate(compiled, frames, aliases, params)
        cols = [matched[f"{a}.fact_id"].to_numpy() for a in aliases]
        return EngineResult(matches=[{a: (row[i],) for i, a in enumerate(aliases)} for row in zip(*cols)])
