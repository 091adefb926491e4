"""Library defects found on another force's data (issue 21) that an embedded rule test cannot
state (it compares findings, not titles, not-evaluable counts or the report's combined risk).
The rule-level defects are embedded tests in the rule files themselves."""
from __future__ import annotations

from pathlib import Path

from audit.period import Period
from audit.store.views import AlertView, FactView
from reports import summary
from rules.api import LIBRARY, compile_rule, load_rules
from rules.evaluate import evaluate_rule
from rules.testing import frames_from_given

RULES = {r.name: r for r in load_rules([LIBRARY])[0]}


def _run(name: str, given: dict, period: str, engine: str = "reference"):
    rule = RULES[name]
    return evaluate_rule(compile_rule(rule), frames_from_given(rule, given), Period.parse(period), None, engine)


def test_vetting_title_says_expired_for_a_clearance_that_expired_months_ago():
    given = {"clearance": [
        {"record_id": "V1", "person_key": "P1", "level": "mv", "status": "active", "expiry_date": "2026-05-11"},
        {"record_id": "V2", "person_key": "P2", "level": "rv", "status": "active", "expiry_date": "2026-12-15"}]}
    for engine in ("reference", "durable"):
        findings, _ = _run("vetting_expired_or_expiring", given, "2026-10", engine)
        titles = sorted(f.title for f in findings)
        assert titles == ["P1's mv clearance expired 2026-05-11", "P2's rv clearance expires 2026-12-15"], engine


def test_recent_interest_is_not_due_rather_than_not_evaluable():
    given = {"interest": [
        {"record_id": "B1", "person_key": "P1", "interest_type": "trainer", "submitted_date": "2026-04-10",
         "decision": "approved", "decision_date": "2026-05-01"},
        {"record_id": "B2", "person_key": "P2", "interest_type": "trainer", "submitted_date": "2026-01-10",
         "decision": "approved", "decision_date": "2026-02-01", "last_reviewed_date": "2026-03-01"}]}
    findings, stats = _run("interest_review_overdue", given, "2026-06")
    assert findings == [] and stats.not_evaluable == {}


def _fact(register: str, n: int, **values) -> FactView:
    return FactView(alias=register, fact_id=f"{register}#{n}", register=register, source="s", file="f.csv",
                    row=n, values=values)


def _alert(n: int, level: str, facts: list[FactView]) -> AlertView:
    return AlertView(id=n, fingerprint=f"fp{n}", rule_id="r", rule_name=f"rule{n}", rule_title="t",
                     rule_version="v", rule_description="d", runbook="", level=level,
                     registers=sorted({f.register for f in facts}), title="t", subject="P1", subject_name=None,
                     department=None, status="new", novelty="new", first_period="2026-10", period="2026-10",
                     params={}, values={}, facts=facts)


def test_combined_risk_does_not_score_police_forces_as_organisations():
    barred = [_alert(1, "critical", [_fact("workforce", 1, person_key="P1"),
                                     _fact("barred_list", 2, surname="Crane", former_force="Pennine Police",
                                           org_key="ORG:PP")]),
              _alert(2, "high", [_fact("notifiable_associations", 3, associate_name="V Crane", org_key=None),
                                 _fact("barred_list", 4, surname="Crane", former_force="Northshire Police",
                                       org_key="ORG:NP")]),
              # the same force elsewhere in the evidence (a donor) is still a force
              _alert(3, "medium", [_fact("gifts_hospitality", 5, donor_name="PENNINE POLICE", org_key="ORG:PP")]),
              _alert(4, "high", [_fact("procurement", 6, supplier_name="Acme Ltd", org_key="ORG:AC")]),
              _alert(5, "low", [_fact("procurement", 7, supplier_name="Sample Constabulary", org_key="ORG:SC")])]
    names = [e.name for e in summary.top_organisations(barred, force_name="Sample Constabulary")]
    assert names == ["Acme Ltd"]
