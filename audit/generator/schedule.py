"""Registers as the monthly runs saw them: late entries, edits, deletions and failed sources.

A force's registers are written late (a gift offered in August is declared in October, an invoice
is posted weeks after its date) and change after a run has read them. `plant` adds, with truth,
rows that arrive late, rows whose material fields change after a run has seen them, rows that
disappear, and near misses (a typo fixed, a pending decision made, a source that failed for a
month). `Extracts` writes `out/schedule/<YYYY-MM>/`: every source as the force's export looked when
the run of that month happened (the run of month M, at the start of M+1, sees every row entered on
or before the last day of M). docs/generator-truth.md ("Monthly extracts") is the contract.

The main output is the final state: the extract of the last month. Rows are never dropped from the
row lists; a deleted row is only left out when writing (Gen.gone), and an edited row holds its final
values with the earlier ones in Gen.before, so natural keys are assigned once and are the same in
every extract.
"""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from audit.generator import writers
from audit.generator.config_writer import write_mapping
from audit.generator.core import FORCE_NAME, Gen, Person
from audit.generator.declarations import association_row
from audit.generator.expenses import add_line
from audit.generator.hr_records import set_review
from audit.generator.layouts import Layout
from audit.generator.orgs import Orgs
from audit.generator.procurement import Procurement
from audit.generator.scenarios import Planter
from audit.period import Period

ALTERED, DELETED = "register_entry_altered", "register_entry_deleted"
ASSOC_ALTERED, ASSOC_DELETED = "association_entry_altered", "association_entry_deleted"

#: layout -> the date fields (first non-blank wins) whose month is the month a row enters the extract;
#: a row with none of them is in every extract
ARRIVAL = {"gifts": ("declared_date", "offered_date"), "gifts_divisional": ("declared_date", "offered_date"),
           "business_interests": ("submitted_date",), "associations": ("declared_date",),
           "expenses": ("claim_date",), "procurement": ("posted_date",), "workforce": ("start_date",),
           "vetting": ("granted_date",), "absence": ("start_date",), "barred_list": ("listed_date",)}
#: the register's own date of the event (event_period of a schedule entry); state registers: the entry date
EVENT = {"gifts_hospitality": "offered_date", "expenses": "expense_date", "procurement": "transaction_date",
         "business_interests": "submitted_date", "notifiable_associations": "declared_date"}
#: (case, what) -> cases at scale 1 (scaled like every other volume, at least one each)
COUNTS = {("late", "gift"): 5, ("late", "expense"): 5, ("late", "invoice"): 4,
          ("altered", "gift_value"): 2, ("altered", "gift_donor"): 2, ("altered", "expense"): 3,
          ("altered", "invoice"): 3, ("altered", "interest"): 2, ("altered", "association"): 2,
          ("deleted", "gift"): 3, ("deleted", "expense"): 3, ("deleted", "invoice"): 2,
          ("deleted", "interest"): 2, ("deleted", "association"): 2,
          ("decoy", "gift_typo"): 2, ("decoy", "expense_typo"): 2, ("decoy", "interest_pending"): 2,
          ("decoy", "association_pending"): 1}
#: the failed-source months: (source, how, where in the window as a share of the months)
FAILED = (("gifts_divisional", "missing", 1 / 3), ("business_interests", "header_only", 2 / 3))
KEYWORDS = re.compile("cash|voucher|gift card|tickets|match|concert|alcohol|wine|dinner|evening|champagne", re.I)


