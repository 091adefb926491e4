"""CSV connector: files -> RawTables of strings (pandas never infers a type here).

Handles the source's `encoding` (utf-8-sig reads UTF-8 with or without a BOM; cp1252 for files
saved by Excel on Windows), `delimiter`, `skip_rows` preamble lines and a glob over several
files (each file keeps its own rows). Row numbers are what a person sees in Excel:
`skip_rows + 1 + n` for the n-th data record. Wholly blank records are not rows (they are counted
in the provenance warnings); a record with more non-blank cells than headers is quarantined.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from .config import SourceConfig
from .files import label, sha256
from .frame import FileInfo, SourceError
from .mapping import RawTable

csv.field_size_limit(64 * 1024 * 1024)  # very long cells are quarantined, not fatal


def _decode(source: SourceConfig, data: bytes, name: str) -> str:
    try:
        return data.decode(source.encoding)
    except LookupError:
        raise SourceError(source.name, f"unknown encoding {source.encoding!r} (try utf-8-sig or cp1252)") from None
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        hint = ('; files saved by Excel on Windows are usually cp1252: set encoding = "cp1252"'
                if source.encoding.lower().replace("_", "-").startswith("utf") else
                '; check the file\'s encoding and set `encoding` to match')
        raise SourceError(source.name, f"{name}: is not valid {source.encoding} text (byte "
                          f"0x{data[e.start]:02x} on line {line}){hint}") from None


def read_file(source: SourceConfig, path: Path, base_dir: Path) -> tuple[RawTable, FileInfo, list[str]]:
    name = label(path, base_dir)
    data = path.read_bytes()
    if not data:
        raise SourceError(source.name, f"{name}: file is empty (0 bytes); expected a header row")
    text = _decode(source, data, name)
    if text.startswith("\ufeff"):  # a BOM under a non-utf-8-sig encoding
        text = text[1:]
    warnings: list[str] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=source.delimiter, strict=False)
    try:
        records = list(reader)
    except csv.Error as e:
        raise SourceError(source.name, f"{name}: not a readable CSV file near record "
                          f"{reader.line_num}: {e}") from None
    if len(records) <= source.skip_rows:
        raise SourceError(source.name, f"{name}: no header row after {source.skip_rows} preamble "
                          "line(s); check `skip_rows`")
    headers = [h.strip() for h in records[source.skip_rows]]
    if not any(headers):
        raise SourceError(source.name, f"{name}: the header row (line {source.skip_rows + 1}) is "
                          "blank; check `skip_rows`")
    rows, numbers, row_errors, blank = [], [], {}, 0
    width = len(headers)
    for n, rec in enumerate(records[source.skip_rows + 1:], start=1):
        if not "".join(rec).strip():  # every cell blank (one join: this loop sees every record)
            blank += 1
            continue
        if len(rec) > width and "".join(rec[width:]).strip():
            row_errors[len(rows)] = (f"row has {len(rec)} cells but the header has {width}; check "
                                     "`delimiter` and quoting")
        rows.append(rec[:width])
        numbers.append(source.skip_rows + 1 + n)
    if blank:
        warnings.append(f"{name}: {blank} blank line(s) skipped")
    table = RawTable(label=name, headers=headers, rows=rows, row_numbers=numbers, row_errors=row_errors,
                     all_text=True)
    return table, FileInfo(path=name, sha256=sha256(data), rows=len(rows)), warnings
