"""Seeds a store with a realistic run for the web tests and benchmark: gifts x procurement
alerts (internal, with fuzzy org links), vetting alerts (sensitive), people with departments
and line managers, a hostile donor name, and users of every role."""
from __future__ import annotations

from datetime import date

import pandas as pd

from audit.period import Period
from audit.store import open_store
from audit.store.record import RuleInfo, RunInput, SourceLoadInput, mark_published, record_run
from audit.web import users
from rules.finding import Finding

PASSWORD = "correct horse battery staple"
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'

GIFT_RULE = RuleInfo(id="11111111-0000-4000-8000-000000000001", name="gift_from_supplier",
                     version="a" * 64, level="high", title="Gift from a current supplier",
                     description="A gift accepted from an organisation the force buys from.",
                     runbook="Check who approved the purchase and whether the recipient was involved.",
                     registers=["gifts_hospitality", "procurement"], sensitivity="internal")
VET_RULE = RuleInfo(id="11111111-0000-4000-8000-000000000002", name="vetting_expired_in_post",
                    version="b" * 64, level="critical", title="Vetting expired for a post that needs it",
                    description="The post requires vetting the holder no longer has.",
                    runbook="Refer to the vetting unit.", registers=["vetting"], sensitivity="sensitive")

# people: P0 heads Roads Policing; P1..P4 report to P0; P5..P8 work in Custody under P9.
PEOPLE = {f"P{i}": {"name": f"Officer {i}", "department": "Roads Policing" if i < 5 else "Custody",
                    "line_manager_id": None if i in (0, 9) else ("P0" if i < 5 else "P9")} for i in range(10)}
USERS = {  # name -> (role, department, person_id)
    "rita": ("reviewer", None, "P1"), "rob": ("reviewer", None, None), "cara": ("ccu", None, None),
    "aude": ("auditor", None, None), "adam": ("admin", None, None), "boss": ("reviewer", None, "P0"),
    "dora": ("reviewer", "Custody", None),
}


def run_input(period: str, n_gifts: int, n_vetting: int, *, hostile: bool = True) -> RunInput:
    p = Period.parse(period)
    facts, links, findings = [], [], []
    people = dict(PEOPLE)
    for n in range(n_gifts):
        subject = f"P{n % 10}" if n < 50 else f"S{n}"
        if subject not in people:
            people[subject] = {"name": f"Staff {n}", "department": ["Roads Policing", "Custody", "CID"][n % 3],
                               "line_manager_id": "P9"}
        donor = HOSTILE if (hostile and n == 0) else f"Supplier {n % 40} Ltd"
        gid, pid = f"gifts:{n}", f"proc:{n}"
        facts.append({"fact_id": gid, "register": "gifts_hospitality", "_source": "gifts", "_file": "gifts.csv",
                      "_row": n + 2, "record_id": f"G{n}", "person_id": subject, "donor_name": donor,
                      "estimated_value": 5000 + n, "offered_date": pd.Timestamp(p.start), "kind": "gift"})
        facts.append({"fact_id": pid, "register": "procurement", "_source": "finance", "_file": "ap.xlsx",
                      "_row": n + 5, "supplier_name": donor, "net_amount": 120000 + n,
                      "transaction_date": pd.Timestamp(p.start)})
        org = f"O:{n % 40}"
        for fid, text in ((gid, donor), (pid, donor.upper())):
            links.append({"fact_id": fid, "register": "gifts_hospitality" if fid == gid else "procurement",
                          "field": "org_key", "key": org, "method": "fuzzy", "score": 94.0, "strength": "strong",
                          "source_text": text, "matched_text": f"Supplier {n % 40} Limited"})
        findings.append(Finding(rule_id=GIFT_RULE.id, rule_name=GIFT_RULE.name, rule_version=GIFT_RULE.version,
                                level=GIFT_RULE.level, title=f"Gift from supplier: {donor}", subject=subject,
                                facts={"gift": (gid,), "purchase": (pid,)}, dedup=(str(n),),
                                params={"min_value": 2500, "within_days": 365},
                                values={"gift.donor_name": donor}, as_of=p.start))
    for n in range(n_vetting):
        subject = f"P{n % 10}"
        vid = f"vet:{n}"
        facts.append({"fact_id": vid, "register": "vetting", "_source": "vetting", "_file": "vetting.csv",
                      "_row": n + 2, "person_id": subject, "level": "MV", "status": "expired",
                      "expires": pd.Timestamp(date(2020, 1, 1))})
        findings.append(Finding(rule_id=VET_RULE.id, rule_name=VET_RULE.name, rule_version=VET_RULE.version,
                                level=VET_RULE.level, title=f"Vetting expired: {subject} ({n})", subject=subject,
                                facts={"vetting": (vid,)}, dedup=(str(n),), params={"grace_days": 30},
                                values={}, as_of=p.start))
    fdf = pd.DataFrame(facts)
    for col in ("estimated_value", "net_amount"):
        fdf[col] = fdf[col].astype("Int64")
    sources = [SourceLoadInput(name=name, register=reg, kind="csv", location=f"data/{name}.csv", status="loaded",
                               error=None, rows_read=rows + 1, rows_accepted=rows, rows_quarantined=1,
                               quarantine=pd.DataFrame({"source": [name], "file": [f"{name}.csv"], "row": [999],
                                                        "column": ["x"], "value": ["?"],
                                                        "reason": ["not a date"]}))
               for name, reg, rows in (("gifts", "gifts_hospitality", n_gifts), ("finance", "procurement", n_gifts),
                                       ("vetting", "vetting", n_vetting))]
    return RunInput(period=p, engine="reference", sources=sources, rules=[GIFT_RULE, VET_RULE], findings=findings,
                    facts=fdf, links=pd.DataFrame(links), people=people, status="succeeded", actor="seed")


def seed(url: str, *, n_gifts: int = 30, n_vetting: int = 10, period: str = "2026-10"):
    """A migrated store at `url` with one recorded and published run and the USERS; returns the Store."""
    store = open_store(url)
    summary = record_run(store, run_input(period, n_gifts, n_vetting))
    mark_published(store, summary.run_id, actor="seed")  # its outputs: webtest.write_outputs
    for name, (role, dept, pid) in USERS.items():
        users.add_user(store, name, role, PASSWORD, actor="seed", department=dept, person_id=pid)
    return store
