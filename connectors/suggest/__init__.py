"""Propose a `[[sources]]` mapping for a force's own file (`integrity-audit sources suggest`).

    s = suggest(Path("spend.csv"), "procurement")   # read, profile, score, assign
    print(to_toml(s))                                # a block that loads with audit.settings
    result = dry_run(s)                              # the real connector on the whole file

Steps: sniff.plan (kind, encoding, delimiter, header row -> skip_rows, sheet) -> the connector's
own reader -> profile.ColumnProfile per column over the first SAMPLE_ROWS rows -> assign (header
similarity x value evidence, one column per field) -> an "<id> - <line>" column split by `extract`
-> date formats and enum value maps from the evidence. It never writes config.toml.
Imports only the connectors package and audit.registers (the connectors' rule).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from audit import registers
from audit.registers import Register

from .. import LoadResult, SourceConfig, SourceError, pull
from ..parse import norm_key
from .assign import Assignment, Candidate, assign
from .profile import COMPOSITE, ColumnProfile, swap_day_month
from .render import to_dict, to_toml
from .sniff import FilePlan, SuggestError, plan, read_table, source_config

__all__ = ["suggest", "dry_run", "to_toml", "to_dict", "Suggestion", "DryRun", "SuggestError",
           "SAMPLE_ROWS"]

SAMPLE_ROWS = 2000
ROW_NUMBER = "(row number)"  # how a row_id field shows in mapped_fields
WEAK = 75.0  # a chosen pair scoring below this gets a CHECK line
_COMPOSITE_MIN = 0.98  # share of "<id> - <line>" cells needed to propose the split


@dataclass
class Suggestion:
    """The proposed mapping of one file onto one register, with the reasons and what to check."""

    plan: FilePlan
    register: Register
    name: str
    path_text: str  # the path as the user gave it (written into the block)
    rows: int  # data rows in the file
    sampled: int
    candidates: list[Candidate]  # chosen pairs, in column order
    columns: dict[str, str]  # header -> field
    extract: dict[str, str] = field(default_factory=dict)  # header -> regex with named groups
    extract_reasons: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    value_reasons: dict[str, dict[str, str]] = field(default_factory=dict)
    date_formats: list[str] = field(default_factory=list)
    checks: dict[str, list[str]] = field(default_factory=dict)  # header ("" = whole file) -> notes
    unmatched: list[tuple[str, Candidate | None]] = field(default_factory=list)
    closest: dict[str, Candidate] = field(default_factory=dict)  # unmapped field -> best free column
    ignored_headers: list[str] = field(default_factory=list)  # blank or duplicated: not mappable
    missing_required: list[str] = field(default_factory=list)
    missing_groups: list[tuple[str, ...]] = field(default_factory=list)
    row_id: str | None = None  # the key field filled with the row number (no id column)
    row_id_reason: str = ""
    composite_alternative: dict[str, list[str]] = field(default_factory=dict)  # offered in a comment

    @property
    def mapped_fields(self) -> dict[str, str]:
        """field -> source header, over `columns` and `extract` groups ("(row number)" for row_id)."""
        out = {f: h for h, f in self.columns.items()}
        for header, pattern in self.extract.items():
            out.update({g: header for g in re.compile(pattern).groupindex})
        if self.row_id:
            out[self.row_id] = ROW_NUMBER
        return out

    @property
    def complete(self) -> bool:
        """Every required field (and one of each require_one_of group) is mapped."""
        return not self.missing_required and not self.missing_groups

    def check(self, header: str, note: str) -> None:
        self.checks.setdefault(header, []).append(note)


@dataclass
class DryRun:
    """The proposed mapping loaded through the real connector (error: the load failed)."""

    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


def _rows(n: int) -> str:
    return f"{n:,} row{'' if n == 1 else 's'}"


def default_name(path: Path) -> str:
    return re.sub(r"[^a-z0-9]+", "_", path.stem.casefold()).strip("_")[:60] or "source"


def _mappable(headers: list[str]) -> tuple[list[int], list[str]]:
    """Positions of headers a `columns` entry can name, and the headers that cannot be."""
    seen: dict[str, int] = {}
    for h in headers:
        seen[norm_key(h)] = seen.get(norm_key(h), 0) + 1
    keep = [i for i, h in enumerate(headers) if h.strip() and seen[norm_key(h)] == 1]
    ignored = [h if h.strip() else f"(column {i + 1} has no header)" for i, h in enumerate(headers)
               if i not in keep]
    return keep, ignored


def _split_composite(s: Suggestion, register: Register) -> None:
    """"1040187 - 2" in the transaction column: split it into the register's two key fields."""
    if len(register.natural_key) != 2:
        return
    first, second = register.natural_key
    if second in s.columns.values():
        return
    for c in s.candidates:
        col = c.column
        if c.field.name == first and col.n and col.composite_share >= _COMPOSITE_MIN:
            head = r"\d+" if col.composite_numeric else ".+?"
            sep = r"\s*-\s*" if col.composite_numeric else r"\s+-\s+"
            s.extract[col.header] = f"(?P<{first}>{head}){sep}(?P<{second}>\\d+)"
            s.extract_reasons[col.header] = (f"{c.score:.0f}: {c.reason}; {col.composite_share:.0%} "
                                             f"of values are '<{first}> - <{second}>'")
            del s.columns[col.header]
            if col.composite_share < 1:
                bad = [t for t in col.texts if not COMPOSITE.fullmatch(t)][:3]
                s.check(col.header, f"{1 - col.composite_share:.1%} of values do not split into "
                                    f"{first} and {second} (e.g. {', '.join(map(repr, bad))}); a load "
                                    "quarantines them")
            return


