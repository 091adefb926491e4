"""Shipped rules decide blanks in open-ended fields instead of reporting them as not evaluable,
where the rule can: a blank leaving date is someone still in post."""
from __future__ import annotations


from test_engines import both, frame

from rules.api import LIBRARY, compile_rule, load_rules


def _library_rule(name: str):
    rules, problems = load_rules([LIBRARY])
    assert not problems
    return compile_rule(next(r for r in rules if r.name == name))


def test_leaver_rule_counts_no_current_staff_as_not_evaluable():
    staff = frame([{"fact_id": "w1", "person_id": "P1", "person_key": "P1", "first_name": "A", "last_name": "B",
                    "end_date": None},
                   {"fact_id": "w2", "person_id": "P2", "person_key": "P2", "first_name": "C", "last_name": "D",
                    "end_date": "2026-02-01"}], dates=["end_date"])
    vetting = frame([{"fact_id": "v1", "record_id": "V1", "person_key": "P1", "level": "mv", "status": "active"},
                     {"fact_id": "v2", "record_id": "V2", "person_key": "P2", "level": "mv", "status": "active"}])
    found, stats = both(_library_rule("vetting_leaver_live_clearance"), {"workforce": staff, "vetting": vetting})
    assert [f.facts for f in found] == [{"staff": ("w2",), "clearance": ("v2",)}]
    assert stats.not_evaluable == {}
