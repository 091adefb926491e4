"""Scoring every (source column, register field) pair and choosing one column per field.

score = header similarity x value fit + value bonus, 0-100:
- header similarity: connectors.suggest.headers (name, label, aliases);
- value fit (0-1): a typed field (date, money, number, bool) needs half the sampled cells to parse
  as that type, else the pair is dropped (above that, dirty cells lower the score and are reported); a text field is discounted when the cells are plainly dates
  or amounts, an ID field when they do not look like IDs, a name field when they have no letters,
  a record ID when its values repeat;
- value bonus: up to +10 for cells that all parse as the field's type, up to +30 for an enum whose
  values the cells are. An enum column can be proposed on its values alone (e.g. "INV/CRN" holding
  INV and CRN for transaction_type), when 95% of them map onto two or more canonical values.

An empty column is never proposed for a required field, and a constant one only for a required
enum field whose value it is. A constant column is also found by its one value when no other enum
field of the register has it (a "State" column reading "Active" throughout is the status). With the
configured workforce's person ids, a column whose values are mostly those ids is the person id
("MemberId" holding collar numbers), unless the header says it is another person field.

Pairs at or above THRESHOLD are assigned highest first; each column and each field is used once.
The threshold is conservative: a wrong mapping loads wrong data quietly, a missing one is a loud
comment in the block.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from audit.registers import Field, Register

from .enums import EnumEvidence, enum_evidence, yes_no_evidence
from .headers import HeaderMatch, header_match, normalise
from ..parse import as_text
from .profile import ColumnProfile

THRESHOLD = 65.0
#: an empty column keeps only a near-exact header for an optional field (never a required one)
EMPTY_FACTOR = 0.7
#: a constant column whose one value is a value of this enum field, and of no other of the register
SINGLE_VALUE_SCORE = 70.0
#: a column whose values are the workforce's person ids (share of its distinct values)
KNOWN_ID_SHARE = 0.8
_ID_SUFFIXES = ("_id", "_number", "_ref")
_NAME_FIELDS = ("_name",)


@dataclass
class Candidate:
    column: ColumnProfile
    field: Field
    score: float
    header: HeaderMatch
    evidence: str  # what the values said, for the reason
    enum: EnumEvidence | None = None

    @property
    def reason(self) -> str:
        head = (f"header ~ {self.header.how} {self.header.matched!r} ({self.header.score:.0f})"
                if self.header.score else "header unlike the field")
        return f"{head}; {self.evidence}" if self.evidence else head


@dataclass
class Assignment:
    chosen: list[Candidate] = field(default_factory=list)  # in source column order
    best_other: dict[str, Candidate] = field(default_factory=dict)  # unassigned header -> best pair
    best_column: dict[str, Candidate] = field(default_factory=dict)  # unassigned field -> best free column
    pairs: list[Candidate] = field(default_factory=list)  # every scored pair, best first


def _pct(share: float) -> str:
    """A share as a whole percentage that never rounds a miss away (0.997 -> ">99%")."""
    if 0.99 < share < 1:
        return ">99%"
    if 0 < share < 0.01:
        return "<1%"
    return f"{share:.0%}"


def _is_id(fld: Field) -> bool:
    return fld.type == "string" and (fld.name.endswith(_ID_SUFFIXES) or fld.name in ("line_no", "line_id"))


def _is_name(fld: Field) -> bool:
    return fld.type == "string" and (fld.name.endswith(_NAME_FIELDS) or fld.entity == "org")


def _typed_fit(share: float, what: str, extra: str = "") -> tuple[float, float, str]:
    if share < 0.5:
        return 0.0, 0.0, f"only {_pct(share)} of values are {what}"
    return 0.5 + 0.5 * share, 10 * share, f"{_pct(share)} of values are {what}{extra}"


def value_fit(col: ColumnProfile, fld: Field, register: Register) -> tuple[float, float, str, EnumEvidence | None]:
    """(factor 0-1, bonus, evidence text, enum evidence) of a column's values for a field."""
    if not col.n:
        if fld.required:  # an empty column would quarantine every row
            return 0.0, 0.0, "no values in the sample: an empty column is never a required field", None
        return EMPTY_FACTOR, 0.0, "no values in the sample", None
    t = fld.type
    if col.constant and fld.required and t != "enum":
        return 0.0, 0.0, (f"every value is {col.examples(1)[0]!r}: a constant column is never a required "
                          f"{fld.type} field"), None
    if t == "date":
        d = col.dates
        fmts = f" ({', '.join(d.formats)})" if d.formats else ""
        return (*_typed_fit(d.share, "dates", fmts), None)
    if t == "money":
        return (*_typed_fit(col.money_share, "amounts"), None)
    if t in ("int", "number"):
        return (*_typed_fit(col.number_share, "numbers"), None)
    if t == "bool":
        return (*_typed_fit(col.bool_share, "yes/no"), None)
    if t == "enum":
        ev = enum_evidence(col.cells, fld)
        if ev.share < 0.5 and col.bool_share == 1:
            ev = yes_no_evidence(col.cells, fld, set(normalise(col.header).split())) or ev
        bonus = 30 * ev.share if ev.share >= 0.5 else 0.0
        shown = ", ".join(sorted(ev.covered)[:4])
        text = (f"{_pct(ev.share)} of values are {fld.name} values ({shown})" if ev.share
                else f"no value is one of {', '.join(fld.values[:5])}{'...' if len(fld.values) > 5 else ''}")
        return 0.7 + 0.3 * ev.share, bonus, text, ev
    if t == "hash":
        return 1.0, 0.0, "", None
    # text fields
    if col.honorific_share >= 0.9:
        return 0.2, 0.0, f"{_pct(col.honorific_share)} of values are titles (Mr, Mrs, Dr...)", None
    if col.dates.share >= 0.8:
        return 0.3, 0.0, f"{_pct(col.dates.share)} of values are dates", None
    if col.decimal_money_share >= 0.8:
        return 0.3, 0.0, f"{_pct(col.decimal_money_share)} of values are amounts", None
    factor, notes = 1.0, []
    if _is_id(fld):
        factor *= 0.6 + 0.4 * col.id_share
        notes.append(f"{_pct(col.id_share)} look like IDs")
    elif _is_name(fld):
        factor *= 0.5 + 0.5 * col.letters_share
        notes.append(f"{_pct(col.letters_share)} are words")
    if register.natural_key == (fld.name,):
        factor *= 0.5 + 0.5 * col.unique_share
        notes.append(f"{_pct(col.unique_share)} distinct")
    return factor, 0.0, ", ".join(notes), None


