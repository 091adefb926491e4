"""Planted scenarios and decoys for expenses, procurement and the cross-register rules."""
from __future__ import annotations

import re
from datetime import date, timedelta

from audit.generator.core import Person
from audit.generator.expenses import add_line
from audit.generator.hr_records import add_absence
from audit.generator.scenarios import Planter
from audit.generator.scenarios_declarations import _interest
from audit.period import Period


def _next_weekday(d: date, k: int = 1) -> date:
    d += timedelta(days=k)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def _rec(pl: Planter, kind, m, rows, note, people=(), orgs=(), decoy=False):
    period = m
    dates = [r.get("expense_date") or r.get("transaction_date") or r.get("offered_date") for _, r in rows]
    dates = [d for d in dates if d is not None]
    if dates:
        period = Period.containing(max(dates))
    pl.record(kind, period, rows, note, people, orgs, decoy)


# ---- expenses ---------------------------------------------------------------------------------
def duplicate(pl, m, decoy=False):
    p = pl.person()
    d = pl.weekday(m, p, hi=25)
    amt = int(pl.rng.integers(600, 2400))
    d2 = _next_weekday(d) if decoy else d
    rows = [add_line(pl.g, p.person_id, d, "subsistence", amt, pl.manager(p), claim_group="a"),
            add_line(pl.g, p.person_id, d2, "subsistence", amt, pl.manager(p), claim_group="b")]
    _rec(pl, "expenses_duplicate_claim", m, [("expenses", r) for r in rows],
         "same amount on consecutive days" if decoy else "same subsistence claimed twice for one day", [p], decoy=decoy)


def split(pl, m, decoy=False):
    p = pl.person()
    d = pl.weekday(m, p, hi=20)
    a = int(pl.rng.integers(5200, 9500))
    b = (9980 - a) if decoy else int(pl.rng.integers(max(10000 - a, 5200), 9600))
    rows = [add_line(pl.g, p.person_id, d, "travel", a, pl.manager(p), description="Rail fare"),
            add_line(pl.g, p.person_id, _next_weekday(d, 2), "travel", b, pl.manager(p), description="Rail fare")]
    _rec(pl, "expenses_split_under_limit", m, [("expenses", r) for r in rows],
         f"two rail fares within 7 days totalling £{(a + b) / 100:.2f}", [p], decoy=decoy)


def round_amount(pl, m, decoy=False):
    p = pl.person()
    amt = 4000 if decoy else [5000, 6000, 8000, 12000][int(pl.rng.integers(4))]
    row = add_line(pl.g, p.person_id, pl.weekday(m, p), "other", amt, pl.manager(p), description="Training materials")
    _rec(pl, "expenses_round_amount", m, [("expenses", row)], f"other expense of exactly £{amt / 100:.2f}", [p], decoy=decoy)


def mileage(pl, m, decoy=False):
    p = pl.person()
    miles = int(pl.rng.integers(30, 80))
    amt = miles * 45 + (0 if decoy else int(pl.rng.integers(300, 2000)))
    row = add_line(pl.g, p.person_id, pl.weekday(m, p), "mileage", amt, pl.manager(p), miles=miles)
    _rec(pl, "expenses_mileage_over_rate", m, [("expenses", row)],
         f"{miles} miles claimed at £{amt / 100:.2f} (45p rate: £{miles * 45 / 100:.2f})", [p], decoy=decoy)


def subsistence(pl, m, decoy=False):
    p = pl.person()
    amt = 3500 if decoy else int(pl.rng.integers(3600, 4900))
    row = add_line(pl.g, p.person_id, pl.weekday(m, p), "subsistence", amt, pl.manager(p),
                   description="Subsistence - evening meal (15h+)")
    _rec(pl, "expenses_subsistence_over_scale", m, [("expenses", row)], f"subsistence £{amt / 100:.2f}", [p], decoy=decoy)


def weekend(pl, m, decoy=False):
    p = pl.person()
    month = [m.start + timedelta(days=i) for i in range((m.end - m.start).days + 1)]
    # (each day draws Saturday or Sunday for itself, so a plant may draw no day at all: about one in
    # 500, met at large scales; it then takes any weekend day, and smaller forces keep their days)
    days = [d for d in month if d.weekday() == (4 if decoy else 5 + int(pl.rng.integers(2)))]
    days = days or [d for d in month if d.weekday() >= 5]
    d = days[int(pl.rng.integers(len(days)))]
    pl.clear_absences(p, d, d)
    row = add_line(pl.g, p.person_id, d, "subsistence", int(pl.rng.integers(400, 900)), pl.manager(p))
    _rec(pl, "expenses_weekend_claim", m, [("expenses", row)], f"subsistence on a {d:%A}", [p], decoy=decoy)


