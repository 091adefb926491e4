"""The xlsx reader's fast path: one sheet's rows exactly as the openpyxl path gives them, for a third of the CPU.

openpyxl (read-only) builds a Python object per cell from an ElementTree parse; that and the
independent expat scan of the sheet (`xlsx_source._scan_sheet`) took 1.4 s CPU of the scale-5
vetting workbook (11,252 rows), this path 0.35-0.45 s. Here:

* the workbook's parts other than the cells (sheet list, sheet path, date system, styles and their
  date / number formats) still come from openpyxl's own reader, minus the shared strings;
* one regular expression walks the sheet XML (256 KB of rows at a time): the rows and, per cell,
  its column, style, type and saved value. Numbers, dates, booleans and errors are converted from
  that text by openpyxl's own functions (`_cast_number`, `from_excel`, the zero-padded format rule
  of `xlsx_source._value`), so an int stays an int, 417.0 a float, a date a midnight datetime, in
  the 1904 system too;
* the text of string cells (shared or inline) comes from python-calamine, which reads the sheet in
  Rust; it is taken only where the XML has a string cell, so calamine's "" for an empty cell, its
  floats for whole numbers, its dates and its "" for error cells never reach a row;
* a row is as long as openpyxl makes it (up to its last <c> element, styled empty cells included),
  and missing rows are empty rows, as openpyxl yields them; the rows with values are counted from
  the XML as `_scan_sheet` counts them.

Whatever this path cannot read exactly is found before its rows are used and sent to the openpyxl
path (`Fallback`, with the reason, logged by the caller): formulas (cached or not), ISO-date and
text-formula cell types, `_xHHHH_` escapes, phonetic runs, carriage returns, text with leading or
trailing white space (or a character reference there) not marked xml:space="preserve" (calamine
trims it), character references in values, comments, CDATA and DOCTYPEs, an encoding other than
UTF-8, XML that is not well-formed, attribute layouts, pretty-printing or namespace prefixes the
expression does not know, rows or cells out of order, a style or shared-string number the workbook
does not have, a sheet so sparse that calamine's dense grid would be huge, any error from calamine.
Last, the cells with a value calamine holds and those the expression found must agree in number
(the fast path's own reconciliation), or it falls back too.
"""
from __future__ import annotations

import io
import itertools
import operator
import re
import zipfile
from datetime import datetime
from typing import Any
from xml.parsers import expat

from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet._reader import _cast_number

from .parse import ExcelError

try:
    import python_calamine
except ImportError:  # pragma: no cover - the reader then always takes the openpyxl path
    python_calamine = None

ZERO_PAD = re.compile(r"^0+$")
CHUNK = 1 << 18  # bytes of sheet XML matched at a time

#: a row start or a cell, with its saved value (<v>) or inline string (<is>) right after it
_TOKEN = re.compile(  # (an attribute value with "/" or ">" in it leaves the cell unmatched: counted, falls back)
    rb'<(?:row r="(\d+)"[^>]*>'
    rb'|c r="([A-Z]{1,3})\d+"([^>/]*)/?>(?:(<v>)([^<]*)</v>|(<is>|<is/>))?)')
_HAS_V, _HAS_IS = operator.itemgetter(3), operator.itemgetter(5)
_ATTR = re.compile(rb'([A-Za-z:]+)="([^"]*)"')
_ATTRS = re.compile(rb'(?:\s+[A-Za-z:]+="[^"]*")*\s*')  # a cell's attributes after r, all of them
#: what this path does not read exactly (see the module doc)
_UNSUPPORTED = [re.compile(p) for p in (  # each starts with a literal: a fast scan of the bytes
    rb"<f[ >/]", rb"_x[0-9A-Fa-f]{4}_", rb"<rPh[ >]", rb"\r", rb"<!",  # <!-- <![CDATA[ <!DOCTYPE <!ENTITY
    rb"<t>(?:[ \t\n]|&)[^<]*</t>|<t>[^<]*(?:[ \t\n]|;)</t>",  # calamine trims unless xml:space="preserve"
    rb'<t (?!xml:space="preserve">)', rb"<\?xml[^>]*encoding=[\"'](?![Uu][Tt][Ff]-8[\"'])")]
_DEFAULT_NS = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


class Fallback(Exception):
    """The sheet has something only the openpyxl path reads exactly; the message says what."""