def _row_identity(s: Suggestion, register: Register, rows: list[list]) -> None:
    """No column for the register's (last) required key field: the row number is the identity.

    Offered too, in a comment: a composite of the person and a date column when that pair is unique
    in the whole file (stable when the export is re-sorted, which the row number is not).
    """
    mapped = s.mapped_fields
    nk = register.natural_key
    # only a key that identifies the entry and nothing else: a record id, or the line within a claim
    # (a transaction or claim number is the business's own and is never made up)
    key = [f for i, f in enumerate(nk) if register.fields[f].required and register.fields[f].type == "string"
           and (f == "record_id" or (i == len(nk) - 1 and i > 0 and nk[0] in mapped))]
    free = [f for f in key if f not in mapped]
    if not free:
        return
    fname = free[-1]
    s.row_id = fname
    s.row_id_reason = ("no column holds " + ("the line within the claim" if len(register.natural_key) > 1 and
                                             fname == register.natural_key[-1] else "a record id")
                       + ": the row number in the file is the id (appending rows keeps every id; sorting "
                         "or inserting rows changes them)")
    by_field = {c.field.name: c for c in s.candidates if c.column.header in s.columns}
    person = by_field.get("person_id") or by_field.get("person_name")
    if person is None or len(register.natural_key) > 1:
        return
    positions = [person.column.position]
    for c in s.candidates:
        if c.field.type != "date" or c.column.header not in s.columns:
            continue
        pairs = [tuple(str(r[i]) if i < len(r) else "" for i in positions + [c.column.position]) for r in rows]
        if all(all(p) for p in pairs) and len(set(pairs)) == len(pairs):
            s.composite_alternative = {fname: [person.column.header, c.column.header]}
            return


def _dates(s: Suggestion) -> None:
    formats: list[str] = []
    for c in s.candidates:
        if c.field.type != "date":
            continue
        d = c.column.dates
        formats += [f for f in d.formats if f not in formats]
        if d.ambiguous:
            s.check(c.column.header, f"every day in this column is 12 or less, so it reads as "
                                     f"day/month and as month/day: {d.ambiguous} (UK) assumed; if "
                                     f"the force writes the month first, use {swap_day_month(d.ambiguous)}")
        if d.unread:
            s.check(c.column.header, f"{1 - d.share:.1%} of values are not dates in any known format "
                                     f"(e.g. {', '.join(map(repr, d.unread[:3]))}); a load quarantines them")
    s.date_formats = formats


