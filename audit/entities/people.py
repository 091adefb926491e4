"""Person resolution against the workforce: person ids first, then written names.

A value in a person field resolves as follows (the first rule that applies):
 1. it is a workforce person_id (or equals one once leading zeros are ignored) -> that id
    (method identifier, strong);
 2. it looks like an id ("100231", "P-00417") or sits in a person_id column but is not in the
    workforce -> keyed as written (identifier, weak) and reported in unresolved as `unknown_id`:
    the register's own id still joins across registers, but nobody can confirm who it is;
 3. an analyst's `same` override for that written text -> that person (override);
 4. otherwise it is a written name: titles, ranks and collar numbers are dropped ("DS 1234 J. Smith"),
    and staff with that surname and that forename (or initial) are candidates; a date of birth on the
    row must agree (method name_dob), then a department narrows several candidates down.
    Exactly one candidate -> that person (strong when the forename is full or the date of birth /
    department confirmed it; weak when only an initial or surname matched). Several -> `ambiguous`
    with the candidates listed and the key left blank: never guessed. None -> `no_match`.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

from audit.entities import names
from audit.entities.overrides import Overrides

_ID_LIKE = re.compile(r"[A-Za-z]{0,4}[-_/]?\d{2,}[A-Za-z0-9\-_/]*")


@dataclass(frozen=True)
class Staff:
    person_id: str
    first: str  # first forename, squashed
    first_full: str  # all forenames squashed together ("maryann")
    dob: str  # ISO or ""
    department: str  # casefolded or ""
    display: str  # "Mary Ann Smith"


def _norm_dept(value) -> str:
    return " ".join(value.casefold().split()) if isinstance(value, str) else ""


def _iso(value) -> str:
    return value.strftime("%Y-%m-%d") if isinstance(value, pd.Timestamp) and not pd.isna(value) else ""


class Workforce:
    """The workforce indexed for lookups by id, by surname, and by surname with a forename or an
    initial: a large force has hundreds of staff per common surname, and filtering them for every
    written name made name resolution grow with the rows times the staff."""

    def __init__(self, df: pd.DataFrame | None):
        self.present = df is not None and "person_id" in df
        self.ids: set[str] = set()
        self.unpadded: dict[str, str | None] = {}
        self.by_last: dict[str, list[Staff]] = defaultdict(list)
        #: (surname, first forename or all forenames) -> staff, each once, in workforce order
        self.by_forename: dict[tuple[str, str], list[Staff]] = defaultdict(list)
        self.by_initial: dict[tuple[str, str], list[Staff]] = defaultdict(list)  # (surname, initial)
        if not self.present:
            return
        cols = {c: df[c] if c in df else pd.Series([None] * len(df), index=df.index)
                for c in ("person_id", "first_name", "last_name", "date_of_birth", "department")}
        for pid, first, last, dob, dept in zip(*cols.values()):
            if not isinstance(pid, str) or not pid.strip():
                continue
            pid = pid.strip()
            self.ids.add(pid)
            short = pid.lstrip("0")
            self.unpadded[short] = None if short in self.unpadded and self.unpadded[short] != pid else pid
            fore = names.parse(first).tokens
            surname = "".join(names.squash(w) for w in last.split()) if isinstance(last, str) else ""
            if fore and surname:
                staff = Staff(pid, fore[0], "".join(fore), _iso(dob), _norm_dept(dept), f"{first} {last}".strip())
                self.by_last[surname].append(staff)
                self.by_initial[(surname, staff.first[:1])].append(staff)
                for forename in dict.fromkeys((staff.first, staff.first_full)):
                    self.by_forename[(surname, forename)].append(staff)

    def lookup_id(self, value: str) -> str | None:
        if value in self.ids:
            return value
        return self.unpadded.get(value.lstrip("0")) if value.isdigit() else None

    def candidates(self, parsed: names.ParsedName) -> tuple[list[Staff], int]:
        """Staff whose name fits, and the score of the fit (100 full forename, 90 initial, 80 surname)."""
        for first, last in parsed.splits():
            if not first:
                found, score = self.by_last.get(last, []), 80
            elif len(first) == 1:
                found, score = self.by_initial.get((last, first), []), 90
            else:
                found, score = self.by_forename.get((last, first), []), 100
            if found:
                return found, score
        return [], 0


def resolve_value(wf: Workforce, value, *, id_column: bool, dob=None, department=None,
                  overrides: Overrides | None = None) -> tuple[tuple | None, dict | None]:
    """One written value -> ((key, method, score, strength, matched_text) or None, unresolved or None)."""
    if not isinstance(value, str) or not value.strip():
        return None, None
    v = value.strip()
    if wf.present:
        pid = wf.lookup_id(v)
        if pid:
            return (pid, "identifier", 100.0, "strong", pid), None
    if id_column or _ID_LIKE.fullmatch(v):
        if not wf.present:
            return (v, "identifier", 100.0, "strong", v), None
        return (v, "identifier", 100.0, "weak", ""), {"text": v, "reason": "unknown_id", "candidates": []}
    overrides = overrides or Overrides()
    parsed = names.parse(v)
    forced = overrides.person_same().get(parsed.text)
    if forced:
        return (forced, "override", 100.0, "strong", forced), None
    if not wf.present:
        return None, {"text": v, "reason": "no_workforce", "candidates": []}
    found, score = wf.candidates(parsed)
    vetoed = overrides.person_different()
    found = [s for s in found if (parsed.text, s.person_id) not in vetoed]
    method, confirmed = "normalised_name", score == 100
    day = _iso(dob)
    if found and day:
        found = [s for s in found if s.dob == day]
        method, confirmed = "name_dob", True
    dept = _norm_dept(department)
    if len(found) > 1 and dept:
        narrowed = [s for s in found if s.department == dept]
        if narrowed:
            found, confirmed = narrowed, confirmed or len(narrowed) == 1
    if len(found) == 1:
        s = found[0]
        confirmed = confirmed or bool(dept and s.department == dept)
        return (s.person_id, method, float(score), "strong" if confirmed else "weak", s.display), None
    if found:
        return None, {"text": v, "reason": "ambiguous", "candidates": sorted(s.person_id for s in found)}
    return None, {"text": v, "reason": "no_match", "candidates": []}
