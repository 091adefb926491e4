"""Raw tables -> one RegisterFrame: map, parse, validate, quarantine, add META columns.

Owns the row accounting: every row read ends up either in `df` or (with one line per problem) in
`quarantine`, and `rows_read == accepted + quarantined` is asserted before a frame is returned.
fact_id = "<source>:<row>:<sha256(file + raw cells)[:12]>": stable across runs, unique within a
source (the file is hashed too, so the same row number in two globbed files differs).
The register's natural key must be unique within a source: a row repeating the (complete) key of
an earlier row is noted, quarantined with the reason, or the source refused (`duplicate_keys`).
"No end date" sentinels in open-ended date fields (31/12/9999 ...) are left blank, counted per
file (FileInfo.open_ended) and noted in the provenance warnings, never quarantined.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from audit.registers import Register

from .config import SourceConfig
from .frame import (FileInfo, Provenance, RegisterFrame, QUARANTINE_COLUMNS, SourceError, empty_quarantine,
                    open_ended_note)
from .mapping import RawTable, check_config, map_table
from .parse import CellContext, as_text, hash_key, read_open_end_dates
from .validate import empty_frame, field_names, problems, to_series
from .vector import parse_column

_SEP = "\x1f"
_SHOW = 200  # characters of a cell shown in a quarantine line


def _shown(raw) -> str:
    text = as_text(raw)
    return text if len(text) <= _SHOW else f"{text[:_SHOW]}... ({len(text):,} characters)"


def _fact_hash(label: str, row: list) -> str:
    joined = _SEP.join([label] + [c if type(c) is str else as_text(c) for c in row])
    return hashlib.sha256(joined.encode("utf-8", errors="surrogatepass")).hexdigest()[:12]


def _fact_ids(name: str, table: RawTable, keep: list[int], rows: list[int]) -> list[str]:
    if not table.all_text:
        return [f"{name}:{r}:{_fact_hash(table.label, table.rows[p])}" for p, r in zip(keep, rows)]
    # the same hash as _fact_hash, without converting cells that are already text
    sha, label, cells = hashlib.sha256, table.label, table.rows
    return [f"{name}:{r}:{sha(_SEP.join((label, *cells[p])).encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"
            for p, r in zip(keep, rows)]


def _frame_of_table(source: SourceConfig, register: Register, table: RawTable, info: FileInfo, patterns,
                    ctx: CellContext, prov: Provenance) -> tuple[pd.DataFrame, list[dict]]:
    mapped = map_table(source, register, table, patterns)
    prov.ignored_columns += [f"{table.label}: {h}" for h in mapped.ignored if h.strip()]
    prov.warnings += mapped.warnings
    n = len(table.rows)
    lines: list[dict] = []

    def quarantine(pos: int, column: str, value, reason: str) -> None:
        lines.append({"source": source.name, "file": table.label, "row": table.row_numbers[pos],
                      "column": column, "value": _shown(value), "reason": reason})

    for pos, reason in table.row_errors.items():
        quarantine(pos, "(row)", "", reason)
    flagged: set[tuple[int, str]] = set()
    for pos, fname, header, raw, reason in mapped.errors:
        quarantine(pos, header, raw, reason)
        flagged.add((pos, fname))

    columns: dict[str, pd.Series] = {}
    redacted_cells: dict[str, set[int]] = {}
    open_cells: dict[str, set[int]] = {}
    for fld in register.source_fields:
        raw = mapped.cells.get(fld.name)
        if raw is None:
            columns[fld.name] = to_series([None] * n, fld.type)
            continue
        parsed = parse_column(raw, fld.type, fld.name, fld.values, ctx, open_ended=fld.open_ended)
        redacted_cells[fld.name] = parsed.redacted
        if parsed.open_ended:
            open_cells[fld.name] = parsed.open_ended
        for pos, reason in parsed.errors.items():
            if (pos, fld.name) not in flagged:
                quarantine(pos, mapped.origin[fld.name], raw[pos], reason)
                flagged.add((pos, fld.name))
        columns[fld.name] = parsed.values
    df = pd.DataFrame(columns, index=pd.RangeIndex(n))

    for pos, fname, reason in problems(df, register.name):
        if (pos, fname) in flagged:
            continue  # already quarantined for this cell (a parse error leaves it blank)
        flagged.add((pos, fname))
        raw = mapped.cells.get(fname)
        value = raw[pos] if raw is not None else ""
        if reason == "required field is blank" and pos in redacted_cells.get(fname, ()):
            reason = "redacted in a required field"
        quarantine(pos, mapped.origin.get(fname, fname), value, reason)

    bad = {pos for pos, _ in flagged} | set(table.row_errors)
    keep = [p for p in range(n) if p not in bad]
    for fname, positions in open_cells.items():
        if kept := len(positions - bad):
            info.open_ended[fname] = info.open_ended.get(fname, 0) + kept
    out = df.iloc[keep].reset_index(drop=True)
    rows = [table.row_numbers[p] for p in keep]
    out["fact_id"] = pd.Series(_fact_ids(source.name, table, keep, rows), dtype=object)
    out["_source"] = pd.Series([source.name] * len(keep), dtype=object)
    out["_file"] = pd.Series([table.label] * len(keep), dtype=object)
    out["_row"] = pd.Series(rows, dtype="Int64")
    return out, lines


class _Seen:
    """The natural keys of the chunks a streamed source has already read, as 64-bit hashes (sorted)
    with the file and row each first appeared on: a repeat in a later chunk is found without
    keeping the keys themselves (a collision of two different keys is about 1 in 10^6 at 6 million
    rows, and would only call a row a repeat)."""

    def __init__(self) -> None:
        self.hashes = np.empty(0, dtype="uint64")
        self.files: list[str] = []
        self.file_of = np.empty(0, dtype="int32")
        self.rows = np.empty(0, dtype="int64")

    def find(self, hashes: np.ndarray) -> np.ndarray:
        """Index into the seen keys of each hash, -1 where it was not seen."""
        if not len(self.hashes):
            return np.full(len(hashes), -1)
        order = np.argsort(hashes)  # sorted queries walk the seen keys in order (a third of the time)
        at = np.empty(len(hashes), dtype="int64")
        at[order] = np.searchsorted(self.hashes, hashes[order])
        at = at.clip(0, len(self.hashes) - 1)
        return np.where(self.hashes[at] == hashes, at, -1)

    def first(self, i: int) -> tuple[str, int]:
        return self.files[self.file_of[i]], int(self.rows[i])

    def add(self, hashes: np.ndarray, files: pd.Series, rows: pd.Series) -> None:
        """Merge a table's new keys in (one pass over the seen ones, no sort of them)."""
        self.files += [name for name in dict.fromkeys(files) if name not in self.files]
        index = {name: i for i, name in enumerate(self.files)}
        order = np.argsort(hashes, kind="stable")
        at = np.searchsorted(self.hashes, hashes[order])
        self.hashes = np.insert(self.hashes, at, hashes[order])
        self.file_of = np.insert(self.file_of, at, files.map(index).to_numpy(dtype="int32")[order])
        self.rows = np.insert(self.rows, at, rows.to_numpy(dtype="int64")[order])


