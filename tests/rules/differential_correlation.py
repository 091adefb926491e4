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
USERS = st.sampled_from(["P1", "P2", "P2", "P3", None])
NO_WORK_REASON = None


def _no_work_reason():
    """The library rule: two present inputs (view + victim) and four missing groups (link; unit;
    line-managed officer's link + their workforce row; team-mate's link + their row + the user's row)."""
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
       st.lists(st.tuples(USERS, UNITS, st.sampled_from(["P1", "P2", "P3", None])), max_size=5))
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
                      "person_key": [x[0] for x in staff], "department": [x[1] for x in staff],
                      "line_manager_id": [x[2] for x in staff]}, dtype="object")
    assert_same(_no_work_reason(), {"system_access": a, "record_subjects": s, "workforce": w}, Period(2026, 3))


def _access_world(seed: int, n_views: int = 400):
    """A small dense world: 12 staff in 3 teams and 2 units, 15 records, a third with a vulnerable
    victim, officers linked to them: every work reason of the rule occurs, and views without one."""
    import numpy as np

    rng = np.random.default_rng(seed)
    people = [f"P{i}" for i in range(12)]
    managers = {p: (None if i < 3 else f"P{i % 3}") for i, p in enumerate(people)}
    units = {p: ("PPU" if i % 4 == 0 else "Response") for i, p in enumerate(people)}
    records = [f"R{i}" for i in range(15)]
    subjects = []
    for i, r in enumerate(records):
        subjects.append({"record_id": r, "role": "victim", "person_key": None, "domestic_abuse": bool(i % 3 == 0),
                         "owning_unit": "PPU" if i % 2 else "CID"})
        for p in rng.choice(people, int(rng.integers(0, 3)), replace=False):
            subjects.append({"record_id": r, "role": str(rng.choice(["officer_in_case", "attending_officer"])),
                             "person_key": str(p), "domestic_abuse": None, "owning_unit": "PPU"})
    s = pd.DataFrame(subjects, dtype="object")
    s.insert(0, "fact_id", [f"s{i}" for i in range(len(s))])
    s["link_id"] = [f"L{i}" for i in range(len(s))]
    s["domestic_abuse"] = s["domestic_abuse"].astype("boolean")
    s["sexual_offence"] = pd.array([False] * len(s), dtype="boolean")
    s["child"] = pd.array([False] * len(s), dtype="boolean")
    s["record_type"] = "crime"
    a = pd.DataFrame({"fact_id": [f"a{i}" for i in range(n_views)], "access_id": [f"A{i}" for i in range(n_views)],
                      "person_key": rng.choice(people, n_views), "record_id": rng.choice(records, n_views),
                      "action": "view", "system": "crime",
                      "accessed_date": pd.Timestamp("2026-03-01") + pd.to_timedelta(rng.integers(0, 31, n_views), "D")},
                     dtype="object")
    a["accessed_date"] = pd.to_datetime(a["accessed_date"])
    w = pd.DataFrame({"fact_id": [f"w{i}" for i in range(len(people))], "person_id": people, "person_key": people,
                      "department": [units[p] for p in people], "line_manager_id": [managers[p] for p in people]},
                     dtype="object")
    return {"system_access": a, "record_subjects": s, "workforce": w}


def test_absent_groups_on_a_dense_world():
    """Every missing group matters here: the engines agree, and each group removes findings."""
    from dataclasses import replace

    from rules.evaluate import evaluate_rule

    rule = _no_work_reason()
    matters = set()
    for seed in range(4):
        world = _access_world(seed)
        found = assert_same(rule, world, Period(2026, 3))
        assert found, seed
        for i in range(len(rule.missing)):  # without group i the reference finds more: the worlds exercise it
            fewer = [g for j, g in enumerate(rule.absent["missing"]) if j != i]
            more, _ = evaluate_rule(replace(rule, absent={**rule.absent, "missing": fewer}), world, Period(2026, 3),
                                    None, "reference")
            if len(more) > len(found):
                matters.add(i)
    assert matters == set(range(len(rule.missing)))


def test_peers_on_dense_worlds():
    """access_peer_trawling (join of three inputs, then peer statistics): both engines agree, with
    low thresholds so members are flagged, and the leave-one-out baseline is the one in the evidence."""
    from pathlib import Path

    import numpy as np

    from rules.api import compile_rule, load_rule

    here = Path(__file__).resolve().parents[2] / "rules" / "library" / "access" / "access_peer_trawling.yaml"
    rule, problems = load_rule(here)
    assert rule is not None, problems
    compiled = compile_rule(rule)
    params = {"z_score": 0.5, "min_records": 2, "min_peers": 2}
    flagged = 0
    for seed in range(4):
        world = _access_world(seed, n_views=300)
        rng = np.random.default_rng(seed)
        world["workforce"]["rank_grade"] = rng.choice(["Constable", "Sergeant"], len(world["workforce"]))
        found = assert_same(compiled, world, Period(2026, 3), params)
        flagged += len(found)
        for f in found:  # the figures are the others' baseline
            assert f.values["value"] > f.values["peers.threshold"] >= f.values["peers.mean"]
            assert f.values["peers.count"] >= 2
    assert flagged
