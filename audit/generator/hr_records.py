"""Vetting clearances with aftercare reviews, and sickness absence / annual leave, for everyone.

Background is clean against the catalogue: every active clearance meets its post's level and
expires more than 90 days after the window; leavers' clearances are withdrawn.
"""
from __future__ import annotations

from datetime import date, timedelta

from audit.generator.core import Gen, Person, add_years, working_days

RENEWAL_YEARS = {"nppv1": 3, "nppv2": 4, "rv": 10, "nppv3": 5, "mv": 7, "ctc": 10, "sc": 10, "dv": 7}
LEVELS = ["none", "nppv1", "nppv2", "rv", "nppv3", "mv", "ctc", "sc", "dv"]


def set_review(g: Gen, person_id: str, after: date, rng, max_days: int = 28) -> None:
    """Record an aftercare review 1..max_days after a change of circumstances (never after the window)."""
    row = g.vetting_of[person_id]
    room = max(1, min(max_days, (g.end - after).days))
    row["last_review_date"] = after + timedelta(days=int(rng.integers(1, room + 1)))
    row["next_review_due"] = row["last_review_date"] + timedelta(days=365)
    g.reviewed_change.add(person_id)


def _clearance(g: Gen, p: Person, rng) -> None:
    level = p.post_vetting_level
    if level == "rv" and rng.random() < 0.08:
        level = "mv"
    years = RENEWAL_YEARS[level]
    if p.start_date > g.start:
        granted = p.start_date - timedelta(days=int(rng.integers(20, 60)))
    else:
        lo = max(p.start_date - timedelta(days=60), add_years(g.end, -years) + timedelta(days=150))
        hi = g.end - timedelta(days=20)
        granted = lo + timedelta(days=int(rng.integers(0, max(1, (hi - lo).days))))
    if rng.random() < 0.15 and granted > p.start_date + timedelta(days=400):
        old_level = "rv" if level in ("mv", "sc", "dv") else level
        g.add("vetting", {"person_id": p.person_id, "level": old_level,
                          "granted_date": add_years(granted, -RENEWAL_YEARS[old_level]),
                          "expiry_date": granted - timedelta(days=1), "status": "expired",
                          "last_review_date": None, "next_review_due": None})
    review = max(granted, g.end - timedelta(days=int(rng.integers(5, 350))))
    row = g.add("vetting", {
        "person_id": p.person_id, "level": level, "granted_date": granted,
        "expiry_date": add_years(granted, years),
        "status": "withdrawn" if p.end_date else "active",
        "last_review_date": review if review > granted else None,
        "next_review_due": (review if review > granted else granted) + timedelta(days=365)})
    g.vetting_of[p.person_id] = row


def _spells(g: Gen, p: Person, rng) -> None:
    lo = max(p.start_date, g.start - timedelta(days=90))
    hi = min(p.end_date or g.end, g.end)
    if hi <= lo + timedelta(days=30):
        return
    span = (hi - lo).days
    wanted: list[tuple[int, int, str]] = []
    for _ in range(int(rng.poisson(1.0))):
        u = rng.random()
        length = int(rng.integers(1, 8)) if u < 0.85 else int(rng.integers(8, 21)) if u < 0.95 else int(rng.integers(28, 121))
        wanted.append((int(rng.integers(0, span)), length, "sickness"))
    if p.staff_type in ("officer", "staff"):
        for _ in range(3):
            wanted.append((int(rng.integers(0, span)), int(rng.integers(5, 11)), "annual_leave"))
    if rng.random() < 0.002:
        wanted.append((int(rng.integers(0, span)), int(rng.integers(20, 90)), "suspension"))
    taken: list[tuple[int, int]] = []
    for off, length, kind in sorted(wanted):
        if any(off <= b + 3 and off + length >= a - 3 for a, b in taken):
            continue
        taken.append((off, off + length - 1))
        start = lo + timedelta(days=off)
        end = start + timedelta(days=length - 1)
        add_absence(g, p.person_id, kind, start, None if end > g.end else end)


def add_absence(g: Gen, person_id: str, kind: str, start: date, end: date | None) -> dict:
    row = g.add("absence", {"person_id": person_id, "absence_type": kind, "start_date": start,
                            "end_date": end, "days": working_days(start, end or g.end)})
    g.absences.setdefault(person_id, []).append(row)
    return row


def absent_on(g: Gen, person_id: str, day: date, kinds=("sickness", "annual_leave", "suspension")) -> bool:
    return any(r["absence_type"] in kinds and r["start_date"] <= day <= (r["end_date"] or g.end)
               for r in g.absences.get(person_id, ()))


def build(g: Gen) -> None:
    rng = g.rng("hr-records")
    for p in g.people:
        _clearance(g, p, rng)
        _spells(g, p, rng)