# ---- planting ---------------------------------------------------------------------------------
class _Plant:
    def __init__(self, g: Gen, orgs: Orgs, proc: Procurement):
        self.g = g
        self.pl = Planter(g, orgs, proc)
        self.pl.rng = self.rng = g.rng("schedule")
        self.n = len(g.periods)
        self.failed: dict[str, int] = {}
        for source, how, share in FAILED:
            f = min(self.n - 2, max(1, int(round(share * (self.n - 1)))))
            g.failed_sources.append((g.periods[f], source, how))
            self.failed[source] = f
        # no interest case may change or appear around the month its source failed
        f = self.failed["business_interests"]
        self.avoid_interests = {f, f + 1}

    # ---- months ---------------------------------------------------------------------------------
    def months(self, count: int, lo: int, avoid: set[int] = frozenset()) -> list[int]:
        """`count` month indexes spread over [lo, last], none in `avoid`."""
        allowed = [i for i in range(lo, self.n) if i not in avoid]
        if not allowed:
            return []
        span = len(allowed)
        return [allowed[min(span - 1, int((i + self.rng.random()) * span / count))] for i in range(count)]

    def before(self, c: int, lo: int, avoid: set[int] = frozenset()) -> int | None:
        """A month 1-3 months before `c`, at least `lo`, not in `avoid` (None if there is none)."""
        options = [c - j for j in (1, 2, 3) if c - j >= lo and c - j not in avoid]
        return options[int(self.rng.integers(len(options)))] if options else None

    def day(self, m: int, lo: int = 1, hi: int = 31, p: Person | None = None) -> date:
        return self.pl.weekday(self.g.periods[m], p, lo, hi)

    def between(self, lo: date, hi: date) -> date:
        """A weekday in [lo, hi] (lo itself when there is none)."""
        days = [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]
        days = [d for d in days if d.weekday() < 5] or [lo]
        return days[int(self.rng.integers(len(days)))]

    # ---- truth ----------------------------------------------------------------------------------
    def case(self, kind: str, case: str, event: Period, arrival: Period, rows, note: str) -> None:
        self.g.schedule.append({"kind": kind, "case": case, "event_period": str(event),
                                "arrival_period": str(arrival), "records": [(reg, r["_h"]) for reg, r in rows],
                                "note": note})

    # ---- rows -----------------------------------------------------------------------------------
    def gift(self, m: int, value: int | None = None, lag: int | None = None) -> tuple[Person, dict]:
        """A modest accepted, approved gift offered in month m and declared within a week (same month)."""
        p = self.pl.person()
        offered = self.day(m, 1, 20)
        row = self.pl.gift(p, offered, self.pl.donor(), value or int(self.rng.integers(800, 2400)),
                           declared_after=lag if lag is not None else int(self.rng.integers(1, 8)))
        return p, row

    def expense(self, e: int, typ: str = "subsistence", group: str = "sched", **kw) -> tuple[Person, dict]:
        """An expense line in month e in a claim of its own (claimed 1-15 days after e ends)."""
        p = self.pl.person()
        if typ == "mileage":
            miles = int(self.rng.integers(10, 60))
            kw.setdefault("miles", miles)
            amount = miles * 45
        else:
            amount = kw.pop("amount", None) or int(self.rng.integers(600, 1500))
        row = add_line(self.g, p.person_id, self.day(e, 1, 28, p), typ, amount, p.line_manager_id,
                       claim_group=group, **kw)
        return p, row

    def invoice(self, m: int) -> dict:
        """A supplier's order -> invoice -> payment; the invoice dated and posted in month m."""
        rec = self.pl.supplier()
        inv_day = self.day(m, 3, 14)
        parts = self.pl.proc.chain(rec, inv_day - timedelta(days=8), int(self.rng.integers(100_000, 900_000)),
                                   invoice_after=8, invoice_lines=1, order_lines=1,
                                   pay_after=int(self.rng.integers(12, 25)))
        row = parts["invoice"][0]
        row["_posted"] = inv_day + timedelta(days=int(self.rng.integers(0, 4)))
        return row

    def interest(self, m: int, hours: float, *, decided: date | None = None,
                 itype: str = "property_rental") -> dict:
        from audit.generator.scenarios_declarations import _interest

        p = self.pl.person()
        submitted = self.day(m, 1, 14, p)
        decided = decided or submitted + timedelta(days=int(self.rng.integers(5, 13)))
        self.pl.clear_absences(p, decided, decided)  # never decided during a sickness absence
        row = _interest(self.pl, p, submitted, itype, "approved", hours, decided=decided)
        set_review(self.g, p.person_id, submitted, self.rng)
        return row

    def association(self, m: int, category: str = "other") -> dict:
        p = self.pl.person()
        fk = self.g.faker(f"schedule-assoc-{int(self.rng.integers(1 << 30))}", reuse=True)
        dob = date(1950, 1, 1) + timedelta(days=int(self.rng.integers(0, 365 * 50)))
        row = association_row(p, fk.name(), dob, category, self.day(m, 1, 25, p), None, self.rng)
        row["risk_outcome"] = "managed"
        self.g.add("notifiable_associations", row)
        set_review(self.g, p.person_id, row["declared_date"], self.rng)
        return row

    def edit(self, row: dict, c: int, old: dict) -> None:
        self.g.before[row["_h"]] = (self.g.periods[c], old)

    def drop(self, row: dict, d: int) -> None:
        self.g.gone[row["_h"]] = self.g.periods[d]