def _key_hashes(df: pd.DataFrame, key: list[str]) -> np.ndarray:
    return pd.util.hash_pandas_object(df[key].astype("string"), index=False).to_numpy(dtype="uint64")


def _unique_keys(source: SourceConfig, register: Register, df: pd.DataFrame,
                 seen: _Seen | None = None) -> tuple[pd.DataFrame, list[dict], list[str]]:
    """(rows kept, quarantine lines, load notes). Rows repeating the natural key of an earlier row
    are noted (duplicate_keys = "warn", the default), quarantined (the first is kept) or the source
    fails ("refuse"). Keys with a blank part are not compared (a register whose line field the
    source does not fill: its split lines share the transaction). `seen`: the keys of the chunks
    read before `df` (a streamed source), updated with df's."""
    key = list(register.natural_key)
    if not key or df.empty:
        return df, [], []
    complete = df[key].notna().all(axis=1)
    repeated = df.duplicated(subset=key, keep="first") & complete
    earlier: dict[int, tuple[str, int]] = {}  # position -> (file, row) of its key's first row in an earlier table
    if seen is not None:
        hashes = _key_hashes(df[complete], key)
        at = np.full(len(df), -1)
        at[complete.to_numpy()] = seen.find(hashes)
        earlier = {pos: seen.first(i) for pos, i in enumerate(at) if i >= 0}
        repeated |= at >= 0
        new = ~repeated[complete].to_numpy()
        seen.add(hashes[new], df.loc[complete, "_file"][new], df.loc[complete, "_row"][new])
    if not repeated.any():
        return df, [], []
    first = df[complete & ~repeated].drop_duplicates(subset=key).set_index(key)[["_file", "_row"]]
    what = " + ".join(key)
    lines = []
    for pos in repeated[repeated].index:
        row = df.loc[pos]
        value = tuple(row[k] for k in key)
        if pos in earlier:
            f_file, f_row = earlier[pos]
        else:
            f_file, f_row = first.loc[value if len(key) > 1 else value[0]]
        where = f"row {f_row}" + ("" if f_file == row["_file"] else f" of {f_file}")
        lines.append({"source": source.name, "file": row["_file"], "row": int(row["_row"]), "column": what,
                      "value": " | ".join(map(str, value)),
                      "reason": f"{what} repeats {where}: the register's key must be unique (the first row "
                                "is kept; give the rows distinct ids, or set row_id / composite)"})
    said = (f"{len(lines):,} row(s) repeat the natural key ({what}) of an earlier row ("
            + "; ".join(f"{x['file']} row {x['row']}: {x['reason'].split(':')[0]}" for x in lines[:3]) + ")")
    if source.duplicate_keys == "warn":
        return df, [], [f"{said}; they are loaded: set duplicate_keys = \"quarantine\" (or \"refuse\") to keep "
                        "them out"]
    if source.duplicate_keys == "refuse":
        raise SourceError(source.name, f"{said}; every entry needs its own key. Fix the export, set row_id / "
                          "composite, or set duplicate_keys = \"quarantine\" to load the first of each")
    return df[~repeated].reset_index(drop=True), lines, []


