"""Reading an unknown file the way a connector would: kind, encoding, delimiter, header row, sheet.

Nothing here guesses beyond what the connectors accept: the encodings tried are the ones a
`[[sources]]` table can name, the header row becomes `skip_rows`, and the rows themselves are read
by connectors.csv_source / connectors.xlsx_source, so the sample is exactly what a load would see.
"""
from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import csv_source, xlsx_source
from ..config import SourceConfig
from ..frame import SourceError
from ..mapping import RawTable
from ..parse import as_text

DELIMITERS = (",", ";", "\t", "|")
_LOOK_AHEAD = 50  # records (or sheet rows) searched for the header row
_MAX_PREAMBLE = 20  # a header further down than this is not looked for


class SuggestError(ValueError):
    """The file cannot be read or the request is wrong; the message says what to do."""


@dataclass
class FilePlan:
    """How to read the file: the keys of a `[[sources]]` table that are about the file itself."""

    path: Path
    kind: str  # csv | xlsx
    encoding: str = "utf-8-sig"
    encoding_note: str = ""
    delimiter: str = ","
    skip_rows: int = 0
    sheet: str | None = None
    sheets: list[tuple[str, int]] = field(default_factory=list)  # (name, non-blank rows)
    notes: list[str] = field(default_factory=list)


def file_kind(path: Path, data: bytes) -> str:
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise SuggestError(f"{path}: old Excel .xls files cannot be read; open it in Excel and save as .xlsx")
    if suffix in (".xlsx", ".xlsm") or data[:4] == b"PK\x03\x04":
        return "xlsx"
    return "csv"


def detect_encoding(data: bytes) -> tuple[str, str]:
    """(encoding for the source table, what was found): UTF-8 (BOM or not), UTF-16, else cp1252."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "UTF-8 with a byte-order mark"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "UTF-16 with a byte-order mark (Excel's 'Unicode text')"
    try:
        data.decode("utf-8")
        return "utf-8-sig", "UTF-8 without a byte-order mark (utf-8-sig reads both)"
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        first_bad = f"byte 0x{data[e.start]:02x} on line {line}"
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        raise SuggestError(f"not UTF-8 ({first_bad}) and not Windows-1252 text either; save the file "
                           "from Excel as 'CSV UTF-8'") from None
    return "cp1252", f"Windows-1252 (cp1252), as Excel on Windows saves: not UTF-8 ({first_bad})"


def _width(record: list[Any]) -> int:
    """Cells up to the last non-blank one."""
    for i in range(len(record), 0, -1):
        if as_text(record[i - 1]):
            return i
    return 0


def _looks_like_label(value: Any) -> bool:
    text = as_text(value)
    return bool(text) and isinstance(value, str) and any(c.isalpha() for c in text)


def header_index(records: list[list[Any]]) -> int:
    """Position of the header row: the first record as wide as the data whose cells are labels.

    Title and note lines above a header ("Divisional returns", "Values in £") fill one or two
    cells of a table that is many columns wide, so they are passed over.
    """
    widths = Counter(w for w in map(_width, records) if w)
    if not widths:
        return 0
    data_width = max(widths.items(), key=lambda kv: (kv[1], kv[0]))[0]
    need = max(2, (data_width + 1) // 2) if data_width > 1 else 1
    for i, record in enumerate(records[:_MAX_PREAMBLE + 1]):
        cells = [c for c in record if as_text(c)]
        labels = sum(1 for c in cells if _looks_like_label(c))
        if len(cells) >= need and labels >= max(1, (len(cells) + 1) // 2):
            return i
    return 0


def _records(text: str, delimiter: str, limit: int = _LOOK_AHEAD) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    out: list[list[str]] = []
    try:
        for rec in reader:
            out.append(rec)
            if len(out) >= limit:
                break
    except csv.Error:
        pass
    return out


def detect_delimiter(text: str) -> str:
    """The delimiter under which most of the first records have the same number of cells (> 1)."""
    best, best_key = ",", (0, 0)
    for delimiter in DELIMITERS:
        widths = Counter(len(r) for r in _records(text, delimiter) if "".join(r).strip())
        if not widths:
            continue
        width, count = max(widths.items(), key=lambda kv: (kv[1], kv[0]))
        key = (count, width) if width > 1 else (0, 0)
        if key > best_key:
            best, best_key = delimiter, key
    return best


def _plan_csv(path: Path, data: bytes) -> FilePlan:
    encoding, note = detect_encoding(data)
    text = data.decode(encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    delimiter = detect_delimiter(text)
    skip = header_index(_records(text, delimiter))
    return FilePlan(path=path, kind="csv", encoding=encoding, encoding_note=note,
                    delimiter=delimiter, skip_rows=skip)


def _sheet_rows(ws) -> int:
    ws.reset_dimensions()
    return sum(1 for row in ws.iter_rows(values_only=True) if any(as_text(v) for v in row))


def _plan_xlsx(path: Path, sheet: str | None) -> FilePlan:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as e:
        raise SuggestError(f"{path}: not a readable xlsx file ({type(e).__name__}); re-save it from "
                           "Excel as .xlsx") from None
    try:
        sheets = [(ws.title, _sheet_rows(ws)) for ws in wb.worksheets]
        if sheet is None:
            chosen = max(sheets, key=lambda s: s[1])[0]  # first of the largest on a tie
        elif sheet in wb.sheetnames:
            chosen = sheet
        else:
            raise SuggestError(f"{path}: has no sheet {sheet!r}; its sheets are: "
                               + ", ".join(f"{name!r} ({rows:,} rows)" for name, rows in sheets))
        ws = wb[chosen]
        ws.reset_dimensions()
        head = [list(r) for r in ws.iter_rows(max_row=_LOOK_AHEAD, values_only=True)]
    finally:
        wb.close()
    return FilePlan(path=path, kind="xlsx", sheet=chosen, sheets=sheets, skip_rows=header_index(head))


def plan(path: Path, sheet: str | None = None) -> FilePlan:
    """Look at the file and decide how to read it. Raises SuggestError with what to fix."""
    if not path.exists():
        raise SuggestError(f"file not found: {path}")
    if not path.is_file():
        raise SuggestError(f"{path} is not a file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SuggestError(f"{path}: cannot be read ({e.strerror or e})") from None
    if not data.strip():
        raise SuggestError(f"{path}: the file is empty; expected a header row and some data")
    kind = file_kind(path, data)
    if kind == "csv" and sheet is not None:
        raise SuggestError("--sheet is for xlsx files; this one is read as CSV")
    return _plan_xlsx(path, sheet) if kind == "xlsx" else _plan_csv(path, data)


def source_config(plan_: FilePlan, register: str, name: str, **mapping: Any) -> SourceConfig:
    """A SourceConfig reading the file as planned (absolute path), plus any mapping keys."""
    return SourceConfig(name=name, register=register, kind=plan_.kind, path=str(plan_.path.resolve()),
                        sheet=plan_.sheet, encoding=plan_.encoding, delimiter=plan_.delimiter,
                        skip_rows=plan_.skip_rows, **mapping)


def read_table(plan_: FilePlan, register: str, name: str) -> RawTable:
    """The whole table, read by the connector itself (so the sample is what a load would see)."""
    cfg = source_config(plan_, register, name)
    reader = xlsx_source.read_file if plan_.kind == "xlsx" else csv_source.read_file
    try:
        table, _info, _warnings = reader(cfg, plan_.path.resolve(), plan_.path.resolve().parent)
    except SourceError as e:
        raise SuggestError(e.detail) from None
    return table
