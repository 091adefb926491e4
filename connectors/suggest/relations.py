"""Date columns placed by how their values relate: a declaration comes on or after the offer, a
clearance expires after it was granted, a claim is made after the expense.

Headers often leave two date fields close ("Date" and "Date Registered", "Vetting Date" and
"Renewal Date"). After the columns are assigned (connectors.suggest.assign), each ordered pair of
date fields the register has is checked over the whole sample, row by row:

- both fields assigned, and the values say the other way round (the "later" column is earlier in
  at least 95% of the rows that have both, and later in fewer than half): the two are swapped;
- one field assigned and the other not: a free date column with at least some header evidence for
  the missing field (RELATION_MIN) whose values keep the order in at least 95% of the rows is
  proposed for it (for a required field with no such header, the one free date column that keeps
  the order, if there is exactly one); if the order only holds with the roles swapped and the assigned column has
  header evidence for the other field too, the two are placed that way round.

Every move says why in the column's reason and gets a CHECK line (the caller adds them).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from audit.registers import Register

from ..parse import as_text
from .assign import Assignment, Candidate

#: (earlier, later) date fields; `strict`: the later one is after, not on, the earlier
ORDER: tuple[tuple[str, str, bool], ...] = (
    ("offered_date", "declared_date", False), ("offered_date", "approval_date", False),
    ("submitted_date", "decision_date", False), ("expense_date", "claim_date", False),
    ("claim_date", "approved_date", False), ("approved_date", "paid_date", False),
    ("granted_date", "expiry_date", True), ("last_review_date", "next_review_due", True),
    ("date_of_birth", "start_date", True), ("start_date", "end_date", False),
    ("supplier_created_date", "transaction_date", False),
)
AGREE = 0.95  # share of rows (with both dates) that must keep the order
RELATION_MIN = 45.0  # header evidence a free column needs before its values may place it
_OPEN_FROM = 2262  # year from which a date means "no end" (connectors: open-ended dates)


def _as_date(value: Any, formats: list[str]) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = as_text(value).strip()
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _dates(c: Candidate, rows: list[list]) -> list[date | None]:
    pos, formats = c.column.position, c.column.dates.formats
    out = [_as_date(r[pos] if pos < len(r) else None, formats) for r in rows]
    return [None if d is None or d.year >= _OPEN_FROM else d for d in out]


def keeps_order(early: list[date | None], late: list[date | None], strict: bool) -> tuple[float, int]:
    """(share of rows with both dates where late is after early (or on it, unless strict), rows)."""
    both = [(e, l) for e, l in zip(early, late) if e is not None and l is not None]
    if not both:
        return 0.0, 0
    ok = sum(1 for e, l in both if (l > e if strict else l >= e))
    return ok / len(both), len(both)


def place_dates(chosen: Assignment, register: Register, rows: list[list]) -> dict[str, str]:
    """Move date columns by the ORDER relations; returns header -> why it was placed so."""
    notes: dict[str, str] = {}
    fields = set(register.fields)
    for early, late, strict in ORDER:
        if not {early, late} <= fields:
            continue
        by_field = {c.field.name: c for c in chosen.chosen}
        e, l = by_field.get(early), by_field.get(late)
        if e is not None and l is not None:
            _swap_if_reversed(chosen, e, l, strict, rows, notes)
        elif (e is None) != (l is None):
            _fill_partner(chosen, e, l, early, late, strict, rows, notes)
    return notes


def _swap_if_reversed(chosen: Assignment, e: Candidate, l: Candidate, strict: bool, rows, notes) -> None:
    fwd, n = keeps_order(_dates(e, rows), _dates(l, rows), strict)
    back, _ = keeps_order(_dates(l, rows), _dates(e, rows), strict)
    if n and fwd < 0.5 and back >= AGREE:
        _put(chosen, e, l.field.name)
        _put(chosen, l, e.field.name)
        notes[e.column.header] = (f"values: {back:.0%} of rows have {e.column.header!r} after "
                                  f"{l.column.header!r}, so it is {l.field.name}, not {e.field.name}")
        notes[l.column.header] = f"values: placed before {e.column.header!r}, so it is {e.field.name}"


def _fill_partner(chosen: Assignment, e: Candidate | None, l: Candidate | None, early: str, late: str,
                  strict: bool, rows, notes) -> None:
    used = {c.column.position for c in chosen.chosen}
    have = e or l
    missing = late if e is not None else early
    mine = _dates(have, rows)
    free = [p for p in chosen.pairs if p.column.position not in used and p.field.type == "date"
            and p.column.dates.share >= 0.9 and p.header.score >= RELATION_MIN]

    def fits(p: Candidate) -> tuple[float, int]:
        theirs = _dates(p, rows)
        return keeps_order(*((mine, theirs) if e is not None else (theirs, mine)), strict)

    tries = sorted((p for p in free if p.field.name == missing), key=lambda p: -p.score)
    # a required date with no header evidence anywhere: the one free date column, if it keeps the order
    only = [p for p in chosen.pairs if p.column.position not in used and p.field.name == missing
            and p.column.dates.share >= 0.9 and p.score > 0]
    if not tries and len(only) == 1 and chosen_required(chosen, missing):
        tries = only
    for p in tries:
        share, n = fits(p)
        if n and share >= AGREE:
            _add(chosen, p)
            notes[p.column.header] = (("the only free date column, and " if tries is only else "")
                                      + f"values: {share:.0%} of rows keep {early} <= {late} with "
                                      f"{have.column.header!r} as {have.field.name}")
            return
    # the order only holds the other way round: the assigned column is the missing field's partner
    other = early if e is not None else late
    for p in sorted((p for p in free if p.field.name == other), key=lambda p: -p.score):
        if not any(q.column.position == have.column.position and q.field.name == missing
                   and q.header.score >= RELATION_MIN for q in chosen.pairs):
            return
        theirs = _dates(p, rows)
        order = (theirs, mine) if e is not None else (mine, theirs)
        share, n = keeps_order(*order, strict)
        if n and share >= AGREE:
            _put(chosen, have, missing)
            _add(chosen, p)
            notes[have.column.header] = (f"values: {share:.0%} of rows have {p.column.header!r} on the "
                                         f"{'earlier' if e is not None else 'later'} side, so this is {missing}")
            notes[p.column.header] = f"values: it keeps {early} <= {late} with {have.column.header!r}"
            return


def chosen_required(chosen: Assignment, name: str) -> bool:
    return any(p.field.name == name and p.field.required for p in chosen.pairs)


def _pair(chosen: Assignment, position: int, field_name: str) -> Candidate:
    return next(p for p in chosen.pairs if p.column.position == position and p.field.name == field_name)


def _put(chosen: Assignment, c: Candidate, field_name: str) -> None:
    """Column of `c` now holds `field_name` (with that pair's own score and reason)."""
    i = chosen.chosen.index(c)
    chosen.chosen[i] = _pair(chosen, c.column.position, field_name)
    chosen.best_column.pop(field_name, None)


def _add(chosen: Assignment, p: Candidate) -> None:
    chosen.chosen.append(p)
    chosen.chosen.sort(key=lambda c: c.column.position)
    chosen.best_other.pop(p.column.header, None)
    chosen.best_column.pop(p.field.name, None)
