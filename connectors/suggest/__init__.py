"""Propose a `[[sources]]` mapping for a force's own file (`integrity-audit sources suggest`).

    s = suggest(Path("spend.csv"), "procurement")   # read, profile, score, assign
    print(to_toml(s))                                # a block that loads with audit.settings
    result = dry_run(s)                              # the real connector on the whole file

Steps: sniff.plan (kind, encoding, delimiter, header row -> skip_rows, sheet) -> the connector's
own reader -> profile.ColumnProfile per column over SAMPLE_ROWS rows spread through the file -> assign (header
similarity x value evidence, one column per field) -> an "<id> - <line>" column split by `extract`
-> date columns checked against each other (relations: declared on or after offered ...) -> a
"Surname, Forename" column split, the row number as the id where there is none -> date formats
and enum value maps from the evidence. It never writes config.toml.
Imports only the connectors package and audit.registers (the connectors' rule).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from audit import registers
from audit.registers import Register

from .. import LoadResult, SourceConfig, SourceError, pull
from ..mapping import RawTable
from ..parse import as_text, norm_key
from .assign import Assignment, Candidate, assign
from .enums import nearest
from .relations import place_dates
from .profile import COMPOSITE, SURNAME_FIRST, ColumnProfile, swap_day_month
from .render import to_dict, to_toml
from .sniff import FilePlan, SuggestError, plan, read_table, source_config

__all__ = ["suggest", "dry_run", "to_toml", "to_dict", "Suggestion", "DryRun", "SuggestError",
           "SAMPLE_ROWS"]

SAMPLE_ROWS = 2000
ROW_NUMBER = "(row number)"  # how a row_id field shows in mapped_fields
WEAK = 75.0  # a chosen pair scoring below this gets a CHECK line
_COMPOSITE_MIN = 0.98  # share of "<id> - <line>" cells needed to propose the split
_NEAREST_SHARE = 0.5  # share of a column's values read as the enum before its other labels are placed


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
    #: field -> {label no rule reads -> (value proposed by enums.nearest, rows in the sample)}
    guessed: dict[str, dict[str, tuple[str, int]]] = field(default_factory=dict)
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


def _split_name(s: Suggestion, register: Register) -> None:
    """"SMITH, John" in one column where the register has first and last names: split it."""
    if not {"first_name", "last_name"} <= set(register.fields):
        return
    mapped = s.mapped_fields
    if "first_name" in mapped and "last_name" in mapped:
        return
    for c in s.candidates:
        col = c.column
        if c.field.name not in ("first_name", "last_name") or col.header not in s.columns or not col.n:
            continue
        share = sum(n for v, n in col.texts.items() if SURNAME_FIRST.fullmatch(v)) / col.n
        if share < _COMPOSITE_MIN:
            continue
        s.extract[col.header] = r"(?P<last_name>[^,]+?)\s*,\s*(?P<first_name>[^,]+)"
        s.extract_reasons[col.header] = (f"{c.score:.0f}: {c.reason}; {share:.0%} of values are "
                                         "'Surname, Forename': split into last_name and first_name")
        del s.columns[col.header]
        other = next((h for h, f in s.columns.items() if f in ("first_name", "last_name")), None)
        if other is not None:  # the name columns are the split's now
            del s.columns[other]
            s.unmatched.append((other, None))
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
        pairs = [tuple(as_text(r[i]).strip() if i < len(r) else "" for i in positions + [c.column.position])
                 for r in rows]  # as the loader joins a composite: a blank cell is blank, not "None"
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
        if ev.share >= _NEAREST_SHARE:  # the column is this field's: place the labels left over
            for text, rows in list(ev.unmatched.items()):
                hit = nearest(text, c.field.values)
                if hit is None:
                    continue
                ev.value_map[text], ev.how[text] = hit
                del ev.unmatched[text]
                s.guessed.setdefault(c.field.name, {})[text] = (hit[0], rows)
        if ev.value_map:
            s.values[c.field.name] = dict(ev.value_map)
            s.value_reasons[c.field.name] = dict(ev.how)
        if c.field.name in s.guessed:
            shown = ", ".join(f"{v!r} -> {dst} ({_rows(n)})" for v, (dst, n) in s.guessed[c.field.name].items())
            s.check(c.column.header, f"labels the dictionary does not name: {shown} in the sample; without "
                                     f"the proposed map a load quarantines them; confirm or choose another "
                                     f"value in [sources.values.{c.field.name}]")
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


@dataclass
class ReadFile:
    """A file read once (the connector's own reader) and profiled, to propose one or more registers."""

    path: Path
    plan: FilePlan
    table: RawTable
    sample: list[list]
    profiles: list[ColumnProfile]
    ignored: list[str]  # headers a `columns` entry cannot name


def read(path: Path, sheet: str | None = None, sample_rows: int = SAMPLE_ROWS) -> ReadFile:
    """Sniff and read `path`, and profile its columns over `sample_rows` rows spread evenly through the
    file (the first included): an export sorted by date or by id would show one day or one kind of
    record in its first rows, and a column that only looks constant there is refused as a key field."""
    path = Path(path)
    file_plan = plan(path, sheet)
    table = read_table(file_plan, "workforce", default_name(path))  # reading does not depend on the register
    n = len(table.rows)
    sample = table.rows if n <= sample_rows else [table.rows[i * n // sample_rows] for i in range(sample_rows)]
    keep, ignored = _mappable(table.headers)
    profiles = [ColumnProfile(table.headers[i], i, [r[i] if i < len(r) else None for r in sample])
                for i in keep]
    return ReadFile(path, file_plan, table, sample, profiles, ignored)


def suggest(path: Path, register: str, sheet: str | None = None, name: str | None = None,
            sample_rows: int = SAMPLE_ROWS, known_ids: set[str] | None = None) -> Suggestion:
    """Read `path` and propose its mapping onto `register`. Raises SuggestError.

    `known_ids`: person ids of the force's workforce (already configured, or read from the same
    folder): a column holding them is the person id whatever its header says.
    """
    reg = _register(register)
    return propose(read(path, sheet, sample_rows), reg, name=name, known_ids=known_ids)


def _register(name: str) -> Register:
    try:
        return registers.get(name)
    except KeyError as e:
        raise SuggestError(str(e.args[0])) from None


def propose(f: ReadFile, reg: Register, name: str | None = None, known_ids: set[str] | None = None,
            path_text: str | None = None) -> Suggestion:
    """The mapping of a read file onto one register (see the module docstring for the steps)."""
    chosen: Assignment = assign(f.profiles, reg, known_ids)
    placed = place_dates(chosen, reg, f.sample)
    s = Suggestion(plan=f.plan, register=reg, name=name or default_name(f.path),
                   path_text=path_text or f.path.as_posix(), rows=len(f.table.rows), sampled=len(f.sample),
                   candidates=chosen.chosen, columns={c.column.header: c.field.name for c in chosen.chosen},
                   ignored_headers=list(f.ignored))
    assigned = {c.column.position for c in chosen.chosen}
    s.unmatched = [(p.header, chosen.best_other.get(p.header)) for p in f.profiles if p.position not in assigned]
    s.closest = chosen.best_column
    for header, note in placed.items():
        s.check(header, f"placed by its dates: {note}")
    _split_composite(s, reg)
    _split_name(s, reg)
    _row_identity(s, reg, f.table.rows)
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
