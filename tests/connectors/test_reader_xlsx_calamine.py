"""The xlsx fast path (connectors/xlsx_calamine.py) hands on exactly what the openpyxl path does.

Every workbook here is read twice, `read_file(fast=True)` and `read_file(fast=False)` (openpyxl, the
reference), and the two must agree cell by cell (value and type), in row numbers, row errors,
headers, warnings and file info, or raise the same SourceError. Each case also states which path the
fast read took, so an equivalence that only holds because everything fell back cannot pass:

* the xlsx corpus of test_bad_inputs (the sample's vetting workbook as openpyxl saves it: inline
  strings; damaged, formula, error, blank-row and namespace-prefixed variants);
* workbooks written by xlsxwriter (shared strings, as Excel saves them) with each difference between
  calamine and openpyxl: midnight dates, empty strings and empty styled cells (row lengths), error
  cells, whole numbers saved as 417 and 417.0, zero-padded number formats, the 1904 date system,
  durations, booleans, cells beyond the header, merged cells, a hidden sheet, gaps, `skip_rows`;
* sheets the fast path must hand to openpyxl: formulas, `_xHHHH_` escapes, text with untrimmed
  white space, rows out of order.
"""
from __future__ import annotations

import io
import logging
import re
import zipfile
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
import xlsxwriter

from connectors import SourceConfig, SourceError, pull, xlsx_calamine
from connectors.xlsx_source import read_file

from test_bad_inputs import XLSX_CASES, source as sample_source

FAST, FELL_BACK = "fast", "openpyxl"


def _cells(rows):
    return [[(type(v), v) for v in r] for r in rows]


def read_both(src: SourceConfig, folder: Path, caplog) -> tuple[str, object]:
    """Read with both paths; assert they agree; return (the path the fast read took, the table)."""
    path = folder / src.path
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="connectors.xlsx"):
        try:
            fast = read_file(src, path, folder)
        except SourceError as e:
            fast = e
    took = FELL_BACK if any("read by openpyxl" in r.message for r in caplog.records) else FAST
    try:
        ref = read_file(src, path, folder, fast=False)
    except SourceError as e:
        assert isinstance(fast, SourceError), f"only the reference refuses: {e}"
        assert str(fast) == str(e)
        return took, None
    assert not isinstance(fast, SourceError), f"only the fast path refuses: {fast}"
    (ft, finfo, fwarn), (rt, rinfo, rwarn) = fast, ref
    assert ft.headers == rt.headers
    assert ft.row_numbers == rt.row_numbers
    assert ft.row_errors == rt.row_errors
    assert _cells(ft.rows) == _cells(rt.rows)
    assert (finfo, fwarn, ft.label, ft.all_text) == (rinfo, rwarn, rt.label, rt.all_text)
    return took, ft


# ---- the corpus of test_bad_inputs ----------------------------------------------------------
CORPUS_PATH = {  # which path the fast read takes on each case of the corpus
    "xlsx_header_only": FAST, "xlsx_header_only_allowed": FAST, "xlsx_uncached_formula_date": FELL_BACK,
    "xlsx_uncached_formula_id": FELL_BACK, "xlsx_uncached_formula_unmapped_column": FELL_BACK,
    "xlsx_cached_formula_date": FELL_BACK, "xlsx_cached_empty_text_formula": FELL_BACK,
    "xlsx_shared_formula_uncached": FELL_BACK, "xlsx_prefixed_no_references": FELL_BACK,
    "xlsx_error_value": FAST, "xlsx_wrong_dimension": FAST, "xlsx_blank_rows": FAST,
    "xlsx_zero_bytes": FAST, "xlsx_truncated": FAST,
}


def test_corpus_cases_are_all_named():
    assert set(CORPUS_PATH) == set(XLSX_CASES)


@pytest.mark.parametrize("name", [  # the cases openpyxl reads anyway are slow-marked (1 s each: building them)
    pytest.param(name, marks=pytest.mark.slow) if CORPUS_PATH.get(name) == FELL_BACK else name for name in XLSX_CASES])
def test_bad_input_corpus_same_on_both_paths(name, tmp_path, caplog):
    case = XLSX_CASES[name]
    src = sample_source(case.source, case.build(tmp_path), **case.overrides)
    took, table = read_both(src, tmp_path, caplog)
    if table is not None:  # (a refused file: both paths raised the same SourceError)
        assert took == CORPUS_PATH[name]
    else:
        assert case.outcome == "refused"