class StylesOnlyReader(ExcelReader):
    """openpyxl's workbook reader without the shared-string table (calamine reads the strings)."""

    strings_path: str | None = None

    def read_strings(self):
        from openpyxl.reader.excel import SHARED_STRINGS

        ct = self.package.find(SHARED_STRINGS)
        self.strings_path = ct.PartName[1:] if ct is not None else None
        self.shared_strings = []


def load_styles_only(data: bytes) -> StylesOnlyReader:
    reader = StylesOnlyReader(io.BytesIO(data), read_only=True, data_only=True)
    reader.read()
    return reader


class _Styles:
    """Per style number (the <c s=".."> attribute): is it a date, a duration, a zero-padded number format."""

    def __init__(self, wb):
        self.wb = wb
        self.known: dict[int, tuple[bool, bool, int]] = {}

    def __call__(self, style: int) -> tuple[bool, bool, int]:
        got = self.known.get(style)
        if got is None:
            wb = self.wb
            if not 0 <= style < len(wb._cell_styles):
                raise Fallback(f"style number {style} is not in the workbook's styles")
            fmt_id = wb._cell_styles[style].numFmtId  # as openpyxl's ReadOnlyCell.number_format
            fmt = (BUILTIN_FORMATS.get(fmt_id, "General") if fmt_id < BUILTIN_FORMATS_MAX_SIZE
                   else wb._number_formats[fmt_id - BUILTIN_FORMATS_MAX_SIZE]) or ""
            got = (style in wb._date_formats, style in wb._timedelta_formats,
                   len(fmt) if ZERO_PAD.match(fmt) else 0)
            self.known[style] = got
        return got


def _kind(attrs: bytes) -> tuple[bytes, int]:
    """A cell's type and style number from its attributes after r."""
    if not _ATTRS.fullmatch(attrs):
        raise Fallback(f"cell attributes {attrs[:40]!r}")
    t, s = b"n", 0
    for key, value in _ATTR.findall(attrs):
        if key == b"t":
            t = value
        elif key == b"s":
            if not value.strip().isdigit():  # openpyxl keeps s="" as a text style id
                raise Fallback(f"style number {value[:20]!r}")
            s = int(value)
    return t, s


def _tokens(xml: bytes, seen: list[int]):
    """_TOKEN's matches, found 256 KB of rows at a time (the tuples of a whole large sheet would
    take hundreds of MB); `seen` adds up the tokens, values and inline strings found."""
    start = 0
    while start < len(xml):
        end = xml.find(b"</row>", start + CHUNK)
        end = len(xml) if end < 0 else end + len(b"</row>")
        tokens = _TOKEN.findall(xml, start, end)
        seen[0] += len(tokens)
        seen[1] += len(tokens) - list(map(_HAS_V, tokens)).count(b"")
        seen[2] += len(tokens) - list(map(_HAS_IS, tokens)).count(b"")
        yield from tokens
        start = end


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _number(v: bytes, style: int, styles: _Styles, epoch: datetime) -> Any:
    """A number cell as openpyxl's parser and then xlsx_source._value make it."""
    value = _cast_number(v.decode("ascii"))
    is_date, is_td, pad = styles(style)
    if is_date:
        try:
            return from_excel(value, epoch, timedelta=is_td)
        except (OverflowError, ValueError):  # openpyxl makes such a cell the error #VALUE!
            return ExcelError("#VALUE!")
    if pad and float(value).is_integer():
        return str(int(value)).zfill(pad)
    return value


