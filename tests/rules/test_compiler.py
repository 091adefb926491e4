"""Compiled form: deterministic version hash, params not baked in, fixed safe clause order."""
from __future__ import annotations

import json

from helpers import SEQUENCE_BODY, compiled

from rules.engines.durable import definition


def test_same_rule_same_hash_and_json_round_trip():
    a, b = compiled(SEQUENCE_BODY), compiled(SEQUENCE_BODY)
    assert a.version == b.version and len(a.version) == 64
    assert json.loads(a.canonical_json())["name"] == "test_rule"


def test_reordered_conditions_same_hash_changed_rule_different_hash():
    body = SEQUENCE_BODY.replace("where: {outcome|eq: accepted}", "where: {outcome|eq: accepted, kind|eq: gift}")
    swapped = SEQUENCE_BODY.replace("where: {outcome|eq: accepted}", "where: {kind|eq: gift, outcome|eq: accepted}")
    assert compiled(body).version == compiled(swapped).version
    assert compiled(body).version != compiled(SEQUENCE_BODY).version
    assert compiled(SEQUENCE_BODY.replace("order: any", "order: any\n  compare: [{left: gift.person_key, op: ne, right: purchase.org_key}]")).version \
        != compiled(SEQUENCE_BODY).version


def test_param_defaults_do_not_leak_into_compares():
    c = compiled(SEQUENCE_BODY)
    assert all(cmp["offset"] in (None, {"param": "window_days"}) for cmp in c.compares)
    assert c.lookback == ({"param": "window_days"},)


def test_clause_order_is_equalities_then_comparisons_and_never_an_or():
    body = SEQUENCE_BODY.replace("order: any", "order: any\n  compare:\n"
                                 "    - {left: gift.estimated_value, op: lte, right: purchase.net_amount}\n"
                                 "    - {left: gift.person_key, op: eq, right: purchase.approver_key}") \
        .replace("where: {net_amount|gt: 0}", "where: {net_amount|gt: 0}\n    where_any: [{route|eq: card}, {net_amount|gte: 100}]")
    c = compiled(body)
    ops = [x["op"] for x in c.compares]
    assert ops[0] == "eq" and "eq" not in ops[1:]
    d = definition(c, {"window_days": 90})
    text = json.dumps(d["r_0"]["all"])
    assert "$or" not in text
    clauses = d["r_0"]["all"][1]["p_purchase"]["$and"]
    assert clauses[0] == {"t": "purchase"} and clauses[1] == {"k": {"p_gift": "k"}}
    assert "f_approver_key" in clauses[2]  # the cross-fact equality comes before the range comparisons
