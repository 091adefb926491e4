"""Builds realistic RunInputs for the store tests and benchmark: N findings with K facts each,
canonical dtypes (dates datetime64, money Int64 pence), entity links and quarantine."""
from __future__ import annotations

import pandas as pd

from audit.period import Period
from audit.store.record import RuleInfo, RunInput, SourceLoadInput
from rules.finding import Finding

GIFT_RULE = RuleInfo(id="9d0c2f9e-0000-4000-8000-000000000001", name="gifts_over_threshold_unapproved",
                     version="a" * 64, level="high", title="Gift over the threshold with no approver",
                     description="Accepted gift over £25 with no approver.", runbook="Ask the approver.",
                     registers=["gifts_hospitality"], sensitivity="internal")
VET_RULE = RuleInfo(id="9d0c2f9e-0000-4000-8000-000000000002", name="vetting_expired",
                    version="b" * 64, level="critical", title="Vetting expired", description="Clearance expired.",
                    runbook="Check with vetting.", registers=["vetting"], sensitivity="sensitive")


def build(period: str, keys, *, rule: RuleInfo = GIFT_RULE, facts_per: int = 3, status: str = "succeeded",
          failed_register: str | None = None, quarantine_rows: int = 2, actor: str = "cli",
          extra_rules: tuple[RuleInfo, ...] = (), state: bool = False) -> RunInput:
    """state=True: findings of a condition (no as-of date), which resolve when no longer found;
    otherwise event findings (as of the period start), which are reported and never resolve."""
    p = Period.parse(period)
    findings, facts, links = [], [], []
    for n, k in enumerate(keys):
        ids = tuple(f"gifts:{k}:{j}" for j in range(facts_per))
        for j, fid in enumerate(ids):
            facts.append({"fact_id": fid, "register": "gifts_hospitality", "_source": "gifts",
                          "_file": "gifts_2026.csv", "_row": n * facts_per + j + 2, "record_id": f"{k}-{j}",
                          "person_id": f"P{k}", "offered_date": pd.Timestamp(p.start), "declared_date": pd.NaT,
                          "donor_name": "Acme Security Ltd", "estimated_value": 4500 + j, "kind": "gift"})
            links.append({"fact_id": fid, "register": "gifts_hospitality", "field": "org_key", "key": "O:acme",
                          "method": "fuzzy", "score": 93.5, "strength": "strong",
                          "source_text": "ACME Security Limited", "matched_text": "Acme Security Ltd"})
        findings.append(Finding(rule_id=rule.id, rule_name=rule.name, rule_version=rule.version, level=rule.level,
                                title=f"Gift {k} over £25 with no approver", subject=f"P{k}", facts={"gift": ids},
                                dedup=(str(k),), params={"threshold": 2500},
                                values={"gift.donor_name": "Acme Security Ltd", "gift.estimated_value": 4500},
                                as_of=None if state else p.start))
    fdf = pd.DataFrame(facts) if facts else pd.DataFrame(columns=["fact_id", "register", "_source", "_file", "_row"])
    if facts:
        fdf["estimated_value"] = fdf["estimated_value"].astype("Int64")
        fdf["declared_date"] = pd.to_datetime(fdf["declared_date"])
    q = pd.DataFrame({"source": ["gifts"] * quarantine_rows, "file": ["gifts_2026.csv"] * quarantine_rows,
                      "row": list(range(900, 900 + quarantine_rows)), "column": ["estimated_value"] * quarantine_rows,
                      "value": ["£abc"] * quarantine_rows, "reason": ["not a money amount"] * quarantine_rows})
    n_acc = len(facts)
    sources = [SourceLoadInput(name="gifts", register="gifts_hospitality", kind="csv", location="data/gifts_*.csv",
                               status="loaded", error=None, rows_read=n_acc + quarantine_rows, rows_accepted=n_acc,
                               rows_quarantined=quarantine_rows,
                               files=[{"path": "gifts_2026.csv", "sha256": "0" * 64, "rows": n_acc + quarantine_rows}],
                               quarantine=q)]
    if failed_register:
        sources.append(SourceLoadInput(name="hr", register=failed_register, kind="sql", location="HR_DB_URL",
                                       status="failed", error="could not connect to the HR database", rows_read=0,
                                       rows_accepted=0, rows_quarantined=0))
    people = {f"P{k}": {"name": f"Officer {k}", "department": "Roads Policing", "line_manager_id": "P0"} for k in keys}
    return RunInput(period=p, engine="reference", sources=sources, rules=[rule, *extra_rules], findings=findings,
                    facts=fdf, links=pd.DataFrame(links), people=people, status=status, actor=actor,
                    error="source hr failed" if failed_register else None)