def read_rows(data: bytes, reader: StylesOnlyReader, ws, header_row: int) -> tuple[list[tuple[int, list]], int, int]:
    """(sheet row, cells) from `header_row` to the sheet's last <row>, as openpyxl's read-only
    iter_rows and xlsx_source._value give them, with the number of those rows that hold a value and
    the last of them (what `_scan_sheet` counts). Raises Fallback when the path cannot be exact."""
    if python_calamine is None:
        raise Fallback("python-calamine is not installed")
    wb = reader.wb
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        xml = zf.read(ws._worksheet_path.lstrip("/"))
        strings = zf.read(reader.strings_path) if reader.strings_path else b""
    for (part, name), rx in itertools.product(((xml, "the sheet"), (strings, "the shared strings")), _UNSUPPORTED):
        m = rx.search(part)
        if m:
            raise Fallback(f"{name} hold{'s' if name == 'the sheet' else ''} {m.group(0)[:20]!r}")
    head = xml[:400]
    if _DEFAULT_NS not in head:
        raise Fallback("the sheet XML is not in the default namespace")
    try:  # well-formed XML, as openpyxl's parser requires (expat with no handlers: C speed)
        expat.ParserCreate().Parse(xml, True)
    except expat.ExpatError as e:
        raise Fallback(f"the sheet XML is not well-formed ({e})") from None
    n_tokens = xml.count(b"<row ") + xml.count(b"<row>") + xml.count(b"<c ") + xml.count(b"<c>")
    n_strings = strings.count(b"<si>") + strings.count(b"<si ") + strings.count(b"<si/>")
    try:
        cal = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = cal.get_sheet_by_name(ws.title)
        end = sheet.end or (0, 0)
        dense = (end[0] + 1) * (end[1] + 1)  # calamine's grid is dense from A1: a stray far cell makes it huge
        if dense > 1_000_000 and dense > 4 * n_tokens:
            raise Fallback(f"the sheet is sparse (calamine's grid would be {dense:,} cells for {n_tokens:,})")
        grid = sheet.to_python(skip_empty_area=False)
    except Fallback:
        raise
    except Exception as e:  # calamine refuses what openpyxl may read: the reference decides
        raise Fallback(f"python-calamine: {type(e).__name__}: {e}") from None

    styles = _Styles(wb)
    epoch = wb.epoch
    kinds: dict[bytes, tuple[bytes, int]] = {}
    columns: dict[bytes, int] = {}
    numbers: dict[tuple[bytes, int], Any] = {}  # (saved text, style) -> value: dates and ids repeat
    out: dict[int, list] = {}
    errors = 0  # error cells: calamine gives them as ""
    row, last_col = 0, 1 << 30  # a cell before the first <row r=..> the expression knows: out of order
    values: list = []
    texts: list = []  # calamine's row
    append = values.append
    seen = [0, 0, 0]  # tokens, <v>, <is> the expression found
    # one str object per distinct text, as openpyxl's shared-string table gives them (calamine makes
    # one per cell): less memory, and the parsers work faster on repeated objects
    texts_seen = {}.setdefault
    for rnum, letters, attrs, _has_v, v, has_is in _tokens(xml, seen):
        if rnum:
            r = int(rnum)
            if r <= row:
                raise Fallback(f"row {r} comes after row {row}")
            row, last_col = r, 0
            values = out[r] = []
            append = values.append
            texts = grid[r - 1] if r <= len(grid) else []
            continue
        col = columns.get(letters)
        if col is None:
            col = columns[letters] = _column(letters)
        if col != last_col + 1:
            if col <= last_col:
                raise Fallback(f"row {row}: a cell out of order or outside a row")
            values.extend([None] * (col - last_col - 1))
        last_col = col
        kind = kinds.get(attrs)
        if kind is None:
            kind = kinds[attrs] = _kind(attrs)
        t = kind[0]
        if t == b"s" or t == b"inlineStr":
            if t == b"s" and v and not int(v) < n_strings:  # openpyxl: IndexError
                raise Fallback(f"row {row}: shared string {int(v)} of {n_strings}")
            if (has_is if t == b"inlineStr" else v):
                value = texts[col - 1] if col <= len(texts) else None
                if value.__class__ is not str:
                    raise Fallback(f"python-calamine reads row {row}, column {col} as "
                                   f"{type(value).__name__}, not text")
                append(texts_seen(value, value))
            else:
                append(None)
        elif not v:
            append(None)
        elif b"&" in v:
            raise Fallback(f"row {row}: a character reference in a saved value")
        elif t == b"n":
            key = (v, kind[1])
            value = numbers.get(key)
            if value is None:
                value = numbers[key] = _number(v, kind[1], styles, epoch)
            append(value)
        elif t == b"b":
            append(bool(int(v)))
        elif t == b"e":
            append(ExcelError(v.decode("ascii")))
            errors += 1
        else:
            raise Fallback(f"row {row}: cell type {t.decode(errors='replace')!r}")
    if seen != [n_tokens, xml.count(b"<v"), xml.count(b"<is")]:
        raise Fallback("rows, cells or values the expression does not know (no r attribute, r not first, "
                       "a value not right after its cell's tag)")
    found = sum(len(cells) - cells.count(None) - cells.count("") for cells in out.values()) - errors
    held = sum(len(r) - r.count("") for r in grid)
    if held != found:
        raise Fallback(f"python-calamine holds {held:,} cell(s) with a value, the sheet XML {found:,}")
    rows, with_values, last = [], 0, 0
    for r in range(header_row, row + 1):
        cells = out.get(r, [])
        if any(c is not None for c in cells):
            with_values, last = with_values + 1, r
        rows.append((r, cells))
    return rows, with_values, last
