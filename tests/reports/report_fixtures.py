"""A realistic hand-built RunView for the report / export / delivery tests: dozens of alerts across
rules, registers, levels and departments, with hostile register text (HTML, formulas, unicode).
(A module of its own, uniquely named, so test files can import it unambiguously.)"""
from __future__ import annotations

import importlib.util
import random
from datetime import date, datetime, timedelta, timezone

from pathlib import Path

from audit.store.views import (AlertView, DispositionView, FactView, LinkView, RunView,
                               SourceLoadView)

#: Register text an attacker (or an unlucky clerk) could type into a register.
HOSTILE = [
    "<script>alert('x')</script>",
    '"Quoted" & \'single\' <b>bold</b>',
    "=cmd|' /C calc'!A0",
    "+SUM(1)",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=HYPERLINK(\"http://evil.example\")",
    "Zoë Ørsted – café ✓ 東京 $5 voucher",
]

RULES = [  # name, level, registers, sensitivity
    ("gift_from_recent_supplier", "high", ["gifts_hospitality", "procurement"], "internal"),
    ("gifts_over_threshold_unapproved", "medium", ["gifts_hospitality"], "internal"),
    ("gifts_repeated_donor", "low", ["gifts_hospitality"], "internal"),
    ("supplier_matches_business_interest", "critical", ["procurement", "business_interests"], "internal"),
    ("interest_review_overdue", "low", ["business_interests"], "internal"),
    ("association_with_supplier", "high", ["notifiable_associations", "procurement"], "sensitive"),
    ("expenses_duplicate_claim", "medium", ["expenses"], "internal"),
    ("expenses_weekend_claim", "informational", ["expenses"], "internal"),
    ("procurement_split_invoices", "medium", ["procurement"], "internal"),
    ("vetting_post_requires_higher_level", "critical", ["vetting", "workforce"], "sensitive"),
]
DEPARTMENTS = ["Fleet", "Estates", "Major Crime", "Professional Standards", None, HOSTILE[0]]
PEOPLE = [(f"P{n:05d}", name) for n, name in enumerate(
    ["Jane Smith", "Tom O'Brien", "Zoë Ørsted", "Amir Khan", "Li Wei", "Ruth Ellis",
     "Mark Jones", "=cmd|' /C calc'!A0"], start=101)]
ORGS = [("ORG:0123", "Acme Fleet Services Ltd", "01234567"),
        ("ORG:0456", "Blue Lamp Security", "07654321"),
        ("ORG:0789", HOSTILE[2], "99999999")]


def _fact(rng: random.Random, register: str, alias: str, n: int, person, org) -> FactView:
    pid, pname = person
    okey, oname, ocn = org
    text = rng.choice(HOSTILE + ["Tickets to the cup final", "Dinner at the Ivy"])
    day = date(2026, 3, 1) + timedelta(days=rng.randrange(31))
    values: dict = {
        "gifts_hospitality": {"record_id": f"G{n:05d}", "person_id": pid, "person_key": pid,
                              "offered_date": day.isoformat(), "donor_name": oname, "org_key": okey,
                              "donor_company_number": ocn, "kind": "hospitality",
                              "description": text, "estimated_value": rng.choice([2600, 15000, 99]),
                              "outcome": "accepted", "approver": None},
        "procurement": {"transaction_id": f"=INV{n:04d}" if n % 7 == 0 else f"INV{n:04d}",
                        "line_no": "1", "supplier_name": oname, "org_key": okey,
                        "company_number": ocn, "net_amount": rng.choice([499999, 120050, -2500]),
                        "transaction_date": day.isoformat(), "requisitioner": pid,
                        "requisitioner_key": pid, "route": "single_tender_waiver",
                        "department": "Fleet"},
        "business_interests": {"record_id": f"B{n:05d}", "person_id": pid, "person_key": pid,
                               "interest_type": "directorship", "organisation_name": oname,
                               "org_key": okey, "company_number": ocn, "hours_per_week": 7.5,
                               "submitted_date": "2024-01-05", "decision": "approved"},
        "notifiable_associations": {"record_id": f"N{n:05d}", "person_id": pid, "person_key": pid,
                                    "associate_name": "Vincent Crane", "associate_dob": "1970-02-03",
                                    "associate_organisation": oname, "org_key": okey,
                                    "relationship": text, "category": "organised_crime",
                                    "declared_date": "2025-05-01"},
        "expenses": {"claim_id": f"C{n:05d}", "line_id": "1", "person_id": pid, "person_key": pid,
                     "expense_date": day.isoformat(), "expense_type": "subsistence",
                     "description": text, "amount": rng.choice([1250, 4000, 10000]),
                     "merchant": "Café Rouge"},
        "vetting": {"record_id": f"V{n:05d}", "person_id": pid, "person_key": pid, "level": "rv",
                    "status": "active", "expiry_date": "2027-01-31"},
        "workforce": {"person_id": pid, "first_name": pname.split()[0],
                      "last_name": pname.split()[-1], "person_key": pid, "department": "Fleet",
                      "post_vetting_level": "mv", "date_of_birth": "1980-06-15"},
    }[register]
    return FactView(alias=alias, fact_id=f"{register}:{n}:{n * 7919 % 10**12:012x}",
                    register=register, source=f"{register}_csv", file=f"/data/{register}.csv",
                    row=n + 2, values=values)


def make_run(n_alerts: int = 48, seed: int = 7, failed_source: bool = True,
             period: str = "2026-03") -> RunView:
    rng = random.Random(seed)
    started = datetime(2026, 4, 1, 2, 0, tzinfo=timezone.utc)
    alerts = []
    for i in range(n_alerts):
        rule, level, regs, sens = RULES[i % len(RULES)]
        person = PEOPLE[rng.randrange(len(PEOPLE))]
        org = ORGS[rng.randrange(len(ORGS))]
        facts = [_fact(rng, reg, reg.split("_")[0], i * 10 + k, person, org)
                 for k, reg in enumerate(regs)]
        links = [LinkView(fact_id=facts[0].fact_id, field="org_key", key=org[0], method=m,
                          score=s, strength="strong" if s >= 92 else "weak",
                          source_text=org[1], matched_text=org[1].upper())
                 for m, s in [("identifier", 100.0), ("fuzzy", 88.5)][: 1 + i % 2]]
        history = [DispositionView("in_review", "Reviewer <R1>", started + timedelta(days=d),
                                   rng.choice(HOSTILE)) for d in range(i % 3)]
        carried = i % 4 == 0
        alerts.append(AlertView(
            id=1000 + i, fingerprint=f"{i:064x}", rule_id=f"uuid-{rule}", rule_name=rule,
            rule_title=rule.replace("_", " ").capitalize(), rule_version=f"{i % 5:064x}",
            rule_description="Flags " + rule.replace("_", " ") + ".\nSee force policy 4.2.",
            runbook="1. Check the register.\n2. " + HOSTILE[i % len(HOSTILE)], level=level,
            registers=regs, title=f"{rule} for {person[1]} ({org[1]})", subject=person[0],
            subject_name=person[1], department=DEPARTMENTS[i % len(DEPARTMENTS)],
            status="in_review" if history else "new", novelty="carried" if carried else "new",
            first_period="2025-11" if carried else period, period=period,
            params={"threshold_pence": 2500, "within_days": 90},
            values={"gift.donor_name": org[1], "gift.person_name": person[1],
                    "purchase.net_amount": 120050},
            facts=facts, links=links, history=history, sensitivity=sens,
            assignee="reviewer1" if i % 5 == 0 else None))
    resolved = [AlertView(
        id=900 + k, fingerprint=f"r{k:063x}", rule_id="uuid-r", rule_name="gifts_declared_late",
        rule_title="Gifts declared late", rule_version="0" * 64, rule_description="Late.",
        runbook="", level="low", registers=["gifts_hospitality"], title=f"Resolved {k}",
        subject=PEOPLE[k][0], subject_name=PEOPLE[k][1], department="Fleet",
        status="no_further_action", novelty="carried", first_period="2025-10", period=period,
        params={}, values={}) for k in range(3)]
    sources = [
        SourceLoadView(source=f"{reg}_csv", register=reg, kind="csv", location=f"/data/{reg}.csv",
                       status="loaded", error=None, rows_read=1000 + k, rows_accepted=990 + k,
                       rows_quarantined=10,
                       files=[{"path": f"/data/{reg}.csv", "sha256": f"{k:064x}", "rows": 1000 + k}],
                       top_reasons=[("estimated_value: not money (\"£12,50\")", 7),
                                    (HOSTILE[0], 3)])
        for k, reg in enumerate(["gifts_hospitality", "procurement", "business_interests",
                                 "notifiable_associations", "vetting", "workforce"])]
    if failed_source:
        sources.append(SourceLoadView(
            source="expenses_sql", register="expenses", kind="sql", location="${FINANCE_DB_URL}",
            status="failed", error="could not connect to 10.0.0.5:5432 (connection refused)",
            rows_read=0, rows_accepted=0, rows_quarantined=0, files=[], top_reasons=[]))
    trend = [{"period": f"{2025 + (m > 12)}-{(m - 1) % 12 + 1:02d}", "new": m % 5 + 2,
              "carried": m, "total": m % 5 + 2 + m} for m in range(4, 16)]
    return RunView(
        id=42, period=period, status="partial" if failed_source else "succeeded",
        started_at=started, finished_at=started + timedelta(minutes=3), engine="durable",
        error=None, sources=sources,
        rule_versions=[{"id": f"uuid-{r}", "name": r, "version": f"{k:064x}", "level": lv}
                       for k, (r, lv, _, _) in enumerate(RULES)],
        alerts=alerts,
        counts={"sources_loaded": 6, "sources_failed": int(failed_source), "rows_read": 6015,
                "rows_accepted": 5955, "rows_quarantined": 60, "rules_evaluated": len(RULES),
                "findings": n_alerts, "alerts_new": sum(a.novelty == "new" for a in alerts),
                "alerts_carried": sum(a.novelty != "new" for a in alerts), "alerts_resolved": 3},
        resolved=resolved, trend=trend)


def store_run_factory():
    """tests/store/factory.py (RunInputs for record_run), loaded under a name of its own."""
    path = Path(__file__).resolve().parents[1] / "store" / "factory.py"
    spec = importlib.util.spec_from_file_location("store_run_factory", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
