"""The vectorised `aggregate` (rules.engines.pandas_kinds) against the per-group loop it replaced.

Both engines share the aggregate code, so the engines' agreement cannot catch a mistake in it:
this keeps the earlier, plainly written per-group implementation as the oracle and compares the
two on random groups, dates, amounts and having clauses (count, sum, distinct)."""
from __future__ import annotations

import operator

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.engines.pandas_kinds import aggregate

OPS = {"gte": operator.ge, "gt": operator.gt, "lte": operator.le}


def oracle(frame: pd.DataFrame, group_by: list[str], n_days: int, having: list[dict]) -> list[tuple]:
    """Per group, each row anchors a window (date - n, date]; passing windows that share a row merge."""
    df = frame.sort_values(["date", "fact_id"], kind="stable")
    out = []
    for _, g in df.groupby(group_by, sort=True, dropna=False):
        dates, ids = g["date"].to_numpy(dtype="int64"), g["fact_id"].to_numpy()
        los = np.searchsorted(dates, dates - n_days, side="right")
        his = np.searchsorted(dates, dates, side="right")
        intervals = []
        for lo, hi in sorted(set(zip(los.tolist(), his.tolist()))):
            ok = True
            for h in having:
                if h["function"] == "count":
                    v = hi - lo
                elif h["function"] == "sum":
                    v = int(g[h["field"]].to_numpy()[lo:hi].sum())
                else:
                    v = len(set(g[h["field"]].to_numpy()[lo:hi]))
                ok &= OPS[h["op"]](v, h["value"])
            if ok:
                intervals.append([lo, hi])
        merged = []
        for lo, hi in intervals:
            if merged and lo < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        out += [tuple(sorted(ids[lo:hi])) for lo, hi in merged]
    return sorted(out)


class _Compiled:
    def __init__(self, group_by, n_days, having):
        self.aliases = ["x"]
        self.aggregate = {"group_by": group_by, "date": "date", "within_days": n_days, "having": having}


rows = st.lists(st.tuples(st.sampled_from(["P1", "P2", "P3", None]), st.sampled_from(["A", "B"]),
                          st.integers(20000, 20120), st.integers(0, 5000), st.sampled_from(["t1", "t2", "t3", "t4"])),
                min_size=0, max_size=60)
havings = st.lists(st.one_of(
    st.builds(lambda v: {"function": "count", "field": None, "op": "gte", "value": v}, st.integers(1, 4)),
    st.builds(lambda v: {"function": "sum", "field": "amount", "op": "gt", "value": v}, st.integers(0, 12000)),
    st.builds(lambda v: {"function": "distinct", "field": "txn", "op": "gte", "value": v}, st.integers(1, 3)),
), min_size=1, max_size=3)


@settings(max_examples=300, deadline=None)
@given(rows, st.sampled_from([["person"], ["person", "org"]]), st.integers(0, 60), havings)
def test_vectorised_aggregate_equals_the_per_group_loop(data, group_by, n_days, having):
    frame = pd.DataFrame(data, columns=["person", "org", "date", "amount", "txn"])
    frame.insert(0, "fact_id", [f"f{i:03d}" for i in range(len(frame))])
    frame = frame.astype({"date": "int64", "amount": "int64"})
    got = aggregate(_Compiled(group_by, n_days, having), {"x": frame}, {})
    assert sorted(m["x"] for m in got.matches) == (oracle(frame, group_by, n_days, having) if len(frame) else [])
