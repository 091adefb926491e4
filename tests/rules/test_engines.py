"""Engines on small cases and the durable-rules traps at the sizes where they bite."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import SEQUENCE_BODY, compiled, gifts, purchases

from audit.period import Period
from rules.engines import EngineError
from rules.engines import durable as durable_mod
from rules.evaluate import evaluate_rule

PERIOD = Period(2026, 3)


def run(c, frames, engine, period=PERIOD, params=None):
    return evaluate_rule(c, frames, period, params, engine)


def both(c, frames, period=PERIOD, params=None, durable="durable"):
    """Both engines, same findings. durable="durable-inprocess" where a test patches its internals
    (the production "durable" runs them in a worker process, out of a monkeypatch's reach)."""
    ref, ref_stats = run(c, frames, "reference", period, params)
    dur, dur_stats = run(c, frames, durable, period, params)
    assert [f.key() for f in ref] == [f.key() for f in dur]
    assert ref_stats.not_evaluable == dur_stats.not_evaluable
    return ref, dur_stats  # not_evaluable is asserted equal; partitions are the durable engine's


def frame(rows: list[dict], dates=(), money=()) -> pd.DataFrame:
    df = pd.DataFrame(rows).astype("object")
    for d in dates:
        df[d] = pd.to_datetime(df[d])
    for m in money:
        df[m] = df[m].astype("Int64")
    return df


def test_sequence_finding_is_rendered_and_counts_blanks():
    g = frame([{"fact_id": "g1", "record_id": "G1", "person_key": "P1", "org_key": "O1", "offered_date": "2026-03-01",
                "outcome": "accepted", "donor_name": "Acme", "estimated_value": 123456},
               {"fact_id": "g2", "record_id": "G2", "person_key": "P2", "org_key": None, "offered_date": "2026-03-02",
                "outcome": "accepted", "donor_name": "Blank Org", "estimated_value": 1}],
              dates=["offered_date"], money=["estimated_value"])
    p = frame([{"fact_id": "t1", "transaction_id": "T1", "org_key": "O1", "transaction_date": "2026-01-31", "net_amount": 5},
               {"fact_id": "t2", "transaction_id": "T2", "org_key": "O1", "transaction_date": "2026-01-30", "net_amount": None}],
              dates=["transaction_date"], money=["net_amount"])
    found, stats = both(compiled(SEQUENCE_BODY), {"gifts_hospitality": g, "procurement": p})
    assert len(found) == 1
    f = found[0]
    assert f.facts == {"gift": ("g1",), "purchase": ("t1",)} and f.subject == "P1" and f.dedup == ("G1",)
    assert f.title == "Acme gift within 90 days of £0.05" and str(f.as_of) == "2026-03-01"
    assert stats.not_evaluable == {"gift.org_key": 1, "purchase.net_amount": 1}


def test_as_of_outside_the_period_is_not_reported():
    rng = np.random.default_rng(3)
    frames = {"gifts_hospitality": gifts(50, 5, 200, rng), "procurement": purchases(200, 5, 200, rng)}
    c = compiled(SEQUENCE_BODY)
    march, _ = both(c, frames, Period(2026, 3))
    april, _ = both(c, frames, Period(2026, 4))
    assert march and april and all(f.as_of in Period(2026, 3) for f in march)
    assert not {f.key() for f in march} & {f.key() for f in april}


JOIN_BODY = """inputs:
  gift:
    register: gifts_hospitality
    where: {outcome|eq: accepted}
  purchase:
    register: procurement
    where_any: [{route|eq: single_tender_waiver}, {net_amount|gte: 100000}]
match:
  kind: join
  on: {supplier: {gift: org_key, purchase: org_key}}
  compare:
    - {left: purchase.approver_key, op: eq, right: gift.person_key}
    - {left: purchase.transaction_date, op: lte, right: gift.offered_date, offset_days: 30}
alert:
  title: "{gift.person_key} approved {purchase.net_amount}"
  dedup: [gift.record_id, purchase.transaction_id]
"""


def test_or_next_to_cross_fact_comparison_is_not_dropped():
    g = frame([{"fact_id": "g1", "record_id": "G1", "person_key": "P1", "org_key": "O1", "offered_date": "2026-03-01",
                "outcome": "accepted"}], dates=["offered_date"])
    rows = []
    for i, (route, amount, approver, day) in enumerate([
            ("single_tender_waiver", 10, "P1", "2026-03-20"),  # waiver, same approver, in window: match
            ("tender", 200000, "P1", "2026-03-31"),            # big, same approver, in window: match
            ("single_tender_waiver", 10, "P2", "2026-03-20"),  # other approver: the comparison must hold
            ("tender", 200000, "P1", "2026-04-05"),            # too late: the offset comparison must hold
            ("tender", 10, "P1", "2026-03-02")]):              # neither OR branch
        rows.append({"fact_id": f"t{i}", "transaction_id": f"T{i}", "org_key": "O1", "route": route,
                     "net_amount": amount, "approver_key": approver, "transaction_date": day})
    p = frame(rows, dates=["transaction_date"], money=["net_amount"])
    found, _ = both(compiled(JOIN_BODY), {"gifts_hospitality": g, "procurement": p})
    assert sorted(f.facts["purchase"] for f in found) == [("t0",), ("t1",)]


def test_two_identical_source_rows_are_both_seen():
    g = frame([{"fact_id": "g1", "record_id": "G1", "person_key": "P1", "org_key": "O1", "offered_date": "2026-03-01",
                "outcome": "accepted"}], dates=["offered_date"])
    same = {"transaction_id": "T1", "org_key": "O1", "transaction_date": "2026-02-01", "net_amount": 500}
    p = frame([{"fact_id": "src:2:aaa", **same}, {"fact_id": "src:3:aaa", **same}], dates=["transaction_date"], money=["net_amount"])
    found, _ = both(compiled(SEQUENCE_BODY), {"gifts_hospitality": g, "procurement": p})
    assert sorted(f.facts["purchase"] for f in found) == [("src:2:aaa",), ("src:3:aaa",)]


def test_string_amount_never_compares_greater_than_a_number():
    body = SEQUENCE_BODY.replace("where: {net_amount|gt: 0}", "where: {net_amount|gt: 1000}")
    g = frame([{"fact_id": "g1", "record_id": "G1", "person_key": "P1", "org_key": "O1", "offered_date": "2026-03-01",
                "outcome": "accepted"}], dates=["offered_date"])
    p = frame([{"fact_id": "t1", "transaction_id": "T1", "org_key": "O1", "transaction_date": "2026-02-01", "net_amount": "150"},
               {"fact_id": "t2", "transaction_id": "T2", "org_key": "O1", "transaction_date": "2026-02-01", "net_amount": "1500"}],
              dates=["transaction_date"])  # amounts arrive as text
    found, _ = both(compiled(body), {"gifts_hospitality": g, "procurement": p})
    assert [f.facts["purchase"] for f in found] == [("t2",)]


def test_exception_inside_an_action_fails_loudly(monkeypatch):
    def exploding(hits, patterns):
        def bad(closure):
            raise RuntimeError("boom in action")
        return bad

    monkeypatch.setattr(durable_mod, "_collector", exploding)
    rng = np.random.default_rng(1)
    frames = {"gifts_hospitality": gifts(20, 2, 60, rng), "procurement": purchases(20, 2, 60, rng)}
    with pytest.raises(EngineError, match="boom in action"):
        run(compiled(SEQUENCE_BODY), frames, "durable-inprocess")


def test_facts_carry_only_projected_fields_and_every_ruleset_is_freed(monkeypatch):
    """No fact nears durable's 255-property limit; states never pile up past ROTATE_SIDS per ruleset
    (the 1,025th live sid raises MemoryError) and every ruleset created is freed. PACK_FACTS=1: one
    partition per state, as if every partition were large."""
    import json

    import durable_rules_engine

    seen, freed = [], []
    real_assert = durable_mod._assert
    monkeypatch.setattr(durable_mod, "_assert",
                        lambda session, sid, text: (seen.extend(json.loads(text)), real_assert(session, sid, text)))
    real_free = durable_rules_engine.delete_ruleset
    monkeypatch.setattr(durable_rules_engine, "delete_ruleset", lambda h: (freed.append(h), real_free(h)))
    monkeypatch.setattr(durable_mod, "ROTATE_SIDS", 5)
    monkeypatch.setattr(durable_mod, "PACK_FACTS", 1)
    rng = np.random.default_rng(2)
    p = purchases(300, 20, 90, rng)
    for i in range(300):  # 300 extra columns: a fact with them all would exceed durable's 255 properties
        p[f"extra_{i}"] = "x"
    frames = {"gifts_hospitality": gifts(100, 20, 90, rng), "procurement": p}
    found, stats = both(compiled(SEQUENCE_BODY), frames, durable="durable-inprocess")
    assert found and seen and max(len(f) for f in seen) <= 6
    # 20 partitions, 5 per ruleset: 4 rotations + the final close free 5 distinct rulesets
    assert stats.partitions == 20 and len(freed) == 5 == len(set(freed))
    assert len({f["sid"] for f in seen}) == 20


def test_oversized_partition_is_split_and_still_exact():
    rng = np.random.default_rng(4)
    frames = {"gifts_hospitality": gifts(60, 1, 120, rng), "procurement": purchases(200, 1, 120, rng)}
    c = compiled(SEQUENCE_BODY)
    ref, _ = run(c, frames, "reference", params={"window_days": 5})
    from rules.engines.durable import DurableEngine
    small = DurableEngine(max_partition_facts=50)
    import rules.engines as engines_pkg
    original = engines_pkg.get
    engines_pkg.get = lambda name: small if name == "durable-inprocess" else original(name)
    try:
        dur, stats = run(c, frames, "durable-inprocess", params={"window_days": 5})
    finally:
        engines_pkg.get = original
    assert stats.partitions >= 3 and [f.key() for f in dur] == [f.key() for f in ref] and len(ref) > 20


ABSENT_BODY = """inputs:
  post:
    register: workforce
    where: {post_vetting_level|gte: mv}
  clearance:
    register: vetting
    where: {status|eq: active}
match:
  kind: absent
  present: post
  missing: clearance
  on: {person: {post: person_key, clearance: person_key}}
  compare:
    - {left: clearance.level, op: gte, right: post.post_vetting_level}
alert:
  title: "{post.person_key} needs {post.post_vetting_level}"
  subject: post.person_key
  dedup: [post.person_key]
"""


def test_absent_uses_none_with_missing_facts_first():
    w = frame([{"fact_id": f"w{i}", "person_id": f"P{i}", "person_key": f"P{i}", "first_name": "A", "last_name": "B",
                "post_vetting_level": lvl} for i, lvl in enumerate(["mv", "mv", "sc", "none", "dv"])])
    v = frame([{"fact_id": "v0", "record_id": "V0", "person_key": "P0", "level": "mv", "status": "active"},
               {"fact_id": "v1", "record_id": "V1", "person_key": "P1", "level": "mv", "status": "expired"},
               {"fact_id": "v2", "record_id": "V2", "person_key": "P2", "level": "mv", "status": "active"},
               {"fact_id": "v4", "record_id": "V4", "person_key": "P4", "level": "dv", "status": "active"}])
    found, stats = both(compiled(ABSENT_BODY, alias="post"), {"workforce": w, "vetting": v})
    assert sorted(f.facts["post"] for f in found) == [("w1",), ("w2",)]
    assert all(f.as_of is None for f in found)  # state only: as of the period end


AGG_BODY = """inputs:
  gift:
    register: gifts_hospitality
    where: {outcome|eq: accepted}
match:
  kind: aggregate
  group_by: [person_key, org_key]
  date: offered_date
  within_days: 30
  having:
    - {function: count, op: gte, value: 3}
    - {function: sum, field: estimated_value, op: gte, value: {param: total}}
params:
  total: {type: money, default: 1000}
alert:
  title: "{count} gifts worth {sum} from {group.org_key}"
  dedup: [gift.person_key, gift.org_key]
"""


def test_aggregate_windows_sharing_a_row_merge():
    rows = []
    for i, (day, value) in enumerate([("2026-03-01", 500), ("2026-03-10", 500), ("2026-03-20", 500), ("2026-03-29", 500),
                                      ("2026-06-01", 500)]):
        rows.append({"fact_id": f"g{i}", "record_id": f"G{i}", "person_key": "P1", "org_key": "O1", "offered_date": day,
                     "outcome": "accepted", "estimated_value": value})
    g = frame(rows, dates=["offered_date"], money=["estimated_value"])
    found, _ = both(compiled(AGG_BODY), {"gifts_hospitality": g})
    assert [f.facts["gift"] for f in found] == [("g0", "g1", "g2", "g3")]
    assert found[0].title == "4 gifts worth £20.00 from O1"


@pytest.mark.slow
def test_1000_gifts_x_150000_purchases_exact():
    """Unpartitioned, durable-rules found 696 of 12,925 true matches at this size."""
    rng = np.random.default_rng(11)
    frames = {"gifts_hospitality": gifts(1000, 5000, 31, rng, start="2026-12-01"),
              "procurement": purchases(150_000, 5000, 31, rng, start="2026-12-01")}
    found, stats = both(compiled(SEQUENCE_BODY), frames, Period(2026, 12), {"window_days": 7})
    assert sum(stats.rows_selected.values()) == 151_000  # every fact reaches the engine
    assert stats.matches > 10_000 and stats.partitions > 500
