"""Header mapping: a source's raw table -> raw cells per register field.

Owns the `columns`, `extract`, `defaults`, `composite` and `row_id` parts of a source's config (the
last two give a row an identity when the file has no id column) and the checks that make a
config usable before any file is read (fields exist, required fields mapped, value maps name
canonical values). Headers are matched case- and whitespace-insensitively.

Duplicate headers: a header that occurs twice is an error only if the config maps it (which of the
two columns would be meant is unknowable); an unmapped duplicate is ignored like any unmapped
column and noted in the provenance warnings.
"""
from __future__ import annotations

import glob
import re
from dataclasses import dataclass, field
from typing import Any

from audit.registers import Register

from .config import SourceConfig
from .frame import SourceError
from .parse import CellError, UnreadableCell, as_text, norm_key, read_open_end_dates


@dataclass
class RawTable:
    """Rows of one file (or one query) exactly as read: cells are str / number / date / None."""

    label: str  # file path relative to the config folder, table name, or "query"
    headers: list[str]
    rows: list[list[Any]]
    row_numbers: list[int]  # the row number a person sees (Excel row / CSV record / SQL ordinal)
    #: position -> reason for rows broken at read time (e.g. more cells than headers)
    row_errors: dict[int, str] = field(default_factory=dict)
    #: every cell is a plain str (CSV): fact ids can join the cells without converting them
    all_text: bool = False


@dataclass
class MappedTable:
    """Raw cells per field, plus where each field came from (for quarantine lines)."""

    cells: dict[str, list[Any]]
    origin: dict[str, str]  # field -> source header (or "(default)")
    errors: list[tuple[int, str, str, Any, str]]  # (position, field, column, value, reason)
    ignored: list[str]
    warnings: list[str]


def check_config(source: SourceConfig, register: Register) -> dict[str, re.Pattern]:
    """Refuse a config that cannot work; returns the compiled extract patterns."""
    problems: list[str] = []
    mappable = {f.name for f in register.source_fields}

    def known(fname: str, where: str) -> bool:
        if fname not in mappable:
            why = "is derived by entity resolution" if fname in register.fields else "is not a field"
            problems.append(f"{where}: {fname!r} {why} of register {register.name!r} "
                            f"(fields: {', '.join(sorted(mappable))})")
            return False
        return True

    mapped: set[str] = set()
    for header, fname in source.columns.items():
        if known(fname, f"columns[{header!r}]"):
            mapped.add(fname)
    patterns: dict[str, re.Pattern] = {}
    for header, pattern in source.extract.items():
        try:
            rx = re.compile(pattern)
        except re.error as e:
            problems.append(f"extract[{header!r}]: bad regular expression: {e}")
            continue
        if not rx.groupindex:
            problems.append(f"extract[{header!r}]: the pattern has no named groups (?P<field>...)")
        for group in rx.groupindex:
            if known(group, f"extract[{header!r}] group"):
                mapped.add(group)
        patterns[header] = rx
    for fname in source.defaults:
        if known(fname, "defaults"):
            mapped.add(fname)
    problems += _identity_problems(source, register, known, mapped)
    for fname, vmap in source.values.items():
        if not known(fname, "values"):
            continue
        fld = register.fields[fname]
        if fld.type != "enum":
            problems.append(f"values[{fname!r}]: field is {fld.type}, value maps are for enum fields")
            continue
        for src, target in vmap.items():
            if target not in fld.values:
                problems.append(f"values[{fname!r}][{src!r}] = {target!r} is not one of "
                                f"{', '.join(fld.values)}")
    problems += _open_end_problems(source, register, mapped)
    for fname in register.required_fields:
        if fname not in mapped:
            problems.append(f"required field {fname!r} is not mapped (add a column for it to "
                            "`columns`, `extract` or `defaults`)")
    for group in register.require_one_of:
        if not mapped.intersection(group):
            problems.append(f"at least one of {', '.join(group)} must be mapped")
    if problems:
        raise SourceError(source.name, "config problems:\n  " + "\n  ".join(problems))
    return patterns


def _identity_problems(source: SourceConfig, register: Register, known, mapped: set[str]) -> list[str]:
    """`row_id` and `composite` name text fields that nothing else fills."""
    problems = []
    targets = ([(source.row_id, "row_id")] if source.row_id else []) + [
        (fname, f"composite[{fname!r}]") for fname in source.composite]
    for fname, where in targets:
        if not known(fname, where):
            continue
        if register.fields[fname].type != "string":
            problems.append(f"{where}: {fname!r} is a {register.fields[fname].type} field; a row number or a "
                            "composite key fills a text (string) field")
        elif fname in mapped or (fname == source.row_id and fname in source.composite):
            problems.append(f"{where}: {fname!r} is also filled by `columns`, `extract` or `defaults`; "
                            "fill it one way")
        mapped.add(fname)
    for fname, headers in source.composite.items():
        if len(headers) < 1:
            problems.append(f"composite[{fname!r}]: name at least one column")
    return problems