def _typo(text: str, rng) -> str:
    """A one-letter slip (a doubled letter) in the longest word, never making a risky keyword."""
    words = text.split(" ")
    w = max(range(len(words)), key=lambda i: len(words[i]))
    for _ in range(20):
        i = int(rng.integers(1, len(words[w])))
        bad = words[:w] + [words[w][:i] + words[w][i - 1] + words[w][i:]] + words[w + 1:]
        out = " ".join(bad)
        if out != text and not KEYWORDS.search(out):
            return out
    return text + "."


def plant(g: Gen, orgs: Orgs, proc: Procurement) -> None:
    """Plant the schedule cases (needs at least 4 months: a run before, a change and a run after)."""
    if len(g.periods) < 4:
        return
    s = _Plant(g, orgs, proc)
    P, rng = g.periods, s.rng

    def count(key) -> int:
        return g.count(COUNTS[key])

    # (a) late gift declarations: offered 35-120 days before the declaration, in an earlier month
    for a in s.months(count(("late", "gift")), 2):
        p = s.pl.person()
        declared = s.day(a, 1, 28, p)
        lag = int(rng.integers(35, 121))
        offered = max(g.start + timedelta(days=int(rng.integers(0, 5))), declared - timedelta(days=lag))
        lag = (declared - offered).days
        org = s.pl.donor()
        row = s.pl.gift(p, offered, org, int(rng.integers(800, 2400)), declared_after=lag)
        note = f"declared {lag} days after it was offered, first in the {P[a]} extract"
        g.record("gifts_declared_late", Period.containing(offered), [("gifts_hospitality", row)], note, [p], [org])
        s.case("gifts_declared_late", "late", Period.containing(offered), P[a], [("gifts_hospitality", row)], note)

    # (b) late expense claims: a weekend or round-sum line claimed 2-3 months on
    for i, a in enumerate(s.months(count(("late", "expense")), 2)):
        e = a - 2 - int(rng.integers(0, 2)) if a >= 3 else a - 2
        if i % 2 == 0:
            kind = "expenses_weekend_claim"
            days = [P[e].start + timedelta(days=k) for k in range((P[e].end - P[e].start).days + 1)]
            d = [x for x in days if x.weekday() >= 5][int(rng.integers(8))]
            p = s.pl.person()
            s.pl.clear_absences(p, d, d)
            row = add_line(g, p.person_id, d, "subsistence", int(rng.integers(400, 900)), p.line_manager_id,
                           claim_group="late")
            what = f"subsistence on a {d:%A}"
        else:
            kind = "expenses_round_amount"
            amount = [5000, 6000, 8000, 12000][int(rng.integers(4))]
            p, row = s.expense(e, "other", group="late", amount=amount, description="Training materials")
            what = f"other expense of exactly £{amount / 100:.2f}"
        claimed = s.day(a, 1, 28)
        g.claim_date_of[row["_h"]] = claimed
        note = f"{what}, claimed {(claimed - row['expense_date']).days} days later (first in the {P[a]} extract)"
        g.record(kind, P[e], [("expenses", row)], note, [p])
        s.case(kind, "late", P[e], P[a], [("expenses", row)], note)

    # (c) backdated invoices: the invoice that completes a duplicate / split pair is posted 30-90 days late
    for i, a in enumerate(s.months(count(("late", "invoice")), 2)):
        t = max(1, a - 1 - int(rng.integers(0, 2)))
        rec = s.pl.supplier()
        if i % 2 == 0:
            kind = "procurement_duplicate_invoice"
            amt = int(rng.integers(40_000, 240_000))
            ref = proc.next_ref(rec)
            inv2 = s.day(t, 13, 25)
            first = proc.chain(rec, inv2 - timedelta(days=17), amt, invoice_after=5, invoice_lines=1, ref=ref)
            second_order, second_amt, inv_after = inv2 - timedelta(days=5), amt, 5
            what = f"invoice {ref} entered twice"
        else:
            kind = "procurement_split_invoices"
            x = int(rng.integers(260_000, 490_000))
            second_amt = int(rng.integers(max(500_000 - x, 100_000), 490_000))
            inv2 = s.day(t, 13, 20)
            first = proc.chain(rec, inv2 - timedelta(days=22), x, invoice_after=10, invoice_lines=1)
            second_order, inv_after = inv2 - timedelta(days=20), 20
            ref = None
            what = f"two invoices 12 days apart totalling £{(x + second_amt) / 100:,.2f}"
        posted = s.between(max(inv2 + timedelta(days=30), P[a].start), min(inv2 + timedelta(days=90), P[a].end))
        second = proc.chain(rec, second_order, second_amt, invoice_after=inv_after, invoice_lines=1, ref=ref,
                            pay_after=(posted - inv2).days + int(rng.integers(5, 15)))
        second["invoice"][0]["_posted"] = posted
        rows = [("procurement", first["invoice"][0]), ("procurement", second["invoice"][0])]
        note = f"{what}; the second invoice posted {(posted - inv2).days} days after its date ({P[a]})"
        g.record(kind, P[t], rows, note, orgs=[rec.org])
        s.case(kind, "late", P[t], P[a], rows, note)

    # (d) material edits after a run has seen the row
    for i, c in enumerate(s.months(count(("altered", "gift_value")) + count(("altered", "gift_donor")), 2)):
        k = s.before(c, 0)
        _, row = s.gift(k, int(rng.integers(1500, 2400)))
        row["donor_company_number"] = None
        if i % 2 == 0:
            old = row["estimated_value"]
            row["estimated_value"] = int(old * rng.uniform(0.4, 0.7))
            s.edit(row, c, {"estimated_value": old})
            note = f"estimated value lowered from £{old / 100:.2f} to £{row['estimated_value'] / 100:.2f}"
        else:
            old = row["donor_name"]
            new = s.pl.donor()
            row["donor_name"], row["_org:donor_name"] = new.name, new.org
            s.edit(row, c, {"donor_name": old})
            note = f"donor renamed from {old!r} to {new.name!r}"
        s.case(ALTERED, "altered", P[k], P[c], [("gifts_hospitality", row)], note)
    for c in s.months(count(("altered", "expense")), 3):
        k = s.before(c, 1)
        _, row = s.expense(k - 1)
        old = row["amount"]
        row["amount"] = max(250, old + int(rng.integers(150, 600)) * (1 if rng.random() < 0.5 else -1))
        s.edit(row, c, {"amount": old})
        s.case(ALTERED, "altered", P[k - 1], P[c], [("expenses", row)],
               f"amount changed from £{old / 100:.2f} to £{row['amount'] / 100:.2f}")
    for c in s.months(count(("altered", "invoice")), 2):
        k = s.before(c, 0)
        row = s.invoice(k)
        old = row["net_amount"]
        row["net_amount"] = int(old * (1 + rng.choice([-1, 1]) * rng.uniform(0.05, 0.15)))
        s.edit(row, c, {"net_amount": old})
        s.case(ALTERED, "altered", P[k], P[c], [("procurement", row)],
               f"invoice net amount changed from £{old / 100:,.2f} to £{row['net_amount'] / 100:,.2f}")
    for c in s.months(count(("altered", "interest")), 2, s.avoid_interests):
        k = s.before(c, 0, s.avoid_interests)
        if k is None:
            continue
        old = float(rng.choice([4.0, 6.0, 8.0]))
        row = s.interest(k, old + 6.0)
        s.edit(row, c, {"hours_per_week": old})
        s.case(ALTERED, "altered", P[k], P[c], [("business_interests", row)],
               f"hours per week changed from {old:g} to {old + 6:g}")
    for i, c in enumerate(s.months(count(("altered", "association")), 2)):
        k = s.before(c, 0)
        row = s.association(k)
        if i % 2 == 0:
            old, row["category"] = row["category"], "criminal_record"
            s.edit(row, c, {"category": old})
            note = f"category changed from {old} to criminal_record"
        else:
            old = row["relationship"]
            row["relationship"] = next(r for r in ("Business partner", "Cousin") if r != old)
            s.edit(row, c, {"relationship": old})
            note = f"relationship changed from {old!r} to {row['relationship']!r}"
        s.case(ASSOC_ALTERED, "altered", P[k], P[c], [("notifiable_associations", row)], note)

    # (e) deletions: in the extract of month k, gone from month d on
    # event rows start after the window's first month: never the oldest rows of an extract (aged out)
    for d in s.months(count(("deleted", "gift")), 2):
        k = s.before(d, 1)
        _, row = s.gift(k)
        s.drop(row, d)
        s.case(DELETED, "deleted", P[k], P[d], [("gifts_hospitality", row)], f"declared in {P[k]}, gone from {P[d]}")
    for d in s.months(count(("deleted", "expense")), 3):
        k = s.before(d, 2)
        _, row = s.expense(k - 1)
        s.drop(row, d)
        s.case(DELETED, "deleted", P[k - 1], P[d], [("expenses", row)],
               f"claimed in {P[k]} (a claim of one line), gone from {P[d]}")
    for d in s.months(count(("deleted", "invoice")), 2):
        k = s.before(d, 1)
        row = s.invoice(k)
        s.drop(row, d)
        s.case(DELETED, "deleted", P[k], P[d], [("procurement", row)],
               f"invoice posted in {P[k]}, gone from {P[d]} (its order and payment stay)")
    for d in s.months(count(("deleted", "interest")), 2, s.avoid_interests):
        k = s.before(d, 0, s.avoid_interests)
        if k is None:
            continue
        row = s.interest(k, float(rng.choice([4.0, 6.0, 8.0])))
        s.drop(row, d)
        s.case(DELETED, "deleted", P[k], P[d], [("business_interests", row)], f"submitted in {P[k]}, gone from {P[d]}")
    for d in s.months(count(("deleted", "association")), 2):
        k = s.before(d, 0)
        row = s.association(k)
        s.drop(row, d)
        s.case(ASSOC_DELETED, "deleted", P[k], P[d], [("notifiable_associations", row)],
               f"declared in {P[k]}, gone from {P[d]}")

    # (f) near misses: a typo fixed, a pending decision made (the failed sources are in `failed_sources`)
    for c in s.months(count(("decoy", "gift_typo")), 2):
        k = s.before(c, 0)
        _, row = s.gift(k)
        old = _typo(row["description"], rng)
        s.edit(row, c, {"description": old})
        s.case(ALTERED, "decoy", P[k], P[c], [("gifts_hospitality", row)],
               f"description typo fixed ({old!r} -> {row['description']!r}): not a material field")
    for c in s.months(count(("decoy", "expense_typo")), 3):
        k = s.before(c, 1)
        _, row = s.expense(k - 1, "mileage", description="Mileage - court attendance")
        old = _typo(row["description"], rng)
        s.edit(row, c, {"description": old})
        s.case(ALTERED, "decoy", P[k - 1], P[c], [("expenses", row)],
               f"description typo fixed ({old!r} -> {row['description']!r}): not a material field")
    for c in s.months(count(("decoy", "interest_pending")), 1, s.avoid_interests | {i + 1 for i in s.avoid_interests}):
        k = c - 1
        decided = s.day(c, 1, 12)
        row = s.interest(k, 4.0, decided=decided, itype="paid_hobby")
        s.edit(row, c, {"decision": "pending", "decided_by": None, "decision_date": None, "review_due_date": None,
                        "last_reviewed_date": None})
        s.case(ALTERED, "decoy", P[k], P[c], [("business_interests", row)],
               f"pending in {P[k]}, approved on {decided}: a decision made, not an alteration")
    for c in s.months(count(("decoy", "association_pending")), 1):
        k = c - 1
        row = s.association(k)
        s.edit(row, c, {"risk_outcome": "pending"})
        s.case(ASSOC_ALTERED, "decoy", P[k], P[c], [("notifiable_associations", row)],
               f"risk assessment pending in {P[k]}, managed from {P[c]}: an assessment made, not an alteration")


