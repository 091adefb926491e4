"""Suppliers' vendor-master records and procurement chains (order -> invoice -> payment, credits).

Background is clean against the catalogue: one supplier's invoices are at least 31 days apart,
invoice references are unique, an order, its invoice and its payment never share a date, at
most one single-tender waiver per supplier, suppliers are created by procurement officers who
never approve spend, and no supplier shares a bank account or address with an employee.

Posting: orders and payments are entered in the ledger on their date; invoices and credit notes
0-10 days after it (never after the window). A row planted to be posted late carries `_posted`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from audit.generator.core import Gen, Org, Person
from audit.generator.orgs import Orgs

BUYER = {"Security": "Estates", "IT Services": "IT", "Fleet": "Fleet", "Vehicle Recovery": "Fleet",
         "Catering": "Estates", "Cleaning": "Estates", "Forensics": "CID", "Uniform": "Estates",
         "Training": "HR", "Legal": "Professional Standards", "Medical": "HR", "Facilities": "Estates",
         "Telecoms": "IT", "Print": "Contact Centre", "Locksmiths": "Estates", "Kennels": "Response",
         "Other": "Finance"}


@dataclass
class SupplierRecord:
    supplier_id: str
    org: Org
    name: str
    company_number: str | None
    created_by: str
    created_date: date
    bank: str
    address: str
    postcode: str


class Procurement:
    def __init__(self, g: Gen, orgs: Orgs):
        self.g, self.orgs = g, orgs
        self.rng = g.rng("procurement")
        self.records: list[SupplierRecord] = []
        self._tx = 0
        self._ref = 0
        self.creators = [p for p in g.people if p.department == "Procurement" and p.seniority <= 1] or \
            [p for p in g.people if p.department == "Procurement"]
        self.payers = [p for p in g.people if p.department == "Finance" and p.seniority >= 2]
        self.staff: dict[str, list[Person]] = {}
        self._buyers: dict[str, tuple[list[Person], list[Person], dict[str, int]]] = {}
        for p in g.people:
            if g.active(p):
                self.staff.setdefault(p.department, []).append(p)

    # ---- vendor master ------------------------------------------------------------------------
    def record(self, org: Org, *, name: str | None = None, company: bool | None = None,
               created_by: Person | None = None, created: date | None = None, bank: str | None = None,
               address: tuple[str, str] | None = None) -> SupplierRecord:
        rng = self.rng
        rec = SupplierRecord(
            f"S{10001 + len(self.records)}", org, name or org.name,
            org.company_number if (company if company is not None else rng.random() < 0.7) else None,
            (created_by or self.creators[int(rng.integers(len(self.creators)))]).person_id,
            created or self.g.start - timedelta(days=int(rng.integers(30, 3000))),
            bank or org.bank_account, *(address or (org.address, org.postcode)))
        self.records.append(rec)
        return rec

    def buyers(self, category: str) -> tuple[Person, Person]:
        """A requisitioner of the buying department and an approver other than them (their line
        manager when the department has no other): the lists are built once per department, and
        the approver drawn as from the list without the requisitioner, which is not rebuilt."""
        dept = BUYER.get(category, "Finance")
        if dept not in self._buyers:
            staff = self.staff[dept]
            app = [p for p in staff if p.seniority >= 2 and p.post_vetting_level in ("mv", "sc", "dv")]
            self._buyers[dept] = ([p for p in staff if p.seniority <= 2], app,
                                  {p.person_id: i for i, p in enumerate(app)})
        req, app, where = self._buyers[dept]
        r = req[int(self.rng.integers(len(req)))]
        skip = where.get(r.person_id)  # r's place among the approvers, if there
        n = len(app) - (skip is not None)
        if n == 0:
            return r, [self.g.by_id[r.line_manager_id]][int(self.rng.integers(1))]
        k = int(self.rng.integers(n))
        return r, app[k + 1 if skip is not None and k >= skip else k]

    # ---- transactions -------------------------------------------------------------------------
    def _lines(self, ttype: str, rec: SupplierRecord, day: date, amounts, *, req: str | None, app: str | None,
               route: str | None, contract: str | None, ref: str | None, dept: str) -> list[dict]:
        self._tx += 1
        rows = []
        for i, amt in enumerate(amounts, start=1):
            rows.append(self.g.add("procurement", {
                "_tx": self._tx, "transaction_type": ttype, "line_no": str(i), "invoice_ref": ref,
                "supplier_id": rec.supplier_id, "supplier_name": rec.name, "_org:supplier_name": rec.org.org,
                "company_number": rec.company_number, "vat_number": rec.org.vat_number,
                "supplier_address": rec.address, "supplier_postcode": rec.postcode,
                "supplier_bank_hash": rec.bank, "supplier_created_by": rec.created_by,
                "supplier_created_date": rec.created_date, "net_amount": int(amt), "transaction_date": day,
                "requisitioner": req, "approver": app, "category": rec.org.category, "department": dept,
                "route": route, "contract_id": contract}))
        return rows

    def split(self, total: int, parts: int) -> list[int]:
        if parts <= 1 or total < 100 * parts:
            return [total]
        w = self.rng.dirichlet(np.ones(parts) * 2)
        amounts = [max(1, int(total * x)) for x in w[:-1]]
        return amounts + [total - sum(amounts)]

    def next_ref(self, rec: SupplierRecord) -> str:
        self._ref += 1
        return f"{rec.supplier_id[1:]}-{self._ref:05d}"

    def chain(self, rec: SupplierRecord, order_day: date, total: int, *, route: str | None = None,
              req: Person | None = None, app: Person | None = None, payer: Person | None = None,
              invoice_after: int | None = None, pay_after: int | None = None, order_lines: int | None = None,
              invoice_lines: int | None = None, credit: bool = False, ref: str | None = None) -> dict[str, list[dict]]:
        """order -> invoice -> payment (each part dropped if it would fall after the window)."""
        rng, g = self.rng, self.g
        if req is None or app is None:
            req, app = self.buyers(rec.org.category)
        route = route or ("tender" if total >= 2_500_000 else "framework" if total >= 1_000_000
                          else "quotes" if total >= 50_000 else "other")
        contract = f"CON-{rec.supplier_id[1:]}" if route in ("tender", "framework") else (
            f"STW-{self._tx + 1:05d}" if route == "single_tender_waiver" else None)
        dept = BUYER.get(rec.org.category, "Finance")
        out: dict[str, list[dict]] = {}
        out["order"] = self._lines("order", rec, order_day, self.split(total, order_lines or int(rng.integers(1, 4))),
                                   req=req.person_id, app=app.person_id, route=route, contract=contract, ref=None, dept=dept)
        inv_day = order_day + timedelta(days=invoice_after or int(rng.integers(5, 26)))
        if inv_day > g.end:
            return out
        out["invoice"] = self._lines("invoice", rec, inv_day, self.split(total, invoice_lines or int(rng.integers(1, 5))),
                                     req=req.person_id, app=app.person_id, route=None, contract=contract,
                                     ref=ref or self.next_ref(rec), dept=dept)
        pay_day = inv_day + timedelta(days=pay_after or int(rng.integers(10, 31)))
        if credit and inv_day + timedelta(days=3) < g.end:
            cr_day = inv_day + timedelta(days=int(rng.integers(3, max(4, min(20, (g.end - inv_day).days)))))
            if cr_day != pay_day:
                out["credit"] = self._lines("credit", rec, cr_day, [-int(total * rng.uniform(0.05, 0.5))],
                                            req=None, app=app.person_id, route=None, contract=contract,
                                            ref=f"CN-{self.next_ref(rec)}", dept=dept)
        if pay_day <= g.end:
            payer = payer or self.payers[int(rng.integers(len(self.payers)))]
            out["payment"] = self._lines("payment", rec, pay_day, [total], req=None, app=payer.person_id,
                                         route=None, contract=contract, ref=None, dept=dept)
        return out

    def post(self) -> None:
        """Set every row's posted_date (one per transaction), after all rows are planted."""
        rng, g = self.g.rng("procurement-posted"), self.g
        posted: dict[int, date] = {}
        for r in g.rows.get("procurement", []):
            tx = r["_tx"]
            if tx not in posted:
                lag = int(rng.integers(0, 11)) if r["transaction_type"] in ("invoice", "credit") else 0
                posted[tx] = r.get("_posted") or min(g.end, r["transaction_date"] + timedelta(days=lag))
            r["posted_date"] = posted[tx]

    # ---- background ---------------------------------------------------------------------------
    def background(self) -> None:
        rng, g = self.rng, self.g
        suppliers = [self.orgs.supplier() for _ in range(g.count(300, 15))] + self.orgs.generic()
        suppliers += [self.orgs.decoy(suppliers[int(i)]) for i in
                      rng.choice(len(suppliers) - 5, size=g.count(15, 2), replace=False)]
        for org in suppliers:
            recs = [self.record(org, name=org.name if rng.random() < 0.8 else self.orgs.variant(org, rng))]
            if rng.random() < 0.08:
                recs.append(self.record(org, name=self.orgs.variant(org, rng, "upper"), company=False))
            size = float(rng.lognormal(np.log(150_000), 1.3))
            waiver_done = rng.random() > 0.04
            last_invoice = None
            day = g.start + timedelta(days=int(rng.integers(0, 60)))
            while day < g.end - timedelta(days=5):
                rec = recs[int(rng.integers(len(recs)))]
                if rec.created_date >= day:
                    rec.created_date = day - timedelta(days=int(rng.integers(3, 40)))
                if day.weekday() >= 5:
                    day += timedelta(days=7 - day.weekday())
                inv_after = int(rng.integers(5, 26))
                if last_invoice and (day + timedelta(days=inv_after) - last_invoice).days < 31:
                    inv_after = 31 - (day - last_invoice).days
                total = int(np.clip(size * rng.lognormal(0, 0.5), 5_000, 40_000_000))
                route = None if waiver_done else "single_tender_waiver"
                waiver_done = True
                parts = self.chain(rec, day, total, route=route, invoice_after=inv_after, credit=rng.random() < 0.03)
                if "invoice" in parts:
                    last_invoice = parts["invoice"][0]["transaction_date"]
                day += timedelta(days=int(rng.integers(31, 120)))