def _open_end_problems(source: SourceConfig, register: Register, mapped: set[str]) -> list[str]:
    """`open_end_dates` must be dates, and must have a mapped open-ended field to apply to."""
    if not source.open_end_dates:
        return []
    problems = []
    for text in source.open_end_dates:
        try:
            read_open_end_dates([text], list(source.date_formats))
        except CellError as e:
            problems.append(f"open_end_dates: {e}")
    open_ended = [f.name for f in register.source_fields if f.open_ended]
    if not mapped.intersection(open_ended):
        which = ", ".join(open_ended) if open_ended else "none"
        problems.append(f"open_end_dates: no open-ended date field of register {register.name!r} is "
                        f"mapped, so they would change nothing (its open-ended fields: {which})")
    return problems


def map_table(source: SourceConfig, register: Register, table: RawTable,
              patterns: dict[str, re.Pattern]) -> MappedTable:
    """Select, split and default the columns of one raw table. Raises SourceError."""
    positions: dict[str, list[int]] = {}
    for i, h in enumerate(table.headers):
        positions.setdefault(norm_key(h), []).append(i)
    wanted = list(source.columns) + [h for h in source.extract if h not in source.columns]
    wanted += [h for hs in source.composite.values() for h in hs if h not in wanted]
    warnings: list[str] = []
    dupes = [h for h in wanted if len(positions.get(norm_key(h), [])) > 1]
    if dupes:
        raise SourceError(source.name, f"{table.label}: mapped header(s) {', '.join(map(repr, dupes))} "
                          "occur more than once in the header row; rename the duplicate columns")
    missing = [h for h in wanted if norm_key(h) not in positions]
    req = set(register.required_fields)
    composed = {h: f for f, hs in source.composite.items() for h in hs}
    missing_req = [h for h in missing
                   if source.columns.get(h) in req or composed.get(h) in req
                   or (h in patterns and req.intersection(patterns[h].groupindex))]
    if missing_req:
        fields = sorted({source.columns.get(h) or composed.get(h) or ",".join(patterns[h].groupindex)
                         for h in missing_req})
        raise SourceError(
            source.name,
            f"{table.label}: missing column(s) {', '.join(map(repr, missing_req))} for required "
            f"field(s) {', '.join(fields)}; the header row has: {', '.join(map(repr, table.headers))}")
    for h in missing:
        if h not in missing_req:
            warnings.append(f"{table.label}: mapped column {h!r} not found; its field is left blank")
    used = {positions[norm_key(h)][0] for h in wanted if norm_key(h) in positions}
    ignored = [h for i, h in enumerate(table.headers) if i not in used]
    for key, pos in positions.items():
        if len(pos) > 1 and key:
            warnings.append(f"{table.label}: header {table.headers[pos[0]]!r} occurs {len(pos)} times "
                            "(not mapped, ignored)")

    n = len(table.rows)

    def column(header: str) -> list[Any]:
        i = positions[norm_key(header)][0]
        return [row[i] if i < len(row) else None for row in table.rows]

    cells: dict[str, list[Any]] = {}
    origin: dict[str, str] = {}
    errors: list[tuple[int, str, str, Any, str]] = []
    for header, fname in source.columns.items():
        if norm_key(header) in positions:
            cells[fname], origin[fname] = column(header), header
    for header, rx in patterns.items():
        if norm_key(header) not in positions:
            continue
        parts: dict[str, list[Any]] = {g: [None] * n for g in rx.groupindex}
        for pos, raw in enumerate(column(header)):
            if isinstance(raw, UnreadableCell):  # never split a formula's text into fields
                errors.append((pos, next(iter(rx.groupindex)), header, raw, raw.reason))
                continue
            text = "" if raw is None else str(raw).strip()
            if not text:
                continue
            m = rx.fullmatch(text)
            if m is None:
                first = next(iter(rx.groupindex))
                errors.append((pos, first, header, raw,
                               f"'{text}' does not match the extract pattern {rx.pattern!r}"))
                continue
            for g in rx.groupindex:
                parts[g][pos] = m.group(g)
        for g, vals in parts.items():
            cells[g], origin[g] = vals, header
    for fname, headers in source.composite.items():  # a key made of named columns
        if not all(norm_key(h) in positions for h in headers):
            continue  # a missing column of an optional field: noted above, the field is left blank
        joined: list[str | None] = []
        for pos, raw in enumerate(zip(*(column(h) for h in headers))):
            bad = next((v for v in raw if isinstance(v, UnreadableCell)), None)
            if bad is not None:  # never read a formula or an error cell as its text (parse.UnreadableCell)
                errors.append((pos, fname, headers[raw.index(bad)], bad, bad.reason))
                joined.append(None)
                continue
            p = [as_text(v).strip() for v in raw]
            joined.append(" | ".join(p) if all(p) else None)
        cells[fname] = joined
        origin[fname] = " + ".join(headers)
    if source.row_id:  # the row number in its file (counted from the top: appends keep it)
        prefix = f"{table.label}#" if source.path and glob.has_magic(source.path) else ""  # files' own paths
        cells[source.row_id] = [f"{prefix}{n}" for n in table.row_numbers]
        origin[source.row_id] = "(row number)"
    for fname, const in source.defaults.items():
        if fname in cells:
            cells[fname] = [const if v is None or (isinstance(v, str) and not v.strip()) else v
                            for v in cells[fname]]
        else:
            cells[fname], origin[fname] = [const] * n, "(default)"
    return MappedTable(cells=cells, origin=origin, errors=errors, ignored=ignored, warnings=warnings)