# ---- workbooks written as Excel writes them (shared strings) --------------------------------
HEAD = ["Ref", "Employee", "Granted", "Amount", "Code", "Flag", "Note"]


COLUMNS = {"Ref": "record_id", "Employee": "person_id", "Granted": "granted_date", "Code": "level",
           "Flag": "status", "Note": "person_name"}


def vetting_source(path: str, **kw) -> SourceConfig:
    return SourceConfig(**{**sample_source("vetting", path).model_dump(), "columns": COLUMNS, **kw})


def xlsxwriter_book(path: Path, rows, *, date1904=False, hidden_first=False, sheet="Data", start=0,
                    edit=None) -> None:
    wb = xlsxwriter.Workbook(str(path), {"date_1904": date1904, "strings_to_numbers": False})
    if hidden_first:
        hidden = wb.add_worksheet("Hidden")
        hidden.write_row(0, 0, ["not", "this"])
        hidden.hide()
    ws = wb.add_worksheet(sheet)
    fmt = {"date": wb.add_format({"num_format": "dd/mm/yyyy"}),
           "datetime": wb.add_format({"num_format": "dd/mm/yyyy hh:mm:ss"}),
           "pad": wb.add_format({"num_format": "000000"}),
           "duration": wb.add_format({"num_format": "[h]:mm:ss"}),
           "styled": wb.add_format({"bold": True})}
    for r, row in enumerate(rows, start=start):
        for c, cell in enumerate(row):
            if isinstance(cell, tuple):
                kind, value = cell
                if kind == "blank":
                    ws.write_blank(r, c, None, fmt["styled"])
                elif kind == "error":
                    ws.write_formula(r, c, "=1/0", None, value)  # replaced below: a saved error
                elif kind == "text":
                    ws.write_string(r, c, value)
                else:
                    ws.write(r, c, value, fmt[kind])
            elif cell is not None:
                ws.write(r, c, cell)
    if edit:
        edit(wb, ws, fmt)
    wb.close()


def rewrite_sheet(path: Path, rewrite, part: str = "xl/worksheets/sheet") -> None:
    """Rewrite the parts whose name starts with `part` (by default every worksheet)."""
    src = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    with zipfile.ZipFile(path, "w") as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith(part):
                data = rewrite(data)
            out.writestr(item, data)


def saved_errors(xml: bytes) -> bytes:
    """xlsxwriter writes a formula with its result; keep the result only, as an error cell."""
    return re.sub(rb'<c r="([A-Z]+\d+)"( s="\d+")? t="e"><f>[^<]*</f><v>([^<]*)</v></c>',
                  rb'<c r="\1"\2 t="e"><v>\3</v></c>', xml)


def float_text(xml: bytes) -> bytes:
    """A whole number saved as 417.0 (some writers do): openpyxl reads a float, 417 an int."""
    return xml.replace(b"<v>4170</v>", b"<v>4170.0</v>").replace(b"<v>41700</v>", b"<v>4.17E4</v>")


ROWS = [
    HEAD,
    ["VR1", "100001", ("date", datetime(2021, 10, 10)), 12.5, 417, True, "a note"],
    ["VR2", "EMPTY", ("datetime", datetime(2021, 10, 10, 13, 30, 15)), 0, ("pad", 417), False, ("blank", None)],
    ["VR3", "100003", ("date", datetime(1900, 1, 1)), -3, ("pad", 4170), None, None],
    [None, None, None, None, None, None, None],
    ["VR5", ("error", "#N/A"), ("date", datetime(2030, 2, 28)), 1e20, 4170, ("text", "=not a formula"), "x", "beyond"],
    ["VR6", "100006", ("duration", timedelta(hours=30, minutes=5)), 41700, ("error", "#REF!"), 1, ("blank", None),
     ("blank", None)],
    ["VR7", "  padded  ", ("date", datetime(2024, 2, 29)), 2.5, "000417", "TRUE", "EMPTY"],
]