def sickness(pl, m, decoy=False):
    p = pl.person()
    d = pl.g.day_in(m, pl.rng, True, 8, 24)
    start, end = (d - timedelta(days=5), d - timedelta(days=1)) if decoy else (d - timedelta(days=2), d + timedelta(days=2))
    still_open = not decoy and d.day % 2 == 0  # about half the plants: no end date recorded yet
    pl.clear_absences(p, start - timedelta(days=3), pl.g.end if still_open else end + timedelta(days=3))
    absence = add_absence(pl.g, p.person_id, "sickness", start, None if still_open else min(end, pl.g.end))
    row = add_line(pl.g, p.person_id, d, "mileage", 20 * 45, pl.manager(p), miles=20)
    note = "mileage the day after sickness ended" if decoy else "mileage claimed on a day of sickness absence" + (
        " still open (no end date)" if still_open else "")
    _rec(pl, "expenses_during_sickness", m, [("expenses", row), ("absence", absence)], note, [p], decoy=decoy)


def double_benefit(pl, m, decoy=False):
    p = pl.person()
    d = pl.weekday(m, p)
    org = pl.donor()
    gift = pl.gift(p, d, org, int(pl.rng.integers(1200, 2400)), kind="hospitality",
                   desc="Buffet lunch at partnership conference", outcome="declined" if decoy else "accepted",
                   approver=not decoy)
    row = add_line(pl.g, p.person_id, d, "subsistence", int(pl.rng.integers(500, 1000)), pl.manager(p),
                   description="Subsistence - lunch (5h+)")
    _rec(pl, "expenses_hospitality_double_benefit", m, [("expenses", row), ("gifts_hospitality", gift)],
         "subsistence on a day hospitality was declined" if decoy else "subsistence claimed on a day of accepted hospitality",
         [p], [org], decoy)


def self_approved(pl, m, decoy=False):
    p = pl.person()
    miles = int(pl.rng.integers(10, 60))
    row = add_line(pl.g, p.person_id, pl.weekday(m, p), "mileage", miles * 45,
                   pl.manager(p) if decoy else p.person_id, miles=miles)
    _rec(pl, "expenses_self_approved", m, [("expenses", row)],
         "approved by the line manager" if decoy else "claimant approved their own claim", [p], decoy=decoy)


# ---- procurement ------------------------------------------------------------------------------
def _invoices(parts_list):
    return [("procurement", r) for parts in parts_list for r in parts.get("invoice", [])]


def split_invoices(pl, m, decoy=False):
    rec = pl.supplier()
    a = int(pl.rng.integers(260_000, 490_000))
    b = (499_000 - a) if decoy else int(pl.rng.integers(max(500_000 - a, 100_000), 490_000))
    d = pl.weekday(m, hi=8) - timedelta(days=10)
    p1 = pl.proc.chain(rec, d, a, invoice_after=10, invoice_lines=1)
    p2 = pl.proc.chain(rec, d + timedelta(days=2), b, invoice_after=20, invoice_lines=1)
    _rec(pl, "procurement_split_invoices", m, _invoices([p1, p2]),
         f"two invoices 12 days apart totalling £{(a + b) / 100:,.2f}", orgs=[rec.org], decoy=decoy)


def duplicate_invoice(pl, m, decoy=False):
    rec = pl.supplier()
    amt = int(pl.rng.integers(40_000, 240_000))
    ref = pl.proc.next_ref(rec)
    d = pl.weekday(m, hi=10) - timedelta(days=(40 if decoy else 15))
    p1 = pl.proc.chain(rec, d, amt, invoice_after=5, invoice_lines=1, ref=ref)
    p2 = pl.proc.chain(rec, d + timedelta(days=(40 if decoy else 12)), amt, invoice_after=5, invoice_lines=1,
                       ref=None if decoy else ref)
    _rec(pl, "procurement_duplicate_invoice", m, _invoices([p1, p2]),
         "same monthly fee, different references, 40 days apart" if decoy else f"invoice {ref} entered twice",
         orgs=[rec.org], decoy=decoy)


def waivers(pl, m, decoy=False):
    rec = pl.supplier()
    other = pl.proc.record(pl.orgs.decoy(rec.org)) if decoy else rec
    rows = []
    for k, r in zip((4, 2, 0), (rec, rec, other)):
        parts = pl.proc.chain(r, pl.weekday(pl.shift(m, -k), hi=15), int(pl.rng.integers(600_000, 2_000_000)),
                              route="single_tender_waiver", invoice_lines=1, order_lines=1)
        rows.append(("procurement", parts["order"][0]))
    _rec(pl, "procurement_repeated_waivers", m, rows,
         "two waivers to the supplier, the third to a similarly named different company" if decoy
         else "three single-tender waivers to one supplier within a year", orgs=[rec.org, other.org], decoy=decoy)