def _only_enum_with(value: str, fld: Field, register: Register) -> bool:
    """No other enum field of the register has this canonical value ("active" is only a status)."""
    return not any(f.type == "enum" and f.name != fld.name and value in f.values for f in register.source_fields)


def _known_id_share(col: ColumnProfile, known_ids: frozenset[str] | set[str] | None) -> float:
    """Share of the column's distinct values that are person ids of the configured workforce."""
    if not known_ids or not col.n:
        return 0.0
    values = {as_text(v) for v in col.cells}
    return len(values & known_ids) / len(values)


def _other_person_header(col: ColumnProfile, register: Register) -> bool:
    """The header names another field that holds a person id (an approver, a decision maker...)."""
    return any(header_match(col.header, f, register).score >= THRESHOLD + 10 for f in register.source_fields
               if f.name != "person_id" and f.type == "string" and (f.entity == "person" or f.name.endswith("_id")))


def score(col: ColumnProfile, fld: Field, register: Register, known_ids: set[str] | None = None) -> Candidate:
    head = header_match(col.header, fld, register)
    factor, bonus, evidence, ev = value_fit(col, fld, register)
    total = head.score * factor + bonus if factor else 0.0
    if ev is not None and ev.share >= 0.95 and len(ev.covered) >= 2:
        total = max(total, 50 + 30 * ev.share)  # the values alone say which enum this is
    elif (ev is not None and col.single_valued and ev.share == 1 and len(ev.covered) == 1
          and _only_enum_with(next(iter(ev.covered)), fld, register)):
        total = max(total, SINGLE_VALUE_SCORE)  # one value, and it is only ever this field's
        evidence += "; a constant column whose one value is only this field's"
    if known_ids and fld.name == "person_id" and register.name != "workforce":
        share = _known_id_share(col, known_ids)
        if share >= KNOWN_ID_SHARE and not _other_person_header(col, register):
            total = max(total, 75 + 15 * share + head.score / 20)
            evidence = (evidence + "; " if evidence else "") + f"{_pct(share)} of its values are workforce person ids"
    return Candidate(col, fld, min(100.0, total), head, evidence, ev)


def assign(columns: list[ColumnProfile], register: Register, known_ids: set[str] | None = None) -> Assignment:
    """One column per field and one field per column, best pairs first, above THRESHOLD."""
    pairs = [score(c, f, register, known_ids) for c in columns for f in register.source_fields]
    pairs.sort(key=lambda p: (-p.score, -p.header.score, p.column.position))
    used_cols: set[int] = set()
    used_fields: set[str] = set()
    out = Assignment(pairs=pairs)
    for p in pairs:
        if p.score < THRESHOLD:
            break
        if p.column.position in used_cols or p.field.name in used_fields:
            continue
        out.chosen.append(p)
        used_cols.add(p.column.position)
        used_fields.add(p.field.name)
    out.chosen.sort(key=lambda p: p.column.position)
    for p in pairs:
        if p.column.position in used_cols or p.score <= 0:
            continue
        out.best_other.setdefault(p.column.header, p)
        if p.field.name not in used_fields:
            out.best_column.setdefault(p.field.name, p)
    return out
