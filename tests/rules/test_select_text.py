"""Text as the engines see it (rules.select.normalise, kind "string"): str, with every blank (missing,
empty, only spaces) as None; whatever the column's dtype and whatever else the cells hold."""
from __future__ import annotations

import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.select import normalise

CELLS = st.one_of(st.text(max_size=6), st.sampled_from(["", " ", "\t", " x "]), st.none(),
                  st.just(float("nan")), st.integers(-5, 5))


def _expected(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, str) and not v.strip():
        return None
    return str(v)


@settings(max_examples=200, deadline=None)
@given(st.lists(CELLS, max_size=12))
def test_text_is_str_with_blanks_as_none(values):
    out = normalise(pd.Series(values, dtype="object"), "string")
    assert out.dtype == object
    assert out.tolist() == [_expected(v) for v in values]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=6), st.none()), max_size=12))
def test_a_string_dtype_column_reads_the_same(values):
    out = normalise(pd.Series(values, dtype="string", index=range(3, 3 + len(values))), "string")
    assert out.index.tolist() == list(range(3, 3 + len(values)))
    assert out.tolist() == [_expected(v) for v in values]


def test_dates_and_numbers_keep_their_text():
    s = pd.Series([pd.Timestamp("2026-01-02"), 1.5, pd.NaT], dtype="object")
    assert normalise(s, "string").tolist() == ["2026-01-02 00:00:00", "1.5", None]
