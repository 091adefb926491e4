"""join / absent differential cases (run in a child process by test_differential.py).

Not collected directly (no test_ prefix): durable-rules 2.0.28 can segfault on these shapes.
"""
from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
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


RECORDS = st.sampled_from(["R1", "R2", 'R"3', None])
UNITS = st.sampled_from(["PPU", "PPU", "Response", None])
USERS = st.sampled_from(["P1", "P2", "P2", None])
NO_WORK_REASON = None


def _no_work_reason():
    """The library rule with two present inputs (view + victim) and two missing (link, unit)."""
    global NO_WORK_REASON
    if NO_WORK_REASON is None:
        from pathlib import Path

        from rules.api import compile_rule, load_rule

        here = Path(__file__).resolve().parents[2] / "rules" / "library" / "access" / "access_no_work_reason.yaml"
        rule, problems = load_rule(here)
        assert rule is not None, problems
        NO_WORK_REASON = compile_rule(rule)
    return NO_WORK_REASON


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(USERS, RECORDS, st.sampled_from(["view", "view", "search", "export"]), st.integers(0, 40)),
                max_size=20),
       st.lists(st.tuples(RECORDS, st.sampled_from(["victim", "victim", "officer_in_case", "supervisor"]), USERS,
                          st.sampled_from([True, True, False, None]), UNITS), max_size=15),
       st.lists(st.tuples(USERS, UNITS), max_size=4))
def test_absent_with_joined_present_and_two_missing(views, subjects, staff):
    a = pd.DataFrame({"fact_id": [f"a{i}" for i in range(len(views))], "access_id": [f"A{i}" for i in range(len(views))],
                      "person_key": [x[0] for x in views], "record_id": [x[1] for x in views],
                      "action": [x[2] for x in views], "system": "crime",
                      "accessed_date": [pd.Timestamp("2026-03-01") + pd.Timedelta(days=x[3]) for x in views]})
    s = pd.DataFrame({"fact_id": [f"s{i}" for i in range(len(subjects))], "link_id": [f"L{i}" for i in range(len(subjects))],
                      "record_id": [x[0] for x in subjects], "role": [x[1] for x in subjects],
                      "person_key": [x[2] if x[1] != "victim" else None for x in subjects],
                      "domestic_abuse": pd.array([x[3] for x in subjects], dtype="boolean"),
                      "sexual_offence": pd.array([False] * len(subjects), dtype="boolean"),
                      "child": pd.array([False] * len(subjects), dtype="boolean"),
                      "owning_unit": [x[4] for x in subjects], "record_type": "domestic abuse"}, dtype="object")
    for col in ("domestic_abuse", "sexual_offence", "child"):
        s[col] = s[col].astype("boolean")
    w = pd.DataFrame({"fact_id": [f"w{i}" for i in range(len(staff))], "person_id": [x[0] for x in staff],
                      "person_key": [x[0] for x in staff], "department": [x[1] for x in staff]}, dtype="object")
    assert_same(_no_work_reason(), {"system_access": a, "record_subjects": s, "workforce": w}, Period(2026, 3))
