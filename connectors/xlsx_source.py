"""XLSX connector: one sheet of each file -> a RawTable (openpyxl, read-only, cached values).

The header row is sheet row `skip_rows + 1`; data rows keep their sheet row numbers. Formula cells
give the value Excel cached when the file was last saved (a formula never runs here). Cells come
back typed (str, int, float, datetime, bool); the parsers turn them into canonical values, e.g. an
id typed as the number 417 becomes "417", and a number shown with a zero-padded format such as
"000000" keeps its leading zeros ("000417").

Nothing false, nothing lost: the sheet's XML is also scanned on its own (`_scan_sheet`, expat):
- a formula cell saved without a value (a workbook written by a program that cannot calculate,
  such as openpyxl) reads as an UncachedFormula and an Excel error value (#N/A, #REF!, ...) as an
  ExcelError: both are quarantined with the reason in any mapped column, never read as blank
  (a blank expiry date would mean "never expires") nor as their text;
- the rows with values that the scan counts from the header row on must be the rows the reader
  produced, or the source fails with both counts.

The rows are first read by the fast path (xlsx_calamine: the same rows, cell by cell, for a third of
the CPU); a sheet it cannot read exactly is read here by openpyxl, the reference, with a log line
saying why. `read_file(..., fast=False)` reads with openpyxl only.
"""
from __future__ import annotations

import io
import logging
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from . import files, xlsx_calamine
from .config import SourceConfig
from .files import label, sha256
from .frame import FileInfo, SourceError
from .mapping import RawTable
from .parse import ExcelError, UncachedFormula, UnreadableCell

__all__ = ["read_file", "UncachedFormula", "ExcelError", "UnreadableCell"]

log = logging.getLogger("connectors.xlsx")
_ZERO_PAD = xlsx_calamine.ZERO_PAD
_CELL_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