# ---- presence and extracts --------------------------------------------------------------------
@dataclass
class _Source:
    layout: Layout
    df: pd.DataFrame  # every row ever written, final values, output order
    cells: pd.DataFrame  # the same rows as the file holds them (dirty cells included)
    arrive: np.ndarray  # month index of the first extract holding the row
    gone: np.ndarray  # month index of the first extract without it (n: never gone)
    kept: np.ndarray  # bool: in the main output (not deleted)


class Extracts:
    """Which rows each monthly extract holds, and writing them."""

    def __init__(self, g: Gen):
        self.g = g
        self.n = len(g.periods)
        self.index = {p: i for i, p in enumerate(g.periods)}
        self.sources: dict[str, _Source] = {}
        self.where: dict[int, str] = {}  # handle -> layout name
        self.failed = {(self.index[p], source): how for p, source, how in g.failed_sources}

    def _month(self, dates: pd.Series) -> np.ndarray:
        d = pd.to_datetime(dates)
        start = self.g.start.year * 12 + self.g.start.month - 1
        idx = (d.dt.year * 12 + d.dt.month - 1 - start).fillna(0)
        return idx.clip(0, self.n - 1).astype("int64").to_numpy()

    def add(self, layout: Layout, df: pd.DataFrame) -> np.ndarray:
        """Register a layout's full frame; -> bool mask of the rows in the main output."""
        dates = None
        for f in ARRIVAL.get(layout.name, ()):
            if f in df:
                dates = df[f] if dates is None else dates.where(dates.notna(), df[f])
        arrive = self._month(dates) if dates is not None else np.zeros(len(df), dtype="int64")
        by_gone = {h: self.index[p] for h, p in self.g.gone.items()}
        gone = df["_h"].map(by_gone).fillna(self.n).astype("int64").to_numpy()
        kept = gone >= self.n
        self.sources[layout.name] = _Source(layout, df, pd.DataFrame(), arrive, gone, kept)
        for h in df["_h"].to_numpy():
            if h >= 0:
                self.where[int(h)] = layout.name
        return kept

    def set_cells(self, name: str, all_cells: pd.DataFrame, main_cells: pd.DataFrame) -> None:
        """The file's cells of every row, with the main output's dirty cells copied in."""
        src = self.sources[name]
        all_cells = all_cells.copy()
        if len(main_cells):
            all_cells.iloc[np.flatnonzero(src.kept)] = main_cells.to_numpy()
        src.cells = all_cells

    def present(self, h: int, m: int) -> bool:
        """Is the row with handle h in the extract of month index m?"""
        name = self.where.get(h)
        if name is None:
            return False
        src = self.sources[name]
        i = self._pos(name, h)
        return bool(src.arrive[i] <= m < src.gone[i]) and (m, name) not in self.failed

    def _pos(self, name: str, h: int) -> int:
        if not hasattr(self, "_positions"):
            self._positions = {}
        if name not in self._positions:
            hs = self.sources[name].df["_h"].to_numpy()
            self._positions[name] = {int(x): i for i, x in enumerate(hs)}
        return self._positions[name][h]

    def arrival(self, handles: list[int], period: str) -> str | None:
        """The first month from `period` whose run sees every one of the rows (None: never)."""
        for m in range(self.index.get(Period.parse(period), 0), self.n):
            if all(self.present(h, m) for h in handles):
                return str(self.g.periods[m])
        return None

    def rows_in(self, name: str, m: int) -> np.ndarray:
        src = self.sources[name]
        return (src.arrive <= m) & (src.gone > m)

    def write(self, out: Path) -> None:
        root = out / "schedule"
        if root.exists():
            shutil.rmtree(root)
        for m, period in enumerate(self.g.periods):
            folder = root / str(period)
            folder.mkdir(parents=True)
            for name, src in self.sources.items():
                how = self.failed.get((m, name))
                if how == "missing":
                    continue
                mask = self.rows_in(name, m)
                cells = src.cells[mask]
                edits = [(h, old) for h, (p, old) in self.g.before.items()
                         if self.where.get(h) == name and m < self.index[p]]
                if edits:
                    cells = cells.copy()
                    for h, old in edits:
                        i = self._pos(name, h)
                        if mask[i]:
                            cells.loc[src.cells.index[i]] = self._cells_with(src, i, old)
                if how == "header_only":
                    cells = cells.iloc[0:0]
                writers.write(cells.reset_index(drop=True), src.layout, folder)
            write_mapping([s.layout for s in self.sources.values()], folder / "config.toml", FORCE_NAME)

    @staticmethod
    def _cells_with(src: _Source, i: int, old: dict) -> list:
        row = src.df.iloc[[i]].copy()
        for f, v in old.items():
            row[f] = pd.Series([v], index=row.index, dtype=object)
        cells = writers.format_frame(row, src.layout, for_xlsx=src.layout.kind == "xlsx")
        return cells.iloc[0].tolist()


