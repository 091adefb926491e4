"""Which alerts are need-to-know (CCU only) follows the fields a rule reads, not everything its
registers hold: reviewers see gifts x procurement, the CCU alone sees associations, vetting and
bank-account matches; and evidence shown without need-to-know has no sensitive values."""
from __future__ import annotations

import dataclasses

from audit.pipeline import _rule_sensitivity
from audit.store.views import AlertView, FactView
from reports.summary import redact_sensitive_values
from rules.api import LIBRARY, compile_rule, load_rules


def test_need_to_know_rules_are_associations_vetting_and_bank_matches():
    rules, problems = load_rules([LIBRARY])
    assert not problems
    sensitive = {r.name for r in rules if _rule_sensitivity(compile_rule(r)) == "sensitive"}
    assert sensitive == ({r.name for r in rules if r.name.startswith(("association_", "vetting_", "access_"))}
                         | {"procurement_vendor_employee_bank_match"})
    assert "gift_from_recent_supplier" not in sensitive and "procurement_split_invoices" not in sensitive


def test_evidence_loses_need_to_know_values_for_readers_without_it():
    purchase = FactView(alias="purchase", fact_id="p1", register="procurement", source="ap", file="ap.csv", row=2,
                        values={"supplier_name": "Acme Ltd", "net_amount": 120000, "supplier_bank_hash": "ab12cd"})
    staff = FactView(alias="staff", fact_id="w1", register="workforce", source="hr", file="hr.csv", row=3,
                     values={"first_name": "Jo", "bank_account_hash": "ef34"})
    alert = AlertView(**{**_blank_alert(), "facts": [purchase, staff]})
    shown = redact_sensitive_values(alert)
    assert [f.values for f in shown.facts] == [{"supplier_name": "Acme Ltd", "net_amount": 120000},
                                               {"first_name": "Jo"}]
    assert alert.facts[0].values["supplier_bank_hash"] == "ab12cd"  # the original is untouched


def _blank_alert() -> dict:
    return {f.name: None for f in dataclasses.fields(AlertView)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
