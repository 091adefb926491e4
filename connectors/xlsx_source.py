"""XLSX connector: one sheet of each file -> a RawTable (openpyxl, read-only, cached values).

The header row is sheet row `skip_rows + 1`; data rows keep their sheet row numbers. Formula cells
give the value Excel cached when the file was last saved (a formula never runs here). Cells come
back typed (str, int, float, datetime, bool); the parsers turn them into canonical values, e.g. an
id typed as the number 417 becomes "417", and a number shown with a zero-padded format such as
"000000" keeps its leading zeros ("000417").
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from .config import SourceConfig
from .files import label, sha256
from .frame import FileInfo, SourceError
from .mapping import RawTable

_ZERO_PAD = re.compile(r"^0+$")


def _value(cell) -> Any:
    value = getattr(cell, "value", None)
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


def read_file(source: SourceConfig, path: Path, base_dir: Path) -> tuple[RawTable, FileInfo, list[str]]:
    name = label(path, base_dir)
    data = path.read_bytes()
    if not data:
        raise SourceError(source.name, f"{name}: file is empty (0 bytes)")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, EOFError) as e:
        raise SourceError(source.name, f"{name}: not a readable xlsx file ({type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else 'damaged'}); re-save it from "
                          "Excel as .xlsx") from None
    warnings: list[str] = []
    try:
        ws = _sheet(source, wb, name)
        ws.reset_dimensions()  # some writers record wrong dimensions; read every row there is
        header_row = source.skip_rows + 1
        rows, numbers, blank, headers = [], [], 0, None
        for sheet_row, cells in enumerate(ws.iter_rows(min_row=header_row), start=header_row):
            values = [_value(c) for c in cells]
            if headers is None:
                headers = ["" if v is None else str(v).strip() for v in values]
                continue
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                blank += 1
                continue
            rows.append(values)
            numbers.append(sheet_row)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as e:
        raise SourceError(source.name, f"{name}: not a readable xlsx file ({type(e).__name__} while "
                          "reading the sheet); re-save it from Excel as .xlsx") from None
    finally:
        wb.close()
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