def _setup(source: SourceConfig, register: Register, files: list[FileInfo], location: str,
           extra_warnings) -> tuple[dict, CellContext, Provenance]:
    patterns = check_config(source, register)
    key, key_warning = hash_key()
    ctx = CellContext(date_formats=list(source.date_formats), values=source.values,
                      redacted=list(source.redacted), hash_key=key,
                      open_end_dates=read_open_end_dates(source.open_end_dates, list(source.date_formats)))
    prov = Provenance(source=source.name, register=register.name, kind=source.kind,
                      location=location, files=files, loaded_at=datetime.now(timezone.utc),
                      warnings=list(extra_warnings))
    if key_warning and any(f.type == "hash" and (f.name in source.columns.values() or f.name in source.defaults)
                           for f in register.source_fields):
        prov.warnings.append(key_warning)
    return patterns, ctx, prov


def assemble(source: SourceConfig, register: Register, tables: list[RawTable],
             files: list[FileInfo], location: str, extra_warnings: list[str] = ()) -> RegisterFrame:
    """Build the RegisterFrame of one source from the tables its connector read."""
    patterns, ctx, prov = _setup(source, register, files, location, extra_warnings)
    frames, lines = [], []
    for table, info in zip(tables, files, strict=True):
        df, q = _frame_of_table(source, register, table, info, patterns, ctx, prov)
        frames.append(df)
        lines += q
    df = pd.concat(frames, ignore_index=True)[_columns(register)] if frames else empty_frame(register.name)
    df, repeats, notes = _unique_keys(source, register, df)
    prov.warnings += notes
    return _frame(source, register, df, lines + repeats, prov, sum(len(t.rows) for t in tables), 0)


def assemble_stream(source: SourceConfig, register: Register, tables: Iterable[tuple[RawTable, FileInfo]],
                    files: list[FileInfo], location: str, extra_warnings: list[str],
                    keep: Callable[[pd.DataFrame], np.ndarray],
                    progress: Callable[[int, int], None] | None = None) -> RegisterFrame:
    """Build the RegisterFrame of one source from its tables read one at a time (`files` fills as
    they are read), keeping in `df` only the accepted rows `keep` (a boolean mask) selects; the
    others count in rows_pruned. Each table is mapped, parsed, validated and checked for repeated
    keys (against every earlier table too) exactly as `assemble` does, and then let go.
    `progress(rows_read, rows_kept)` after each table."""
    patterns, ctx, prov = _setup(source, register, files, location, extra_warnings)
    seen, kept, lines, notes = _Seen(), [], [], []
    rows_read = pruned = 0
    for table, info in tables:
        df, q = _frame_of_table(source, register, table, info, patterns, ctx, prov)
        df, repeats, said = _unique_keys(source, register, df[_columns(register)], seen)
        lines += q + repeats
        notes += said
        mask = np.asarray(keep(df), dtype=bool)
        kept.append(df[mask])
        rows_read += len(table.rows)
        pruned += int((~mask).sum())
        if progress:
            progress(rows_read, sum(len(k) for k in kept))
    prov.warnings += notes  # (one per table that repeats a key)
    df = pd.concat(kept, ignore_index=True) if kept else empty_frame(register.name)
    return _frame(source, register, df, lines, prov, rows_read, pruned)


def _columns(register: Register) -> list[str]:
    return field_names(register) + ["fact_id", "_source", "_file", "_row"]


def _frame(source: SourceConfig, register: Register, df: pd.DataFrame, lines: list[dict], prov: Provenance,
           rows_read: int, pruned: int) -> RegisterFrame:
    quarantine = (pd.DataFrame(lines, columns=list(QUARANTINE_COLUMNS), dtype=object)
                  if lines else empty_quarantine())
    frame = RegisterFrame(register=register.name, source=source.name, df=df,
                          quarantine=quarantine, provenance=prov, rows_read=rows_read, rows_pruned=pruned)
    prov.warnings += [open_ended_note(name, n) for name, n in frame.open_ended.items()]
    assert frame.reconciles(), (
        f"{source.name}: rows read {rows_read} != accepted {frame.rows_accepted} + "
        f"quarantined {frame.rows_quarantined}")
    assert df["fact_id"].is_unique, f"{source.name}: duplicate fact_id"
    return frame