def _value(cell) -> Any:
    value = getattr(cell, "value", None)
    if getattr(cell, "data_type", None) == "e" and value is not None:
        return ExcelError(str(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        fmt = getattr(cell, "number_format", None) or ""
        if _ZERO_PAD.match(fmt) and float(value).is_integer():
            return str(int(value)).zfill(len(fmt))
    return value


def _sheet(source: SourceConfig, wb, name: str):
    sheet = source.sheet
    if sheet is None:
        return wb.worksheets[0]
    if isinstance(sheet, int):
        if not 0 <= sheet < len(wb.worksheets):
            raise SourceError(source.name, f"{name}: has no sheet number {sheet} (0-based); it has "
                              f"{len(wb.worksheets)}: {', '.join(wb.sheetnames)}")
        return wb.worksheets[sheet]
    if sheet not in wb.sheetnames:
        raise SourceError(source.name, f"{name}: has no sheet {sheet!r}; its sheets are: "
                          f"{', '.join(wb.sheetnames)}")
    return wb[sheet]


# ---- the independent scan of the sheet XML ----------------------------------------------------
def _column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


@dataclass
class _SheetScan:
    """What the sheet XML holds from the header row on, read without openpyxl."""

    rows: int = 0  # <row> elements with at least one value (or a formula) from the header row on
    last: int = 0  # the sheet row number of the last of them
    #: (sheet row, column number) -> the formula of a formula cell saved without a value
    uncached: dict[tuple[int, int], str] = field(default_factory=dict)


def _scan_sheet(xml, min_row: int) -> _SheetScan:
    """Count the rows with values and find the formulas saved without one, the way openpyxl reads
    cells (read-only, data_only): a cell has a value when its <v> has text, or it is an inline
    string with an <is>; a formula cell with no <v> (or an empty one, except a text formula whose
    saved value is "") has none. Shared formulas name their first cell's formula. The column of a
    cell comes from its reference and the row from its <row> (or the count), as in openpyxl."""
    out = _SheetScan()
    shared: dict[str, str] = {}
    names = {"row": "row", "c": "c", "v": "v", "f": "f", "is": "is"}
    row = col = 0
    row_has = False
    cell_t = "n"
    v: str | None = None  # the cell's <v> text; None: no <v>
    f: str | None = None  # the cell's formula text; None: no <f>
    f_attrs: dict = {}
    inline = False
    into: str | None = None  # "v" or "f" while inside one
    buf: list[str] = []
    first = True

    def start(name: str, attrs: dict) -> None:
        nonlocal row, col, row_has, cell_t, v, f, f_attrs, inline, into, first
        if first:  # the root element's namespace (transitional or strict OOXML; any prefix)
            first = False
            ns = name[: name.index("}") + 1] if "}" in name else ""
            names.update((k, ns + k) for k in names)
        if name == names["c"]:
            m = _CELL_REF.match(attrs.get("r") or "")
            col = _column_number(m.group(1)) if m else col + 1
            cell_t = attrs.get("t", "n")
            v = f = None
            inline = False
        elif name == names["v"] or name == names["f"]:
            into = "v" if name == names["v"] else "f"
            buf.clear()
            if into == "f":
                f_attrs = attrs
        elif name == names["row"]:
            r = attrs.get("r")
            row = int(r) if r and r.isdigit() else row + 1
            col = 0
            row_has = False
        elif name == names["is"]:
            inline = True

    def data(text: str) -> None:
        if into:
            buf.append(text)

    def end(name: str) -> None:
        nonlocal row_has, v, f, into
        if into and (name == names["v"] or name == names["f"]):
            if into == "v":
                v = "".join(buf)
            else:
                f = "".join(buf)
            into = None
        elif name == names["c"]:
            has_value = inline if cell_t == "inlineStr" else bool(v)
            if f is not None:
                si = f_attrs.get("si") if f_attrs.get("t") == "shared" else None
                if si is not None:  # the first cell of a shared formula holds its text
                    if f:
                        shared[si] = f
                    else:
                        f = shared.get(si, "")
                if not has_value and not (cell_t == "str" and v is not None):
                    if row >= min_row:
                        out.uncached[(row, col)] = "=" + f if f else "(a formula)"
                    has_value = True  # the reader hands the formula on: the row has a value
            if has_value:
                row_has = True
        elif name == names["row"]:
            if row_has and row >= min_row:
                out.rows += 1
                out.last = max(out.last, row)

    parser = expat.ParserCreate(namespace_separator="}")  # names arrive as "<namespace>}<local>"
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    parser.ParseFile(xml)
    return out


# ---- reading ----------------------------------------------------------------------------------
def _not_readable(source: SourceConfig, name: str, e: Exception) -> SourceError:
    return SourceError(source.name, f"{name}: not a readable xlsx file ({type(e).__name__}: "
                       f"{str(e).splitlines()[0] if str(e) else 'damaged'}); re-save it from "
                       "Excel as .xlsx")


_OPEN_ERRORS = (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, EOFError)
_READ_ERRORS = (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, expat.ExpatError)


def _reference_rows(source: SourceConfig, data: bytes, name: str, header_row: int):
    """The sheet's rows by openpyxl (read-only, cached values) with the independent expat scan:
    ([(sheet row, cells)], rows with values the scan counts, the last of them)."""
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except _OPEN_ERRORS as e:
        raise _not_readable(source, name, e) from None
    try:
        ws = _sheet(source, wb, name)
        with zipfile.ZipFile(io.BytesIO(data)) as zf, zf.open(ws._worksheet_path.lstrip("/")) as xml:
            scan = _scan_sheet(xml, header_row)
        uncached_rows = {r for r, _ in scan.uncached}
        ws.reset_dimensions()  # some writers record wrong dimensions; read every row there is
        rows = []
        for sheet_row, cells in enumerate(ws.iter_rows(min_row=header_row), start=header_row):
            values = [_value(c) for c in cells]
            if sheet_row in uncached_rows:
                for col, v in enumerate(values, start=1):
                    formula = scan.uncached.get((sheet_row, col))
                    if formula is not None and v is None:
                        values[col - 1] = UncachedFormula(formula)
            rows.append((sheet_row, values))
    except _READ_ERRORS as e:
        raise SourceError(source.name, f"{name}: not a readable xlsx file ({type(e).__name__} while "
                          "reading the sheet); re-save it from Excel as .xlsx") from None
    finally:
        wb.close()
    return rows, scan.rows, scan.last


def _fast_rows(source: SourceConfig, data: bytes, name: str, header_row: int):
    """The same rows by xlsx_calamine, or None (logged with the reason) where only openpyxl is exact."""
    try:
        reader = xlsx_calamine.load_styles_only(data)
    except _OPEN_ERRORS:
        return None  # the reference path gives the error
    wb = reader.wb
    try:
        ws = _sheet(source, wb, name)
        return xlsx_calamine.read_rows(data, reader, ws, header_row)
    except xlsx_calamine.Fallback as why:
        log.info("%s: read by openpyxl, not python-calamine: %s", name, why)
        return None
    except (SourceError, *_READ_ERRORS):
        return None
    finally:
        wb.close()


def read_file(source: SourceConfig, path: Path, base_dir: Path, fast: bool = True
              ) -> tuple[RawTable, FileInfo, list[str]]:
    """`fast`: try xlsx_calamine first (identical rows); False reads with openpyxl only (the reference)."""
    name = label(path, base_dir)
    data = files.read(source, path, name)
    if not data:
        raise SourceError(source.name, f"{name}: file is empty (0 bytes)")
    # one read of the bytes, hashed and parsed: the file cannot change in between
    header_row = source.skip_rows + 1
    got = _fast_rows(source, data, name, header_row) if fast else None
    sheet_rows, scanned, last = got or _reference_rows(source, data, name, header_row)
    warnings: list[str] = []
    rows, numbers, blank, headers, produced = [], [], 0, None, 0
    for sheet_row, values in sheet_rows:
        if any(v is not None for v in values):
            produced += 1
        if headers is None:
            headers = ["" if v is None else str(v).strip() for v in values]
            continue
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            blank += 1
            continue
        rows.append(values)
        numbers.append(sheet_row)
    if produced != scanned:  # rows the reader never produced (or made up): never load that
        raise SourceError(source.name, f"{name}: the xlsx reader produced {produced:,} row(s) with values from "
                          f"sheet row {header_row} on, but the sheet holds {scanned:,} (last: row "
                          f"{last:,}); re-save the workbook from Excel and try again")
    if headers is None or not any(headers):
        raise SourceError(source.name, f"{name}: no header row at sheet row {source.skip_rows + 1}; "
                          "check `skip_rows` and `sheet`")
    width = len(headers)
    row_errors = {}
    for pos, values in enumerate(rows):
        if len(values) > width and any(v not in (None, "") for v in values[width:]):
            row_errors[pos] = f"row has values beyond the last header column ({width} headers)"
        rows[pos] = values[:width]
    if blank:
        warnings.append(f"{name}: {blank} blank row(s) skipped")
    table = RawTable(label=name, headers=headers, rows=rows, row_numbers=numbers, row_errors=row_errors)
    return table, FileInfo(path=name, sha256=sha256(data), rows=len(rows)), warnings