def _with_error_cells(path: Path) -> None:
    """Error cells, whole numbers saved with a point, and "EMPTY" made the shared string "" (a cell
    holding empty text: openpyxl reads "", not None)."""
    rewrite_sheet(path, lambda xml: float_text(saved_errors(xml)))
    rewrite_sheet(path, lambda xml: xml.replace(b"<t>EMPTY</t>", b"<t></t>"), "xl/sharedStrings.xml")


@pytest.mark.parametrize("variant", ["plain", "date1904", "hidden_sheet_first", "skip_rows", "merged"])
def test_excel_layout_same_on_both_paths(variant, tmp_path, caplog):
    path = tmp_path / "v.xlsx"
    kw, src_kw = {}, {"sheet": "Data"}
    if variant == "date1904":
        kw["date1904"] = True
    elif variant == "hidden_sheet_first":
        kw["hidden_first"] = True
        src_kw = {"sheet": 1}
    elif variant == "skip_rows":
        kw["start"] = 3
        src_kw["skip_rows"] = 3
    elif variant == "merged":
        kw["edit"] = lambda wb, ws, fmt: ws.merge_range("D9:F9", "merged")
    xlsxwriter_book(path, ROWS, **kw)
    _with_error_cells(path)
    src = vetting_source("v.xlsx", **src_kw)
    took, table = read_both(src, tmp_path, caplog)
    assert took == FAST
    rows = {n: r for n, r in zip(table.row_numbers, table.rows)}
    base = 1 + kw.get("start", 0)
    first = rows[base + 1]
    assert type(first[2]) is datetime and first[2] == datetime(2021, 10, 10)  # not a date
    assert type(first[4]) is int and first[3] == 12.5
    second = rows[base + 2]
    assert second[1] == "" and second[4] == "000417" and second[6] is None  # "" and a styled blank
    assert len(rows[base + 3]) == 5  # openpyxl's row ends at its last cell: F and G are absent
    assert base + 4 not in rows  # the blank row
    fifth = rows[base + 5]
    assert type(fifth[4]) is float and fifth[4] == 4170.0 and type(fifth[3]) is float
    assert fifth[1].text == "#N/A" and table.row_errors  # an error cell; a cell beyond the header
    assert type(rows[base + 6][3]) is float and type(rows[base + 6][2]) is timedelta
    assert rows[base + 7][1] == "  padded  " and rows[base + 7][6] == ""
    # and the whole source loads the same way (mapping, parsing, row identity, quarantine)
    fast_frame = pull(src, tmp_path)
    import connectors

    monkey = dict(connectors._FILE_READERS)
    try:
        connectors._FILE_READERS["xlsx"] = lambda s, p, b: read_file(s, p, b, fast=False)
        ref_frame = pull(src, tmp_path)
    finally:
        connectors._FILE_READERS.update(monkey)
    assert fast_frame.df.equals(ref_frame.df) and fast_frame.quarantine.equals(ref_frame.quarantine)
    assert fast_frame.reconciles() and ref_frame.rows_read == fast_frame.rows_read


FALLBACKS = {
    "formula": lambda xml: xml.replace(b'<c r="A2" t="s"><v>', b'<c r="A2" t="str"><f>"VR"&amp;1</f><v>', 1),
    "escape": lambda xml: xml,  # the shared string below
    "untrimmed": lambda xml: xml,
    "out_of_order": lambda xml: re.sub(rb'(<row r="3".*?</row>)(<row r="4".*?</row>)', rb"\2\1", xml, flags=re.S),
    "no_row_numbers": lambda xml: re.sub(rb'<row r="\d+"', b"<row", xml),
    "cells_without_references": lambda xml: re.sub(rb'<c r="[A-Z]+\d+"', b"<c", xml),
    "single_quoted_type": lambda xml: xml.replace(b'<c r="A3" t="s">', b"<c r=\"A3\" t='s'>", 1),
    "space_default": lambda xml: xml,  # xml:space="default" in the shared strings, below
    "pretty_printed": lambda xml: xml.replace(b"><v>", b">\n  <v>"),
    "far_cell": lambda xml: xml.replace(b"</sheetData>", b'<row r="200"><c r="XFD200"><v>1</v></c></row></sheetData>'),
}


