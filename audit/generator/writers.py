"""Writes each source in its force-specific form (CSV, XLSX, SQLite), plants the dirty cells and
reports them with the row number a person sees when opening the source (docs/generator-truth.md).

Byte-identical output for identical input: fixed workbook properties and timestamps, SQLite
written from scratch in one transaction, CSV with fixed line endings.
"""
from __future__ import annotations

import math
import sqlite3
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

from audit.generator.layouts import Layout
from audit.registers import get

FIXED_TIME = datetime(2000, 1, 1)
SQL_CHUNK = 100_000  # rows converted for SQLite at a time
CHUNK = 200_000  # rows formatted at a time by write_in_chunks
BAD = {"bad date": {"%d/%m/%Y": "31/02/{y}", "%Y-%m-%d": "{y}-02-30", "%d-%b-%Y": "30-Feb-{y}"},
       "bad amount": {"plain": "TBC", "pound": "£1O.00"},
       "unknown enum value": "Unknown - see notes", "missing required value": ""}


def _blank(v) -> bool:
    return v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)) or (v is pd.NA)


def format_frame(df: pd.DataFrame, layout: Layout, for_xlsx: bool = False) -> pd.DataFrame:
    """Canonical values -> the strings (or, for XLSX dates, date objects) the force's file holds.
    Whole columns at a time; `_cell` is the one-value reference (tests/generator/test_writers.py)."""
    reg = get(layout.register)
    out: dict[str, list] = {}
    for header, fld in layout.columns:
        if fld is None:
            out[header] = [layout.constants.get(header, "")] * len(df)
            continue
        if header in layout.composite:
            fmt = layout.composite[header][0]
            names = [n for n in fld.split("+")]
            out[header] = [fmt.format(**dict(zip(names, vals))) for vals in zip(*(df[n] for n in names))]
            continue
        ftype = reg.field(fld).type
        labels = layout.values.get(fld)
        col = df[fld] if fld in df else pd.Series([None] * len(df), index=df.index, dtype=object)
        out[header] = _column(col, ftype, labels, layout, for_xlsx)
    return pd.DataFrame(out, dtype=object)


def _column(col: pd.Series, ftype: str, labels, layout: Layout, for_xlsx: bool = False) -> list:
    """One column as `_cell` writes each value (blanks: '' in text files, None in XLSX)."""
    blank = col.isna().to_numpy()
    none = None if for_xlsx else ""
    if not blank.all() and ftype == "date":
        stamps = pd.to_datetime(col)
        if for_xlsx:
            return [none if b else d for d, b in zip(stamps.dt.date, blank)]
        text = stamps.dt.strftime(layout.date_format).to_numpy(dtype=object)
    elif ftype == "money" and layout.money == "plain" and not for_xlsx:
        v = col.fillna(0).astype("int64").to_numpy()
        text = np.char.mod("%.2f", v / 100).astype(object)
    elif ftype == "money":
        fmt = _pounds if layout.money == "pound" else (lambda v: f"{v / 100:.2f}")
        return [none if b else fmt(int(v)) for v, b in zip(col.to_numpy(dtype=object), blank)]
    elif ftype == "number":
        return [none if b else f"{float(v):g}" for v, b in zip(col.to_numpy(dtype=object), blank)]
    elif ftype == "int":
        return [none if b else str(int(v)) for v, b in zip(col.to_numpy(dtype=object), blank)]
    elif ftype == "enum" and labels:
        return [none if b else labels[v] for v, b in zip(col.to_numpy(dtype=object), blank)]
    else:
        text = col.to_numpy(dtype=object)
        if pd.api.types.infer_dtype(text, skipna=True) in ("string", "empty"):  # str() would change nothing
            return np.where(blank, none, text).tolist()
    return [none if b else str(t) for t, b in zip(text, blank)]


def _pounds(v: int) -> str:
    return f"{'-' if v < 0 else ''}£{abs(v) / 100:,.2f}"


def _cell(v, ftype: str, labels, layout: Layout, for_xlsx: bool):
    if _blank(v):
        return None if for_xlsx else ""
    if ftype == "date":
        d = v.date() if isinstance(v, (pd.Timestamp, datetime)) else v
        return d if for_xlsx else d.strftime(layout.date_format)
    if ftype == "money":
        v = int(v)
        if layout.money == "pound":
            return _pounds(v)
        return f"{v / 100:.2f}"
    if ftype == "number":
        return f"{float(v):g}"
    if ftype == "int":
        return str(int(v))
    if ftype == "enum" and labels:
        return labels[v]
    return str(v)


def plant_dirty(cells: pd.DataFrame, df: pd.DataFrame, layout: Layout, protected: set[int], rng,
                eligible=None) -> list[dict]:
    """Spoil a handful of rows not referenced by truth; return their truth entries."""
    picks = pick_dirty(df, layout, protected, rng, eligible)
    _spoil(cells, picks, 0)
    return [entry for *_, entry in picks]


