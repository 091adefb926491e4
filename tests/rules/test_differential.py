"""Randomised differential test: for each match kind, both engines give identical findings."""
from __future__ import annotations

import pandas as pd
from helpers import SEQUENCE_BODY, compiled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engines import ABSENT_BODY, AGG_BODY, JOIN_BODY

from audit.period import Period
from rules.evaluate import evaluate_rule

KEYS = st.sampled_from(["O1", "O2", 'O"3', "Ö4\\", None])  # quotes, backslashes, unicode and blanks
PEOPLE = st.sampled_from(["P1", "P2", None])
DAYS = st.one_of(st.none(), st.integers(0, 120))
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _date(d):
    return None if d is None else pd.Timestamp("2026-01-01") + pd.Timedelta(days=d)


def gift_rows(draw_rows) -> pd.DataFrame:
    return pd.DataFrame({
        "fact_id": pd.Series([f"g{i}" for i in range(len(draw_rows))], dtype="object"),
        "record_id": pd.Series([f"G{i}" for i in range(len(draw_rows))], dtype="object"),
        "org_key": pd.Series([r[0] for r in draw_rows], dtype="object"),
        "person_key": pd.Series([r[1] for r in draw_rows], dtype="object"),
        "offered_date": pd.Series([_date(r[2]) for r in draw_rows], dtype="datetime64[ns]"),
        "estimated_value": pd.Series([r[3] for r in draw_rows], dtype="Int64"),
        "outcome": pd.Series([r[4] for r in draw_rows], dtype="object"),
    })


def purchase_rows(draw_rows) -> pd.DataFrame:
    return pd.DataFrame({
        "fact_id": pd.Series([f"t{i}" for i in range(len(draw_rows))], dtype="object"),
        "transaction_id": pd.Series([f"T{i}" for i in range(len(draw_rows))], dtype="object"),
        "org_key": pd.Series([r[0] for r in draw_rows], dtype="object"),
        "approver_key": pd.Series([r[1] for r in draw_rows], dtype="object"),
        "transaction_date": pd.Series([_date(r[2]) for r in draw_rows], dtype="datetime64[ns]"),
        "net_amount": pd.Series([r[3] for r in draw_rows], dtype="Int64"),
        "route": pd.Series([r[4] for r in draw_rows], dtype="object"),
    })


GIFTS = st.lists(st.tuples(KEYS, PEOPLE, DAYS, st.one_of(st.none(), st.integers(0, 900)),
                           st.sampled_from(["accepted", "declined", None])), max_size=25)
PURCHASES = st.lists(st.tuples(KEYS, PEOPLE, DAYS, st.one_of(st.none(), st.integers(-50, 200_000)),
                               st.sampled_from(["tender", "single_tender_waiver", None])), max_size=40)
PERIOD = st.sampled_from([Period(2026, 2), Period(2026, 3), Period(2026, 4)])


def assert_same(c, frames, period, params=None):
    ref, ref_stats = evaluate_rule(c, frames, period, params, "reference")
    dur, dur_stats = evaluate_rule(c, frames, period, params, "durable")
    assert [f.key() for f in ref] == [f.key() for f in dur]
    assert [(f.title, f.dedup, f.values) for f in ref] == [(f.title, f.dedup, f.values) for f in dur]
    assert ref_stats.not_evaluable == dur_stats.not_evaluable
    return ref


SEQ_ANY = compiled(SEQUENCE_BODY)
SEQ_FIXED = compiled(SEQUENCE_BODY.replace("order: any", "order: fixed\n  first: purchase\n  then: gift"))
JOIN = compiled(JOIN_BODY)
AGG = compiled(AGG_BODY)
ABSENT = compiled(ABSENT_BODY.replace("post_vetting_level|gte: mv", "post_vetting_level|gte: nppv1"), alias="post")


@SETTINGS
@given(GIFTS, PURCHASES, PERIOD, st.integers(0, 60))
def test_sequence_any_and_fixed(g, p, period, window):
    frames = {"gifts_hospitality": gift_rows(g), "procurement": purchase_rows(p)}
    assert_same(SEQ_ANY, frames, period, {"window_days": window})
    assert_same(SEQ_FIXED, frames, period, {"window_days": window})


@SETTINGS
@given(GIFTS, PERIOD, st.integers(0, 3000))
def test_aggregate(g, period, total):
    assert_same(AGG, {"gifts_hospitality": gift_rows(g)}, period, {"total": total})


def test_join_and_absent_differential_in_a_subprocess():
    """join / absent differential runs in a child process: durable-rules 2.0.28 can segfault on
    these shapes (rules/engines/durable.py, _Session). A mismatch between engines FAILS; a crash of
    the C engine is reported as an expected failure naming the defect, without killing this run."""
    import os
    import subprocess
    import sys

    import pytest

    here = os.path.dirname(__file__)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                           os.path.join(here, "differential_correlation.py")],
                          capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(here)), timeout=600)
    if proc.returncode < 0 or "Segmentation fault" in proc.stderr or "Fatal Python error" in proc.stderr:
        pytest.xfail(f"durable-rules crashed (exit {proc.returncode}): known open defect, see _Session")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
