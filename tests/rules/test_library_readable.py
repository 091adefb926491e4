"""Shipped rules read well and decide what they can: blanks in open-ended fields are decided
where the rule can (a blank leaving date is someone still in post); titles name organisations."""
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


def test_aggregate_titles_name_the_organisation_not_only_its_key():
    """Grouped by org_key, the title shows the latest item's donor as written, with the key."""
    gifts = frame([{"fact_id": f"g{i}", "record_id": f"G{i}", "person_key": "P1", "org_key": "CN:01234567",
                    "donor_name": name, "offered_date": day, "outcome": "accepted", "estimated_value": 1000}
                   for i, (name, day) in enumerate([("Acme Ltd", "2026-01-05"), ("ACME LIMITED", "2026-02-05"),
                                                    ("Acme Limited", "2026-03-05")])],
                  dates=["offered_date"], money=["estimated_value"])
    found, _stats = both(_library_rule("gifts_repeated_donor"), {"gifts_hospitality": gifts})
    assert [f.title for f in found] == ["P1 accepted 3 items from Acme Limited (CN:01234567) within 365 days"]


def test_a_blank_value_ending_a_title_is_left_out_with_its_separator():
    from rules.render import BLANK, render

    shown = {"i.id": "BI7", "i.org": BLANK, "i.person": BLANK}
    assert render("Interest {i.id} of P1: {i.org}", shown.get) == "Interest BI7 of P1"
    # a blank in the middle still says so: the reader must see the value is missing
    assert render("Interest {i.id} of {i.person}: {i.org}", shown.get) == f"Interest BI7 of {BLANK}"
    assert render("Interest {i.id}: {i.org}", {"i.id": "BI7", "i.org": "Acme"}.get) == "Interest BI7: Acme"


def test_explain_says_the_look_back_in_words():
    from rules.explain import explain

    rules, _ = load_rules([LIBRARY])
    texts = {r.name: explain(compile_rule(r)) for r in rules}
    assert not any("largest of none" in t for t in texts.values())
    assert any("Look-back: none (only rows dated in the period are read)" in t for t in texts.values())
