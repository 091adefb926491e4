"""Background expense lines (vectorised with numpy) and grouping of all lines into claims.

Each claimant travels on "trip days" at least 8 days apart, moved off weekends (a few weekend
trips keep mileage / travel only) and never on a day of absence or accepted hospitality. A trip
day has at most one line per type, so duplicates and 7-day splits cannot arise; mileage is paid
at or under 45p a mile; subsistence is within the £35 scale. Claims group a person's lines by month
and are claimed 1-15 days after the month ends (a line planted as a late claim: on its own day).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from audit.generator.core import Gen

TYPES = ["mileage", "subsistence", "travel", "accommodation", "other"]
TYPE_P = [0.8, 0.35, 0.15, 0.04, 0.06]
DESCRIPTIONS = {
    "mileage": ["Mileage - court attendance", "Mileage - training course", "Mileage - meeting at HQ",
                "Mileage - witness enquiries", "Mileage - partnership meeting"],
    "subsistence": ["Subsistence - lunch (5h+)", "Subsistence - meal (10h+)", "Subsistence - evening meal (15h+)"],
    "travel": ["Rail fare", "Bus fare", "Taxi - no pool car available", "Car parking"],
    "accommodation": ["Hotel - overnight for course", "Hotel - court attendance"],
    "other": ["Car parking", "Stationery", "Toll charge", "Professional membership", "Training materials"],
}
MERCHANTS = {
    "mileage": [""], "subsistence": ["Greggs", "Costa Coffee", "Tesco Express", "Pret A Manger", "Subway"],
    "travel": ["Northern", "Avanti West Coast", "Stagecoach", "Station Taxis", "NCP"],
    "accommodation": ["Premier Inn", "Travelodge", "Holiday Inn Express"],
    "other": ["NCP", "WH Smith", "Highways England", "Ryman"],
}
COLUMNS = ["person_id", "expense_date", "expense_type", "description", "amount", "miles", "merchant",
           "approver", "_h"]


def background(g: Gen) -> pd.DataFrame:
    rng = g.rng("expenses")
    people = [p for p in g.people if p.person_id not in g.reserved and p.line_manager_id
              and (p.end_date is None or p.end_date > g.start) and p.start_date < g.end]
    take = np.sort(rng.choice(len(people), size=int(len(people) * 0.6), replace=False))
    claimants = [people[int(i)] for i in take]
    n, days = len(claimants), g.days
    # trip days: gaps >= 10 days (>= 8 after moving weekends), mean gap per person 12..40
    mean_gap = rng.uniform(11, 30, size=n)
    k = days // 10 + 2
    gaps = 10 + rng.poisson((mean_gap - 10)[:, None], size=(n, k))
    offs = rng.integers(0, 20, size=n)[:, None] + np.cumsum(gaps, axis=1) - gaps[:, :1]
    pidx = np.repeat(np.arange(n), k)
    off = offs.ravel()
    keep = off < days
    pidx, off = pidx[keep], off[keep]
    wd = (g.start.weekday() + off) % 7
    weekend_ok = rng.random(len(off)) < 0.04
    off = np.where(~weekend_ok & (wd == 5), off - 1, off)
    off = np.where(~weekend_ok & (wd == 6), np.where(off + 1 < days, off + 1, off - 2), off)
    off = np.clip(off, 0, days - 1)
    weekend = ((g.start.weekday() + off) % 7) >= 5
    # block days outside employment, absent, or with accepted hospitality
    starts = np.array([max(0, (p.start_date - g.start).days) for p in claimants])
    ends = np.array([min(days - 1, ((p.end_date or g.end) - g.start).days) for p in claimants])
    ok = (off >= starts[pidx]) & (off <= ends[pidx])
    pos = {p.person_id: i for i, p in enumerate(claimants)}
    blocked = []
    for pid, rows in g.absences.items():
        if pid in pos:
            for r in rows:
                a = (r["start_date"] - g.start).days
                b = ((r["end_date"] or g.end) - g.start).days
                if b >= 0:
                    blocked.append(pos[pid] * 10_000 + np.arange(max(0, a), b + 1))
    blocked += [np.array([pos[pid] * 10_000 + (d - g.start).days]) for pid, d in g.hospitality_days if pid in pos]
    if blocked:
        ok &= ~np.isin(pidx * 10_000 + off, np.concatenate(blocked))
    pidx, off, weekend = pidx[ok], off[ok], weekend[ok]
    # lines per trip
    frames = []
    has = rng.random((len(off), len(TYPES))) < np.array(TYPE_P)
    has[:, 1] &= ~weekend
    has[:, 4] &= ~weekend
    has[:, 0] |= ~has.any(axis=1)
    for t, typ in enumerate(TYPES):
        sel = has[:, t]
        m = int(sel.sum())
        miles = np.full(m, np.nan)
        if typ == "mileage":
            tenths = np.clip(np.round(rng.lognormal(np.log(20), 0.7, m) * 10), 10, 2500).astype(np.int64)
            miles = tenths / 10
            amount = tenths * 45 // 10
        elif typ == "subsistence":
            cap = rng.choice([500, 1000, 2500, 3500], size=m, p=[0.5, 0.35, 0.13, 0.02])
            amount = (cap * rng.uniform(0.5, 1.0, m)).astype(np.int64)
        else:
            lo, hi = {"travel": (450, 9500), "accommodation": (6500, 14000), "other": (150, 4500)}[typ]
            amount = rng.integers(lo, hi, size=m)
        amount = np.where((amount % 1000 == 0) & (amount >= 5000), amount + 37, amount)
        descs, merch = DESCRIPTIONS[typ], MERCHANTS[typ]
        frames.append(pd.DataFrame({
            "person_id": pd.Series([claimants[i].person_id for i in pidx[sel]], dtype=object),
            "_off": off[sel], "expense_type": typ,
            "description": np.array(descs, dtype=object)[rng.integers(0, len(descs), m)],
            "amount": amount.astype(np.int64), "miles": miles,
            "merchant": np.array(merch, dtype=object)[rng.integers(0, len(merch), m)],
            "approver": pd.Series([claimants[i].line_manager_id for i in pidx[sel]], dtype=object),
            "_h": -1}))
    df = pd.concat(frames, ignore_index=True)
    df["expense_date"] = pd.Timestamp(g.start) + pd.to_timedelta(df.pop("_off"), unit="D")
    df["merchant"] = df["merchant"].replace("", None)
    return df[COLUMNS]


def claims(g: Gen, bg: pd.DataFrame) -> pd.DataFrame:
    """Background + scenario lines grouped into monthly claims with ids, claim / approval / paid dates."""
    scen = pd.DataFrame(g.rows.get("expenses", []), columns=COLUMNS + ["claim_group"])
    if len(scen):
        scen["expense_date"] = pd.to_datetime(scen["expense_date"])
    df = pd.concat([bg.assign(claim_group=""), scen.astype({"_h": "int64"})], ignore_index=True)
    df["claim_group"] = df["claim_group"].fillna("")
    df["_month"] = df["expense_date"].dt.to_period("M")
    df["_t"] = df["expense_type"].map({t: i for i, t in enumerate(TYPES)})
    df = df.sort_values(["_month", "person_id", "claim_group", "expense_date", "_t", "_h"], kind="mergesort",
                        ignore_index=True)
    key = df["_month"].astype(str) + "|" + df["person_id"] + "|" + df["claim_group"]
    first = ~key.duplicated()
    seq = first.cumsum()
    df["claim_id"] = "CLM" + (1_000_000 + seq).astype(str)
    df["line_id"] = (df.groupby(seq).cumcount() + 1).astype(str)
    rng = g.rng("expense-claims")
    n = int(seq.max())
    end = pd.Timestamp(g.end)
    month_end = df.loc[first, "_month"].dt.end_time.dt.normalize().to_numpy()
    claim_date = pd.Series(month_end + pd.to_timedelta(rng.integers(1, 16, n), unit="D")).clip(upper=end)
    approved = claim_date + pd.to_timedelta(rng.integers(1, 8, n), unit="D")
    paid = approved + pd.to_timedelta(rng.integers(3, 15, n), unit="D")
    approved = approved.where(approved <= end)
    paid = paid.where(paid <= end)
    df["claim_date"] = claim_date.to_numpy()[seq - 1]
    df["approved_date"] = approved.to_numpy()[seq - 1]
    df["paid_date"] = paid.to_numpy()[seq - 1]
    late = df["_h"].isin(list(g.claim_date_of)).to_numpy()
    if late.any():  # late claims (audit/generator/schedule.py): each its own claim, claimed on the planted day
        rng = g.rng("expense-late-claims")
        n = int(late.sum())
        cd = pd.to_datetime(pd.Series([g.claim_date_of[int(h)] for h in df.loc[late, "_h"]]))
        ap = cd + pd.to_timedelta(rng.integers(1, 8, n), unit="D")
        pd_ = ap + pd.to_timedelta(rng.integers(3, 15, n), unit="D")
        df.loc[late, "claim_date"] = cd.to_numpy()
        df.loc[late, "approved_date"] = ap.where(ap <= end).to_numpy()
        df.loc[late, "paid_date"] = pd_.where(pd_ <= end).to_numpy()
    return df.drop(columns=["_month", "_t", "claim_group"])


def add_line(g: Gen, person_id: str, day, typ: str, amount: int, approver: str, *, miles=None,
             description: str | None = None, merchant: str | None = None, claim_group: str = "") -> dict:
    """A scenario / decoy line (kept by handle so truth can name its claim and line)."""
    return g.add("expenses", {
        "person_id": person_id, "expense_date": day, "expense_type": typ,
        "description": description or DESCRIPTIONS[typ][0], "amount": int(amount),
        "miles": float(miles) if miles is not None else np.nan,
        "merchant": merchant or (MERCHANTS[typ][0] or None), "approver": approver, "claim_group": claim_group})

