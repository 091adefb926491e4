"""Background gifts & hospitality, business interests and notifiable associations.

Clean against the catalogue by construction: accepted items are modest, declared within 21 days,
approved above £25 by the line manager, never cash / vouchers / tickets / alcohol / dinners, at
most two from one donor to one person; donors and interest / associate organisations are never
suppliers; interests are reviewed, approved ones within 16 hours and low-risk types; every
declaration inside the window is followed by an aftercare review within 28 days.
"""
from __future__ import annotations

from datetime import date, timedelta

from audit.generator.core import Gen, Person
from audit.generator.hr_records import absent_on, set_review
from audit.generator.orgs import Orgs

SAFE_GIFT = ["Box of chocolates", "Branded pen set", "Thank-you card and biscuits", "Bouquet of flowers",
             "Framed photograph", "Book on local history", "Mug and coaster set", "Tin of biscuits",
             "Desk plant", "Commemorative plaque"]
SAFE_HOSP = ["Working lunch at partnership meeting", "Buffet lunch at community event",
             "Coffee and sandwiches at briefing", "Conference lunch", "Tea and cakes at residents meeting",
             "Breakfast at business forum"]
RISKY = ["Two tickets to a football match", "Bottle of wine", "Cash in a thank-you card",
         "£20 high street voucher", "Christmas dinner invitation", "Evening drinks reception",
         "Concert tickets", "Gift card", "Hamper with champagne"]
INTEREST_TYPES = {"property_rental": 25, "paid_hobby": 10, "self_employed": 12, "trainer": 6, "consultant": 4,
                  "waged": 12, "directorship": 6, "family_business": 8, "entertainer": 4, "voluntary": 10,
                  "other": 3}
WITH_ORG = {"waged", "directorship", "family_business", "self_employed"}
ROLE = {"directorship": "director", "self_employed": "owner", "family_business": "owner", "waged": "employee"}
CATEGORIES = {"criminal_record": 35, "under_investigation": 10, "charged": 5, "organised_crime": 3,
              "drug_supply": 5, "dismissed_from_policing": 5, "private_investigator": 5, "journalist": 7,
              "extremism": 1, "other": 24}
RELATIONSHIPS = ["Brother", "Sister", "Cousin", "Partner's father", "School friend", "Neighbour",
                 "Former partner", "Brother-in-law", "Friend from sports club", "Son"]


def _pick(rng, weights: dict[str, int]) -> str:
    keys = list(weights)
    w = [weights[k] for k in keys]
    return keys[int(rng.choice(len(keys), p=[x / sum(w) for x in w]))]


def name_as_written(p: Person, style: int) -> str:
    return [f"{p.first_name} {p.last_name}", f"{p.last_name}, {p.first_name}",
            f"{p.first_name[0]}. {p.last_name}"][style]


def long_sick(g: Gen, person_id: str, day: date) -> bool:
    return any(r["absence_type"] == "sickness" and (( r["end_date"] or g.end) - r["start_date"]).days + 1 >= 28
               and r["start_date"] <= day <= (r["end_date"] or g.end) for r in g.absences.get(person_id, ()))


def _free_people(g: Gen) -> list[Person]:
    return [p for p in g.people if p.person_id not in g.reserved and g.active(p) and p.line_manager_id]


