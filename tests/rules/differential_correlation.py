"""join / absent differential cases (run in a child process by test_differential.py).

Not collected directly (no test_ prefix): durable-rules 2.0.28 can segfault on these shapes.
"""
from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from test_differential import ABSENT, GIFTS, JOIN, PEOPLE, PERIOD, PURCHASES, SETTINGS, assert_same, gift_rows, purchase_rows

from audit.period import Period


@SETTINGS
@given(GIFTS, PURCHASES, PERIOD)
def test_join_with_or_and_compares(g, p, period):
    assert_same(JOIN, {"gifts_hospitality": gift_rows(g), "procurement": purchase_rows(p)}, period)


LEVELS = st.sampled_from(["none", "nppv1", "rv", "mv", "sc", "dv", None])


@SETTINGS
@given(st.lists(st.tuples(PEOPLE, LEVELS), max_size=15),
       st.lists(st.tuples(PEOPLE, LEVELS, st.sampled_from(["active", "expired", None])), max_size=20))
def test_absent(posts, clearances):
    w = pd.DataFrame({"fact_id": [f"w{i}" for i in range(len(posts))], "person_key": [x[0] for x in posts],
                      "post_vetting_level": [x[1] for x in posts]}, dtype="object")
    v = pd.DataFrame({"fact_id": [f"v{i}" for i in range(len(clearances))], "person_key": [x[0] for x in clearances],
                      "level": [x[1] for x in clearances], "status": [x[2] for x in clearances]}, dtype="object")
    assert_same(ABSENT, {"workforce": w, "vetting": v}, Period(2026, 3))