def pick_dirty(df: pd.DataFrame, layout: Layout, protected: set[int], rng,
               eligible=None) -> list[tuple[int, str, str | None, dict]]:
    """The rows plant_dirty spoils: (0-based row, header, bad cell, truth entry)."""
    if not layout.dirty or df.empty:
        return []
    ok = ~df["_h"].isin(protected)
    if eligible is not None:
        ok &= eligible
    candidates = np.flatnonzero(ok.to_numpy())
    k = 4 if len(df) >= 40 else max(1, len(df) // 10)
    k = min(k, len(candidates))
    picked = sorted(int(i) for i in rng.choice(candidates, size=k, replace=False))
    header_of = {fld: h for h, fld in layout.columns}
    picks = []
    for n, i in enumerate(picked):
        fld, reason = layout.dirty[n % len(layout.dirty)]
        header = header_of[fld]
        if reason == "bad date":
            bad = BAD[reason].get(layout.date_format, "31/02/{y}").format(y=2026)
        elif reason == "bad amount":
            bad = BAD[reason][layout.money]
        else:
            bad = BAD[reason]
        picks.append((i, header, bad if bad != "" else (None if layout.kind != "csv" else ""),
                      {"source": layout.name, "row": row_number(layout, i), "column": header, "reason": reason}))
    return picks


def _spoil(cells: pd.DataFrame, picks, first: int) -> None:
    """Put the picked bad cells into `cells`, which holds rows first, first + 1, ..."""
    for i, header, bad, _ in picks:
        if first <= i < first + len(cells):
            cells.iat[i - first, cells.columns.get_loc(header)] = bad


def row_number(layout: Layout, i: int) -> int:
    """The row number of the i-th (0-based) data record as docs/generator-truth.md defines it."""
    if layout.kind == "csv":
        return layout.skip_rows + 1 + (i + 1)
    if layout.kind == "xlsx":
        return i + 2  # header on sheet row 1
    return i + 1  # SQL: 1-based ordinal of the query result


def planted_rows(layout: Layout, entries: list[dict]) -> list[int]:
    """The 0-based data records of dirty-row truth entries (row_number inverted)."""
    first = row_number(layout, 0)
    return [e["row"] - first for e in entries]


def write(cells: pd.DataFrame, layout: Layout, out: Path) -> Path:
    path = out / layout.file
    if path.exists():
        path.unlink()
    if layout.kind == "csv":
        with open(path, "w", encoding=layout.encoding, newline="") as fh:
            _csv(cells, layout, fh, header=True)
    elif layout.kind == "xlsx":
        _xlsx(cells, layout, path)
    else:
        con = _sql_table(cells, layout, path)
        try:
            _sql_insert(con, cells, layout)
            con.commit()
        finally:
            con.close()
    return path


def write_in_chunks(df: pd.DataFrame, layout: Layout, out: Path, picks, chunk: int = CHUNK) -> Path:
    """format_frame, the picked dirty cells and write, `chunk` rows at a time: the file `write`
    makes of the whole frame, byte for byte, without the whole frame's cells in memory at once
    (a large force's expense lines). CSV and SQL only: a workbook is held whole by xlsxwriter."""
    if layout.kind == "xlsx" or len(df) <= chunk:
        cells = format_frame(df, layout, for_xlsx=layout.kind == "xlsx")
        _spoil(cells, picks, 0)
        return write(cells, layout, out)
    path = out / layout.file
    if path.exists():
        path.unlink()
    parts = range(0, len(df), chunk)

    def cells_of(lo: int) -> pd.DataFrame:
        cells = format_frame(df.iloc[lo:lo + chunk], layout)
        _spoil(cells, picks, lo)
        return cells

    if layout.kind == "csv":
        with open(path, "w", encoding=layout.encoding, newline="") as fh:
            for lo in parts:
                _csv(cells_of(lo), layout, fh, header=lo == 0)
    else:
        con = None
        try:
            for lo in parts:
                cells = cells_of(lo)
                con = con or _sql_table(cells, layout, path)
                _sql_insert(con, cells, layout)
            con.commit()
        finally:
            if con is not None:
                con.close()
    return path


def _csv(cells: pd.DataFrame, layout: Layout, fh, header: bool) -> None:
    if header:
        for line in layout.preamble:
            fh.write(line + layout.newline)
    cells.to_csv(fh, index=False, header=header, lineterminator=layout.newline)


def _xlsx(cells: pd.DataFrame, layout: Layout, path: Path) -> None:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False})
    wb.set_properties({"title": layout.name, "author": "Generated Constabulary", "created": FIXED_TIME})
    ws = wb.add_worksheet(layout.sheet or "Sheet1")
    bold, datef = wb.add_format({"bold": True}), wb.add_format({"num_format": "dd/mm/yyyy"})
    for j, h in enumerate(cells.columns):
        ws.write_string(0, j, h, bold)
        ws.set_column(j, j, max(12, len(h) + 2))
    for i, row in enumerate(cells.itertuples(index=False), start=1):
        for j, v in enumerate(row):
            if v is None or v == "":
                continue
            if isinstance(v, date):
                ws.write_datetime(i, j, datetime(v.year, v.month, v.day), datef)
            else:
                ws.write_string(i, j, str(v))
    wb.close()


def _sql_table(cells: pd.DataFrame, layout: Layout, path: Path) -> sqlite3.Connection:
    types = {"amount": "TEXT", "miles": "REAL"}
    con = sqlite3.connect(str(path))
    con.execute(f"CREATE TABLE {layout.table} (" + ", ".join(f"{c} {types.get(c, 'TEXT')}" for c in cells.columns) + ")")
    return con


def _sql_insert(con: sqlite3.Connection, cells: pd.DataFrame, layout: Layout) -> None:
    """Insert the rows in order (the caller commits: one transaction for the whole table)."""
    cols = list(cells.columns)
    sql = f"INSERT INTO {layout.table} VALUES ({', '.join('?' * len(cols))})"
    for lo in range(0, len(cells), SQL_CHUNK):  # a chunk of Python tuples in memory at a time
        columns = []
        for c in cols:
            a = cells[c].to_numpy(dtype=object)[lo:lo + SQL_CHUNK]
            a = np.where(a == "", None, a)
            if c == "miles":
                a = np.array([None if v is None else float(v) for v in a], dtype=object)
            columns.append(a.tolist())
        con.executemany(sql, zip(*columns))