def created_and_paid(pl, m, decoy=False):
    try:
        p = pl.person(lambda q: q.seniority >= 2, "Finance")
    except RuntimeError:
        p = pl.person(lambda q: q.seniority >= 1)
    pay_month_start = m.start
    created = (pay_month_start - timedelta(days=120)) if decoy else pl.weekday(m, hi=5)
    rec = pl.supplier(created_by=p, created=created)
    order_day = pl.weekday(m, hi=6)
    order_day = max(order_day, created + timedelta(days=1))
    parts = pl.proc.chain(rec, order_day, int(pl.rng.integers(100_000, 900_000)), payer=p, invoice_after=5, pay_after=10)
    _rec(pl, "procurement_supplier_created_and_paid_by_same_person", m, [("procurement", parts["payment"][0])],
         "created by the payer 120+ days before the payment" if decoy else "supplier created and paid by the same person",
         [p], [rec.org], decoy)


def bank_match(pl, m, decoy=False):
    e = pl.person()
    bank = e.bank_account[:-3] + f"{(int(e.bank_account[-3:]) + 7) % 1000:03d}" if decoy else e.bank_account
    rec = pl.supplier(bank=bank)
    parts = pl.proc.chain(rec, pl.weekday(m, hi=8), int(pl.rng.integers(50_000, 500_000)), invoice_after=6, pay_after=8)
    _rec(pl, "procurement_vendor_employee_bank_match", m,
         [("procurement", parts["payment"][0]), ("workforce", pl.g.workforce_row[e.person_id])],
         "supplier bank account differs from an employee's in the last 3 digits" if decoy
         else "supplier is paid into an employee's bank account", [e], [rec.org], decoy)


def address_match(pl, m, decoy=False):
    e = pl.person(lambda q: re.match(r"^\d+ ", q.home_address) is not None)
    addr = e.home_address
    if decoy:
        n = int(addr.split(" ", 1)[0])
        addr = f"{n + 2} {addr.split(' ', 1)[1]}"
    rec = pl.supplier(address=(addr, e.home_postcode))
    parts = pl.proc.chain(rec, pl.weekday(m, hi=8), int(pl.rng.integers(50_000, 500_000)), invoice_after=6, pay_after=8)
    _rec(pl, "procurement_vendor_employee_address_match", m,
         [("procurement", parts["payment"][0]), ("workforce", pl.g.workforce_row[e.person_id])],
         "supplier two doors from an employee on the same street" if decoy
         else "supplier registered at an employee's home address", [e], [rec.org], decoy)


# ---- cross-register ---------------------------------------------------------------------------
def gift_recent(pl, m, decoy=False):
    rec = pl.supplier()
    p = pl.person()
    gday = pl.weekday(m, p)
    back = min(230, (gday - pl.g.start).days) if decoy else 60
    parts = pl.proc.chain(rec, gday - timedelta(days=back), int(pl.rng.integers(100_000, 900_000)),
                          invoice_after=10, pay_after=19)
    gift = pl.gift(p, gday, rec.org, int(pl.rng.integers(1200, 2400)), name_style=None)
    _rec(pl, "gift_from_recent_supplier", m, [("gifts_hospitality", gift), ("procurement", parts["payment"][0])],
         f"gift {back - 29} days after the supplier's last payment" if decoy else "gift 31 days after a payment to the donor",
         [p], [rec.org], decoy)


def gift_recent_decoy_org(pl, m):
    rec = pl.supplier()
    p = pl.person()
    gday = pl.weekday(m, p)
    parts = pl.proc.chain(rec, gday - timedelta(days=60), int(pl.rng.integers(100_000, 900_000)),
                          invoice_after=10, pay_after=19)
    other = pl.orgs.decoy(rec.org)
    gift = pl.gift(p, gday, other, int(pl.rng.integers(1200, 2400)))
    _rec(pl, "gift_from_recent_supplier", m, [("gifts_hospitality", gift), ("procurement", parts["payment"][0])],
         "gift from a similarly named different company 31 days after the supplier's payment", [p],
         [rec.org, other], True)