REASONS = {"formula": "holds b'<f>'", "escape": "hold b'_x005F_'", "untrimmed": "hold b'<t> leading</t>'",
           "out_of_order": "row 3 comes after row 4", "no_row_numbers": "row 0: a cell out of order or outside a row",
           "cells_without_references": "the expression does not know", "single_quoted_type": "cell attributes",
           "far_cell": "the sheet is sparse", "space_default": "hold b'<t '", "pretty_printed": "a value not right after its cell's tag"}


@pytest.mark.parametrize("case", list(FALLBACKS))
def test_what_the_fast_path_cannot_read_exactly_goes_to_openpyxl(case, tmp_path, caplog):
    path = tmp_path / "v.xlsx"
    rows = [r[:] for r in ROWS]
    if case == "escape":
        rows[1][6] = "line_x000D_break"
    if case in ("untrimmed", "space_default"):
        rows[1][6] = " leading"
    xlsxwriter_book(path, rows)
    _with_error_cells(path)
    rewrite_sheet(path, FALLBACKS[case])
    if case in ("untrimmed", "space_default"):  # as a writer that does not mark xml:space="preserve" saves it
        mark = b"" if case == "untrimmed" else b' xml:space="default"'
        rewrite_sheet(path, lambda xml: xml.replace(b' xml:space="preserve"', mark), "xl/sharedStrings.xml")
    took, _ = read_both(vetting_source("v.xlsx", sheet="Data"), tmp_path, caplog)
    assert took == FELL_BACK
    assert any(REASONS[case] in r.message for r in caplog.records), caplog.text


def test_a_wrong_conversion_is_caught(tmp_path, caplog, monkeypatch):
    """The comparison is not vacuous: calamine's kind of date (a date, not a midnight datetime), or
    a float for a whole number, makes it fail."""
    path = tmp_path / "v.xlsx"
    xlsxwriter_book(path, ROWS)
    _with_error_cells(path)
    src = vetting_source("v.xlsx", sheet="Data")
    real = xlsx_calamine.from_excel
    monkeypatch.setattr(xlsx_calamine, "from_excel", lambda *a, **k: (lambda v: v.date() if isinstance(v, datetime)
                                                                       and v.time() == time() else v)(real(*a, **k)))
    with pytest.raises(AssertionError):
        read_both(src, tmp_path, caplog)
    monkeypatch.setattr(xlsx_calamine, "from_excel", real)
    monkeypatch.setattr(xlsx_calamine, "_cast_number", float)
    with pytest.raises(AssertionError):
        read_both(src, tmp_path, caplog)


@pytest.mark.parametrize("chunk", [xlsx_calamine.CHUNK, 300])
def test_sample_vetting_workbook_takes_the_fast_path(caplog, monkeypatch, chunk):
    """In one piece and in 300-byte pieces of rows (a large sheet is matched 256 KB at a time)."""
    monkeypatch.setattr(xlsx_calamine, "CHUNK", chunk)
    root = Path(__file__).resolve().parents[2]
    took, table = read_both(sample_source("vetting", "sample/vetting_register.xlsx"), root, caplog)
    assert took == FAST and len(table.rows) == 559


def test_calamine_losing_a_row_sends_the_sheet_to_openpyxl(tmp_path, caplog, monkeypatch):
    """The fast path's own reconciliation: the cells calamine holds and the cells the sheet XML has
    must agree in number. A calamine that lost the cells of a row of the sample's vetting sheet is not trusted:
    the sheet is read by openpyxl, with all 559 rows."""
    import python_calamine

    real = python_calamine.CalamineWorkbook

    class Lossy:
        @staticmethod
        def from_filelike(buf):
            book = real.from_filelike(buf)

            class Sheet:
                def __init__(self, sheet):
                    self.sheet, self.end = sheet, sheet.end

                def to_python(self, **kw):
                    grid = self.sheet.to_python(**kw)
                    grid[100] = [""] * len(grid[100])  # row 101's cells read as empty
                    return grid

            return type("Book", (), {"get_sheet_by_name": lambda self, name: Sheet(book.get_sheet_by_name(name))})()

    monkeypatch.setattr(xlsx_calamine.python_calamine, "CalamineWorkbook", Lossy)
    root = Path(__file__).resolve().parents[2]
    took, table = read_both(sample_source("vetting", "sample/vetting_register.xlsx"), root, caplog)
    assert took == FELL_BACK and len(table.rows) == 559
    assert any("python-calamine holds" in r.message for r in caplog.records)
