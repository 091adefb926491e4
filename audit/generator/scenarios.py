"""Planting: for every rule in docs/rule-catalogue.md, several scenarios that must alert and a
near-miss decoy that must not, recorded in truth with the period whose run must report them.

Each kind is a pair of functions `(plant, decoy)` taking the Planter and a target period; the
kinds live in scenarios_declarations (gifts, interests, associations, vetting) and
scenarios_money (expenses, procurement, cross-register). Scenario people are never reused and
never appear in background gifts, expenses or declarations, so one scenario fires one rule.
"""
from __future__ import annotations

from datetime import date, timedelta

from audit.generator.core import Gen, Org, Person
from audit.generator.declarations import SAFE_GIFT, add_gift
from audit.generator.hr_records import absent_on
from audit.generator.orgs import Orgs
from audit.generator.procurement import Procurement
from audit.period import Period


class Planter:
    def __init__(self, g: Gen, orgs: Orgs, proc: Procurement):
        self.g, self.orgs, self.proc = g, orgs, proc
        self.rng = g.rng("scenarios")

    # ---- people, days, organisations ------------------------------------------------------------
    def person(self, pred=None, department: str | None = None) -> Person:
        return self.g.take_person(pred, department)

    def manager(self, p: Person) -> str:
        return p.line_manager_id

    def shift(self, period: Period, k: int) -> Period:
        for _ in range(abs(k)):
            period = period.previous() if k < 0 else period.next()
        return period

    def weekday(self, period: Period, p: Person | None = None, lo: int = 1, hi: int = 31) -> date:
        for _ in range(200):
            d = self.g.day_in(period, self.rng, True, lo, hi)
            if p is None or not absent_on(self.g, p.person_id, d):
                return d
        self.clear_absences(p, d, d)  # e.g. off sick all month: the planted event needs the day free
        return d

    def clear_absences(self, p: Person, lo: date, hi: date) -> None:
        """Drop a scenario person's background absences overlapping [lo, hi] (keeps the plant exact)."""
        g = self.g

        def keep(r):
            return r["person_id"] != p.person_id or (r["end_date"] or g.end) < lo or r["start_date"] > hi
        mine = g.absences.get(p.person_id, [])
        drop = {r["_h"] for r in mine if not keep(r)}
        if drop:
            g.drop_rows("absence", drop)
            g.absences[p.person_id] = [r for r in mine if r["_h"] not in drop]

    def donor(self) -> Org:
        return self.orgs.supplier(role="local_business")

    def supplier(self, category: str | None = None, **kw):
        org = self.orgs.supplier(category, role="scenario_supplier")
        return self.proc.record(org, **kw)

    # ---- rows -------------------------------------------------------------------------------------
    def gift(self, p: Person, offered: date, org: Org, value: int, *, desc: str | None = None,
             kind: str = "gift", outcome: str = "accepted", approver: str | None | bool = True,
             declared_after: int = 3, name_style: str | None = "canonical") -> dict:
        appr = p.line_manager_id if approver is True else (approver or None)
        declared = min(self.g.end, offered + timedelta(days=declared_after))
        return add_gift(self.g, p, {
            "offered_date": offered, "declared_date": declared,
            "donor_name": self.orgs.variant(org, self.rng, name_style), "_org:donor_name": org.org,
            "donor_company_number": org.company_number if self.rng.random() < 0.5 else None,
            "kind": kind, "description": desc or SAFE_GIFT[int(self.rng.integers(len(SAFE_GIFT)))],
            "estimated_value": int(value), "outcome": outcome, "approver": appr,
            "approval_date": min(self.g.end, declared + timedelta(days=2)) if appr else None})

    def record(self, kind: str, period: Period, rows, note: str, people=(), orgs=(), decoy=False) -> None:
        self.g.record(kind, period, rows, note, people, orgs, decoy)


def _months(g: Gen, n: int, lo: int, rng) -> list[Period]:
    lo = min(lo, len(g.periods) - 1)
    span = len(g.periods) - lo
    return [g.periods[lo + min(span - 1, int((i + rng.random()) * span / n))] for i in range(n)]


def plant_all(g: Gen, orgs: Orgs, proc: Procurement) -> None:
    from audit.generator import scenarios_declarations, scenarios_money

    planter = Planter(g, orgs, proc)
    kinds = {**scenarios_declarations.KINDS, **scenarios_money.KINDS}
    rng = g.rng("scenario-months")
    for kind in sorted(kinds):
        plant, decoy, lo = kinds[kind]
        n = max(1, int(round(int(rng.integers(3, 7)) * g.scale)))
        for period in _months(g, n, lo, rng):
            plant(planter, period)
        if decoy is not None:
            for period in _months(g, max(1, n // 2), lo, rng):
                decoy(planter, period)


def catalogue_rule_names(path) -> list[str]:
    """Rule names in docs/rule-catalogue.md (the second column of its table)."""
    names = []
    for line in open(path, encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[1] and cells[1] not in ("rule name",) and not set(cells[1]) <= {"-"}:
            names.append(cells[1])
    return names