def gifts(g: Gen, orgs: Orgs) -> None:
    rng = g.rng("gifts")
    donors = [orgs.donor() for _ in range(g.count(150, 10))]
    people = _free_people(g)
    pair: dict[tuple[str, str], list[int]] = {}
    twins = [grp for grp in _same_dept_twins(g) if all(p.person_id not in g.reserved for p in grp)]
    for i in range(g.count(600, 20)):
        p = people[int(rng.integers(len(people)))]
        divisional = rng.random() < 0.15
        if divisional and twins and i % 25 == 0:
            p = twins[(i // 25) % len(twins)][0]
        org = donors[int(rng.integers(len(donors)))]
        offered = g.day(int(rng.integers(0, g.days - 1)))
        kind = "gift" if rng.random() < 0.6 else "hospitality"
        value = int(min(20000, max(300, rng.lognormal(7.3, 0.7))))
        accepted = rng.random() < 0.7
        key = (p.person_id, org.org)
        if accepted and (len(pair.get(key, [])) >= 2 or sum(pair.get(key, [])) + value > 30000):
            accepted = False
        if accepted and kind == "hospitality" and absent_on(g, p.person_id, offered):
            accepted = False
        if accepted:
            pair.setdefault(key, []).append(value)
            desc = (SAFE_GIFT if kind == "gift" else SAFE_HOSP)[int(rng.integers(6))]
            if kind == "hospitality":
                g.hospitality_days.add((p.person_id, offered))
        else:
            desc = (RISKY + SAFE_GIFT)[int(rng.integers(len(RISKY) + 3))]
            value = int(value * rng.uniform(1, 3))
        declared = min(g.end, offered + timedelta(days=int(rng.integers(0, 22))))
        approver = p.line_manager_id if (accepted and (value > 2500 or rng.random() < 0.6)) else None
        row = {"offered_date": offered, "declared_date": declared,
               "donor_name": orgs.variant(org, rng), "_org:donor_name": org.org,
               "donor_company_number": org.company_number if rng.random() < 0.4 else None,
               "kind": kind, "description": desc, "estimated_value": value,
               "outcome": "accepted" if accepted else "declined", "approver": approver,
               "approval_date": min(g.end, declared + timedelta(days=int(rng.integers(0, 8)))) if approver else None}
        add_gift(g, p, row, divisional=divisional, style=int(rng.choice(3, p=[0.6, 0.25, 0.15])))
    # a few declarations by people who are not on the workforce list (e.g. the PCC's office)
    fk = g.faker("gifts-nonstaff")
    for _ in range(max(1, g.count(3))):
        off = g.day(int(rng.integers(0, g.days - 30)))
        g.add("gifts_hospitality", {
            "_layout": "gifts_divisional", "person_name": fk.name(), "_person:person_name": None,
            "person_department": "Office of the PCC", "offered_date": off, "declared_date": off + timedelta(days=2),
            "donor_name": donors[0].name, "_org:donor_name": donors[0].org, "donor_company_number": None,
            "kind": "gift", "description": "Box of chocolates", "estimated_value": 1200, "outcome": "declined",
            "approver": None, "approval_date": None})


def _same_dept_twins(g: Gen) -> list[list[Person]]:
    groups: dict[tuple, list[Person]] = {}
    for p in g.people:
        groups.setdefault((p.first_name, p.last_name, p.department), []).append(p)
    return [v for _, v in sorted(groups.items()) if len(v) > 1]


def add_gift(g: Gen, p: Person, row: dict, divisional: bool = False, style: int = 0) -> dict:
    """Add a gift row for p: with person_id (main register) or name + department only (divisional)."""
    if divisional:
        text = name_as_written(p, style)
        if not hasattr(g, "_written"):  # (department, name as written) -> how many people match
            g._written = {}
            for q in g.people:
                for s in range(3):
                    k = (q.department, name_as_written(q, s))
                    g._written[k] = g._written.get(k, 0) + 1
        unique = g._written[(p.department, text)] == 1
        row.update({"_layout": "gifts_divisional", "person_name": text, "person_department": p.department,
                    "_person:person_name": p.person_id if unique else None})
    else:
        row.update({"_layout": "gifts", "person_id": p.person_id})
    return g.add("gifts_hospitality", row)


def interests(g: Gen, orgs: Orgs) -> None:
    rng = g.rng("interests")
    employers = [orgs.employer() for _ in range(g.count(60, 6))]
    deciders = [p for p in g.people if p.department == "Professional Standards" and p.seniority >= 2]
    for p in _pick_declarers(g, rng, g.count(300, 10)):
        in_window = p.person_id not in g.reviewed_change and rng.random() < 0.3
        submitted = (g.day(int(rng.integers(0, g.days - 3))) if in_window
                     else max(p.start_date, g.end - timedelta(days=int(rng.integers(400, 3000)))))
        itype = _pick(rng, INTEREST_TYPES)
        pending = in_window and (g.end - submitted).days < 50 and rng.random() < 0.5
        u = rng.random()
        decision = "pending" if pending else ("refused" if u < 0.06 else "withdrawn" if u < 0.1 else "approved")
        if decision == "refused" and rng.random() < 0.5:
            itype = ["private_investigation", "security", "licensed_premises"][int(rng.integers(3))]
        org = employers[int(rng.integers(len(employers)))] if itype in WITH_ORG else None
        row = interest_row(g, p, submitted, itype, decision, rng, org=orgs.variant(org, rng) if org else None,
                           org_id=org.org if org else None, decider=deciders[int(rng.integers(len(deciders)))],
                           hours=float(rng.integers(2, 33)) / 2 if decision == "approved" else float(rng.integers(4, 41)) / 2)
        g.add("business_interests", row)
        if in_window:
            set_review(g, p.person_id, submitted, rng)


def _pick_declarers(g: Gen, rng, n: int) -> list[Person]:
    people = _free_people(g)
    idx = rng.choice(len(people), size=min(n, len(people)), replace=False)
    return [people[int(i)] for i in sorted(idx)]


def interest_row(g: Gen, p: Person, submitted: date, itype: str, decision: str, rng, *, org=None, org_id=None,
                 decider: Person, hours: float, reviewed: date | None = None, decided: date | None = None) -> dict:
    """One business interest; decision date avoids long-term sickness unless `decided` is given."""
    if decision != "pending" and decided is None:
        decided = min(g.end, submitted + timedelta(days=int(rng.integers(5, 41))))
        while long_sick(g, p.person_id, decided):
            decided += timedelta(days=7)
        decided = min(decided, g.end)
    if decision == "approved" and reviewed is None and decided and (g.end - decided).days > 330:
        reviewed = g.end - timedelta(days=int(rng.integers(10, 330)))
    base = reviewed or decided
    return {"person_id": p.person_id, "interest_type": itype, "organisation_name": org, "_org:organisation_name": org_id,
            "company_number": None, "role": ROLE.get(itype, "other"), "hours_per_week": hours,
            "submitted_date": submitted, "decision": decision,
            "decided_by": decider.person_id if decision != "pending" else None,
            "decision_date": decided if decision != "pending" else None,
            "review_due_date": base + timedelta(days=365) if decision == "approved" and base else None,
            "last_reviewed_date": reviewed}


def associations(g: Gen, orgs: Orgs, barred: set[tuple]) -> None:
    rng, fk = g.rng("associations"), g.faker("associations")
    press = [orgs.press_or_pi(True) for _ in range(g.count(8, 2))]
    pis = [orgs.press_or_pi(False) for _ in range(g.count(6, 2))]
    for p in _pick_declarers(g, rng, g.count(150, 8)):
        in_window = p.person_id not in g.reviewed_change and rng.random() < 0.25
        declared = (g.day(int(rng.integers(0, g.days - 3))) if in_window
                    else max(p.start_date, g.end - timedelta(days=int(rng.integers(400, 4000)))))
        cat = _pick(rng, CATEGORIES)
        org = press[int(rng.integers(len(press)))] if cat == "journalist" else \
            pis[int(rng.integers(len(pis)))] if cat == "private_investigator" else None
        first, last = fk.first_name(), fk.last_name()
        dob = date(1945, 1, 1) + timedelta(days=int(rng.integers(0, 365 * 60)))
        if (first, last, dob) in barred:
            continue
        reviewed = None if (g.end - declared).days < 300 else max(declared, g.end - timedelta(days=int(rng.integers(10, 330))))
        g.add("notifiable_associations", association_row(
            p, f"{first} {last}", dob, cat, declared, reviewed, rng,
            org=orgs.variant(org, rng) if org else None, org_id=org.org if org else None))
        if in_window:
            set_review(g, p.person_id, declared, rng)


def association_row(p: Person, name: str, dob: date | None, category: str, declared: date,
                    reviewed: date | None, rng, *, org=None, org_id=None) -> dict:
    return {"person_id": p.person_id, "associate_name": name, "associate_dob": dob,
            "associate_organisation": org, "_org:associate_organisation": org_id,
            "relationship": RELATIONSHIPS[int(rng.integers(len(RELATIONSHIPS)))], "category": category,
            "declared_date": declared,
            "risk_outcome": ["no_risk", "managed", "managed", "high_risk"][int(rng.integers(4))],
            "last_reviewed_date": reviewed}
