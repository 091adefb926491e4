"""The vetting "no review after a new association / interest" plants agree with the shipped rules.

Each planted declaration must be reported by its rule in exactly the truth period (the rule checks
it once, in the month its 30-day deadline passes) and each decoy never. Many plants per month so
every day of the month is a deadline somewhere: a truth period off by one day shows up. The end
month has 30 days, so a plant whose deadline fell after the data would show up too.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from audit.generator import hr_records, people
from audit.generator.core import Gen
from audit.generator.orgs import Orgs
from audit.generator.procurement import Procurement
from audit.generator.scenarios import Planter
from audit.generator.scenarios_declarations import no_review
from rules.api import load_rule
from rules.compiler import compile_rule
from rules.evaluate import evaluate_rule
from rules.testing import frames_from_given

LIBRARY = Path(__file__).resolve().parents[2] / "rules" / "library" / "vetting"
PLANTS_PER_MONTH = 8
KINDS = {  # rule -> (present alias, its register, its date field, plant interests?)
    "vetting_no_review_after_new_association": ("assoc", "notifiable_associations", "declared_date", False),
    "vetting_no_review_after_new_interest": ("interest", "business_interests", "submitted_date", True),
}


@pytest.fixture(scope="module")
def planted() -> Gen:
    g = Gen(seed=5, scale=0.5, months=12, end="2026-09")
    people.build_workforce(g)
    people.workforce_rows(g)
    hr_records.build(g)
    orgs = Orgs(g)
    planter = Planter(g, orgs, Procurement(g, orgs))
    for m in g.periods[1:]:
        for i in range(PLANTS_PER_MONTH):
            for _, _, _, interest in KINDS.values():
                no_review(planter, m, decoy=i % 4 == 3, interest=interest)
    return g


def _given(g: Gen, register: str, date_field: str, alias: str) -> tuple[dict, list[int]]:
    """The rule's `given` rows from the generator's rows; and the row handles in the same order."""
    decl = g.rows[register]
    vetting = [v for v in g.rows["vetting"] if v["last_review_date"] is not None]

    def day(d):
        return d.isoformat() if d else None

    given = {
        alias: [{"record_id": str(r["_h"]), "person_key": r["person_id"], date_field: day(r[date_field]),
                 **({"decision": r["decision"]} if "decision" in r else {})} for r in decl],
        "clearance": [{"record_id": str(v["_h"]), "person_key": v["person_id"], "level": v["level"],
                       "status": v["status"], "last_review_date": day(v["last_review_date"])} for v in vetting],
    }
    return given, [r["_h"] for r in decl]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_plant_is_reported_in_its_truth_period_and_no_decoy_ever(planted, kind):
    alias, register, date_field, _ = KINDS[kind]
    rule, problems = load_rule(LIBRARY / f"{kind}.yaml")
    assert rule is not None, [str(p) for p in problems]
    compiled = compile_rule(rule)
    given, handles = _given(planted, register, date_field, alias)
    frames = frames_from_given(rule, given)
    reported: dict[int, list[str]] = {}  # row handle -> periods whose run reports it
    for period in planted.periods:
        findings, _ = evaluate_rule(compiled, frames, period, {}, "reference")
        for f in findings:
            for fact in f.facts[alias]:
                reported.setdefault(handles[int(fact.split("#")[1])], []).append(str(period))

    def handle(entry):
        return next(h for reg, h in entry["records"] if reg == register)

    scenarios = [e for e in planted.truth.scenarios if e["kind"] == kind]
    decoys = [e for e in planted.truth.decoys if e["kind"] == kind]
    assert len(scenarios) > 60 and len(decoys) > 15
    wrong = [(e["note"], e["period"], reported.get(handle(e))) for e in scenarios
             if reported.get(handle(e)) != [e["period"]]]
    assert wrong == []
    assert [e["note"] for e in decoys if handle(e) in reported] == []