def recipient_involved(pl, m, decoy=False):
    rec = pl.supplier()
    req, app = pl.proc.buyers(rec.org.category)
    if req.person_id in pl.g.reserved:
        return recipient_involved(pl, m, decoy)
    pl.g.reserved.add(req.person_id)
    gday = pl.weekday(m, req)
    back = 150 if decoy else 40
    parts = pl.proc.chain(rec, gday - timedelta(days=back), int(pl.rng.integers(100_000, 900_000)), req=req, app=app,
                          invoice_after=10, pay_after=15)
    gift = pl.gift(req, gday, rec.org, int(pl.rng.integers(1200, 2400)))
    _rec(pl, "gift_recipient_involved_in_purchase", m, [("gifts_hospitality", gift), ("procurement", parts["order"][0])],
         "recipient requisitioned from the donor 150 days earlier" if decoy
         else "recipient requisitioned a purchase from the donor 40 days earlier", [req], [rec.org], decoy)


def interest_supplier(pl, m, decoy=False):
    rec = pl.supplier()
    req, app = pl.proc.buyers(rec.org.category)
    if req.person_id in pl.g.reserved:
        return interest_supplier(pl, m, decoy)
    pl.g.reserved.add(req.person_id)
    named = pl.orgs.decoy(rec.org, role="interest") if decoy else rec.org
    interest = _interest(pl, req, pl.g.start - timedelta(days=500), "directorship", hours=4.0, org=named,
                         decided=pl.g.start - timedelta(days=480),
                         reviewed=pl.g.end - timedelta(days=int(pl.rng.integers(20, 150))))
    parts = pl.proc.chain(rec, pl.weekday(m, hi=10), int(pl.rng.integers(100_000, 900_000)), req=req, app=app,
                          invoice_after=6, pay_after=10)
    _rec(pl, "supplier_matches_business_interest", m, [("business_interests", interest), ("procurement", parts["order"][0])],
         "requisitioner is a director of a similarly named different company" if decoy
         else "requisitioner is a director of the supplier", [req], [rec.org, named], decoy)


def barred_staff(pl, m, decoy=False):
    p: Person = pl.person(lambda q: q.staff_type in ("contractor", "volunteer", "staff"))
    forces = pl.orgs.by_role["force"]
    force = forces[int(pl.rng.integers(len(forces)))]
    dob = p.date_of_birth + timedelta(days=365) if decoy else p.date_of_birth
    barred = pl.g.add("barred_list", {"list": "advisory", "first_name": p.first_name, "last_name": p.last_name,
                                      "date_of_birth": dob, "former_force": force.name, "_org:former_force": force.org,
                                      "listed_date": p.start_date - timedelta(days=200), "reason": "Left while under investigation"})
    pl.record("barred_list_staff_match", m, [("workforce", pl.g.workforce_row[p.person_id]), ("barred_list", barred)],
              "same name, different date of birth" if decoy else "member of the workforce is on the advisory list",
              [p], decoy=decoy)


def _both(fn, extra=None):
    def decoy(pl, m):
        fn(pl, m, True)
        if extra:
            extra(pl, m)
    return decoy


KINDS = {
    "expenses_duplicate_claim": (duplicate, _both(duplicate), 0),
    "expenses_split_under_limit": (split, _both(split), 0),
    "expenses_round_amount": (round_amount, _both(round_amount), 0),
    "expenses_mileage_over_rate": (mileage, _both(mileage), 0),
    "expenses_subsistence_over_scale": (subsistence, _both(subsistence), 0),
    "expenses_weekend_claim": (weekend, _both(weekend), 0),
    "expenses_during_sickness": (sickness, _both(sickness), 0),
    "expenses_hospitality_double_benefit": (double_benefit, _both(double_benefit), 0),
    "expenses_self_approved": (self_approved, _both(self_approved), 0),
    "procurement_split_invoices": (split_invoices, _both(split_invoices), 1),
    "procurement_duplicate_invoice": (duplicate_invoice, _both(duplicate_invoice), 2),
    "procurement_repeated_waivers": (waivers, _both(waivers), 4),
    "procurement_supplier_created_and_paid_by_same_person": (created_and_paid, _both(created_and_paid), 0),
    "procurement_vendor_employee_bank_match": (bank_match, _both(bank_match), 0),
    "procurement_vendor_employee_address_match": (address_match, _both(address_match), 0),
    "gift_from_recent_supplier": (gift_recent, _both(gift_recent, gift_recent_decoy_org), 5),
    "gift_recipient_involved_in_purchase": (recipient_involved, _both(recipient_involved), 5),
    "supplier_matches_business_interest": (interest_supplier, _both(interest_supplier), 0),
    "barred_list_staff_match": (barred_staff, _both(barred_staff), 0),
}