# ---- truth ------------------------------------------------------------------------------------
def truth(g: Gen, ex: Extracts, handle_keys: dict, dirty_handles: set[int]) -> tuple[list[dict], list[dict]]:
    """-> (truth `schedule`, truth `schedule_failed_sources`)."""
    entries = []
    for e in g.schedule:
        entries.append({"kind": e["kind"], "case": e["case"], "event_period": e["event_period"],
                        "arrival_period": e["arrival_period"],
                        "records": [{"register": handle_keys[h][0], "key": handle_keys[h][1]} for _, h in e["records"]],
                        "note": e["note"]})
    failed = []
    for period, source, how in g.failed_sources:
        m = ex.index[period]
        failed.append({"period": str(period), "source": source, "how": how})
        src = ex.sources[source]
        before = ex.rows_in(source, m - 1) & ex.rows_in(source, m + 1)
        hs = [int(h) for h in src.df["_h"].to_numpy()[before] if int(h) not in dirty_handles]
        register = src.layout.register
        entries.append({"kind": ASSOC_DELETED if register == "notifiable_associations" else DELETED,
                        "case": "decoy", "event_period": str(period), "arrival_period": str(g.periods[m + 1]),
                        "records": [{"register": handle_keys[h][0], "key": handle_keys[h][1]} for h in hs],
                        "note": f"source {source} {'missing' if how == 'missing' else 'a header-only file'} in "
                                f"{period}, back in full in {g.periods[m + 1]}: {len(hs)} rows that must not "
                                f"be reported deleted"})
    order = {"late": 0, "altered": 1, "deleted": 2, "decoy": 3}
    entries.sort(key=lambda e: (order[e["case"]], e["kind"], e["arrival_period"], e["event_period"],
                                json.dumps(e["records"], sort_keys=True, default=str)))
    return [{"id": f"L{i:04d}", **e} for i, e in enumerate(entries, start=1)], failed


def use_month(force: Path, period: str, work: Path) -> None:
    """Make `work` hold exactly the sources (and config.toml) of `period`'s extract, as the force's
    export folder looked when that month's run happened: a file the extract lacks (a source that
    failed that month) is removed. For replaying the schedule month by month."""
    month = force / "schedule" / period
    if not month.is_dir():
        raise FileNotFoundError(f"{force} has no extract for {period} (generate with schedule=True)")
    work.mkdir(parents=True, exist_ok=True)
    extracts = {f.name for m in (force / "schedule").iterdir() for f in m.iterdir()}
    for name in extracts - {f.name for f in month.iterdir()}:
        (work / name).unlink(missing_ok=True)
    for f in month.iterdir():
        if f.is_file():
            shutil.copyfile(f, work / f.name)