def _enum_values(s: Suggestion) -> None:
    for c in s.candidates:
        ev = c.enum
        if ev is None:
            continue
        if ev.value_map:
            s.values[c.field.name] = dict(ev.value_map)
            s.value_reasons[c.field.name] = dict(ev.how)
        if ev.unmatched:
            shown = ", ".join(f"{v!r} ({_rows(n)})" for v, n in ev.unmatched.most_common(4))
            s.check(c.column.header, f"not {c.field.name} values: {shown}; map them in "
                                     f"[sources.values.{c.field.name}] or a load quarantines them")


def _typed_misses(s: Suggestion) -> None:
    for c in s.candidates:
        if c.field.type not in ("money", "int", "number"):
            continue
        money = c.field.type == "money"
        share = c.column.money_share if money else c.column.number_share
        if share < 1:
            s.check(c.column.header, f"{1 - share:.1%} of values are not {'amounts' if money else 'numbers'} "
                                     "(a load quarantines them)")


def _weak(s: Suggestion) -> None:
    for c in s.candidates:
        if c.score < WEAK:
            s.check(c.column.header, f"weak match ({c.score:.0f}): confirm this column is "
                                     f"{c.field.name} ({c.field.label})")


def _missing(s: Suggestion, register: Register) -> None:
    mapped = set(s.mapped_fields)
    s.missing_required = [f for f in register.required_fields if f not in mapped]
    s.missing_groups = [g for g in register.require_one_of if not mapped.intersection(g)]


def suggest(path: Path, register: str, sheet: str | None = None, name: str | None = None,
            sample_rows: int = SAMPLE_ROWS) -> Suggestion:
    """Read `path` and propose its mapping onto `register`. Raises SuggestError."""
    try:
        reg = registers.get(register)
    except KeyError as e:
        raise SuggestError(str(e.args[0])) from None
    path = Path(path)
    file_plan = plan(path, sheet)
    name = name or default_name(path)
    table = read_table(file_plan, reg.name, name)
    sample = table.rows[:sample_rows]
    keep, ignored = _mappable(table.headers)
    profiles = [ColumnProfile(table.headers[i], i, [r[i] if i < len(r) else None for r in sample])
                for i in keep]
    chosen: Assignment = assign(profiles, reg)
    s = Suggestion(plan=file_plan, register=reg, name=name, path_text=path.as_posix(),
                   rows=len(table.rows), sampled=len(sample), candidates=chosen.chosen,
                   columns={c.column.header: c.field.name for c in chosen.chosen},
                   ignored_headers=ignored)
    assigned = {c.column.position for c in chosen.chosen}
    s.unmatched = [(p.header, chosen.best_other.get(p.header)) for p in profiles if p.position not in assigned]
    s.closest = chosen.best_column
    _split_composite(s, reg)
    _row_identity(s, reg, table.rows)
    _weak(s)
    _dates(s)
    _enum_values(s)
    _typed_misses(s)
    _missing(s, reg)
    return s


def proposed_config(s: Suggestion) -> SourceConfig:
    """The suggestion as the SourceConfig a load would use (the file's absolute path)."""
    mapping = {"columns": s.columns, "extract": s.extract, "values": s.values, "row_id": s.row_id,
               "duplicate_keys": "quarantine"}
    if s.date_formats:
        mapping["date_formats"] = s.date_formats
    return source_config(s.plan, s.register.name, s.name, required=False, **mapping)


def dry_run(s: Suggestion) -> DryRun:
    """Load the whole file through the real connector with the proposed mapping."""
    try:
        frame = pull(proposed_config(s), s.plan.path.resolve().parent)
    except SourceError as e:
        return DryRun(error=e.detail)
    return DryRun(read=frame.rows_read, accepted=frame.rows_accepted, quarantined=frame.rows_quarantined,
                  top_reasons=LoadResult(frames=[frame]).top_reasons(frame.source),
                  warnings=list(frame.provenance.warnings))
