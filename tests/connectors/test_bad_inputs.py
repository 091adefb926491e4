"""Bad sources fail loud: nothing lost, nothing false, nothing hidden.

A corpus of damaged files, generated in tmp_path from the bundled sample's own layouts (the gifts
CSV, 149 records; the vetting workbook, 559 rows) and read through the sample's own [[sources]]
tables. Each case states its outcome:

* refused: `pull` raises SourceError naming the file and what to fix;
* quarantined: the rows are read, and the damaged ones are in the quarantine with the reason;
* loaded: every row read.

Whenever a source loads, its rows are reconciled against the count this test wrote (independent of
every reader): rows read == records written, and rows read == accepted + quarantined.
"""
from __future__ import annotations

import io
import os
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import openpyxl
import pandas as pd
import pytest

from audit import settings as settings_mod
from connectors import SourceConfig, SourceError, load_sources, pull, xlsx_source

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = settings_mod.load(ROOT / "config.toml")
GIFTS_TEXT = (ROOT / "sample" / "gifts_hospitality_register.csv").read_text(encoding="utf-8-sig")
HEADER, *ROWS = GIFTS_TEXT.splitlines()
N = len(ROWS)  # 149 data records
VETTING = ROOT / "sample" / "vetting_register.xlsx"
V_ROWS = 559  # data rows of the sample's Clearances sheet


def source(name: str, path: str, **overrides) -> SourceConfig:
    base = next(s for s in SETTINGS.sources if s.name == name)
    return SourceConfig(**{**base.model_dump(), "path": path, **overrides})


def cells(i: int) -> list[str]:
    """The cells of data record i (0-based); the sample's gifts file has no quoted cells."""
    assert '"' not in ROWS[i]
    return ROWS[i].split(",")


def with_cell(i: int, col: int, value: str) -> list[str]:
    rows = list(ROWS)
    c = cells(i)
    c[col] = value
    rows[i] = ",".join(c)
    return rows


def csv_text(rows: list[str], header: str = HEADER, end: str = "\n") -> str:
    return "\n".join([header, *rows]) + end


DESC, VALUE, AUTH_DATE = 7, 8, 11  # gifts columns: Description, Estimated Value, Date Authorised


@dataclass
class Case:
    build: Callable[[Path], str]  # writes the file(s) into the folder, returns the source's path
    outcome: str  # refused | quarantined | loaded
    expect: str = ""  # refused: regex of the message; quarantined: regex of the reason
    records: int | None = None  # records written (loaded / quarantined)
    quarantined: list[tuple[int, str]] = field(default_factory=list)  # (row, column) of new quarantine lines
    warning: str | None = None  # regex one of the load notes must match
    source: str = "gifts"
    overrides: dict = field(default_factory=dict)


def write(name: str, data: bytes | str, encoding: str = "utf-8") -> Callable[[Path], str]:
    def build(folder: Path) -> str:
        (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
        return name
    return build


def sample_quarantine(name: str) -> Counter:
    """(column, reason) of the sample's own deliberately broken rows, to tell them from a case's."""
    base = next(s for s in SETTINGS.sources if s.name == name)
    q = pull(base, ROOT).quarantine
    return Counter(zip(q["column"], q["reason"]))


def new_lines(frame, name: str) -> list[tuple[int, str, str]]:
    """The quarantine lines of a case that the sample does not have (rows may have moved)."""
    base = sample_quarantine(name)
    q = frame.quarantine
    out = []
    for row, column, reason in sorted(zip(q["row"].astype(int), q["column"], q["reason"])):
        if base[(column, reason)]:
            base[(column, reason)] -= 1
        else:
            out.append((row, column, reason))
    return out


# ---- the CSV corpus ---------------------------------------------------------------------------
def _swallowed_to_eof() -> str:
    return csv_text(with_cell(39, DESC, '"Dinner at The Ivy'))


def _closed_by_a_later_quote() -> str:
    rows = with_cell(39, DESC, '"Dinner at The Ivy')
    c = cells(99)
    c[DESC] = '"Lunch, with client"'
    rows[99] = ",".join(c)
    return csv_text(rows)


def _quoted_line_breaks() -> str:
    rows = with_cell(9, DESC, '"Flowers\nand a card"')
    c = cells(10)
    c[DESC] = '"Said ""thanks"", twice"'
    rows[10] = ",".join(c)
    return csv_text(rows)


def _blank_lines() -> str:
    rows = list(ROWS)
    rows[20:20] = ["", "", ",,,,,,,,,,,"]
    rows.insert(50, "")
    return csv_text(rows)


def _mapped_duplicate() -> str:
    return csv_text([r + ",1.00" for r in ROWS], header=HEADER + ",Estimated Value")


def _unmapped_duplicate() -> str:
    return csv_text([r + ",a,b" for r in ROWS], header=HEADER + ",Notes,Notes")


def _extra_column() -> str:
    return csv_text([r + ",CC1" for r in ROWS], header=HEADER + ",Cost Centre")


def _more_cells() -> str:
    rows = list(ROWS)
    rows[4] += ",surprise"
    return csv_text(rows)


def _fewer_cells() -> str:
    rows = list(ROWS)
    rows[5] = ",".join(cells(5)[:AUTH_DATE])  # Date Authorised left off (optional)
    return csv_text(rows)


def _all_quoted(newline: str) -> str:
    """Every cell quoted, as Excel and many exporters write it, with a multi-line cell and a
    doubled quote."""
    def quoted(cells: list[str]) -> str:
        return ",".join('"' + c.replace('"', '""') + '"' for c in cells)
    rows = [cells(i) for i in range(N)]
    rows[3][DESC] = 'Box of "fine" chocolates' + newline + "with a card"
    return newline.join([quoted(HEADER.split(",")), *map(quoted, rows)]) + newline


def _truncated() -> str:
    last = ",".join(cells(N - 1)[:5])[:-3]  # cut mid-record, mid-cell, no line break after it
    return csv_text(ROWS[:-1] + [last], end="")


def _nul_in_cell() -> str:
    return csv_text(with_cell(9, DESC, "Box of\x00chocolates"))


CSV_CASES: dict[str, Case] = {
    "unterminated_quote_mid_file": Case(
        write("gifts.csv", _swallowed_to_eof()), "refused",
        r"gifts\.csv: the quote that opens a cell on line 41 is never closed: it would swallow the "
        r"109 line\(s\) after it into one cell"),
    "stray_quote_closed_by_a_later_quote": Case(
        write("gifts.csv", _closed_by_a_later_quote()), "refused",
        r"gifts\.csv: the quoted cell opened on line 41 runs on to line 101"),
    "quoted_line_breaks_and_doubled_quotes": Case(
        write("gifts.csv", _quoted_line_breaks()), "loaded", records=N,
        warning=r"gifts\.csv: 1 quoted cell\(s\) hold line breaks \(from line 11\); each record is one row"),
    "header_only": Case(write("gifts.csv", HEADER + "\n"), "refused",
                        r"gifts\.csv has a header row but read 0 rows; .*allow_empty = true"),
    "header_only_allowed": Case(write("gifts.csv", HEADER + "\n"), "loaded", records=0,
                                warning=r"read 0 rows \(allowed: allow_empty = true\)",
                                overrides={"allow_empty": True}),
    "truncated_last_record": Case(
        write("gifts.csv", _truncated()), "refused",
        r"gifts\.csv: the last record \(line 150\) has 5 of 12 cells and no line break after it: "
        r"the file looks cut off"),
    "nul_in_a_cell": Case(write("gifts.csv", _nul_in_cell()), "refused",
                          r"gifts\.csv: contains 1 NUL byte\(s\) \(first on line 11\)"),
    "nul_padding": Case(write("gifts.csv", GIFTS_TEXT.encode() + b"\x00" * 4096), "refused",
                        r"gifts\.csv: contains 4,096 NUL byte\(s\) \(first on line 151\)"),
    "utf16_with_bom": Case(write("gifts.csv", GIFTS_TEXT, "utf-16"), "refused",
                           r'gifts\.csv: .*UTF-16.*set encoding = "utf-16"'),
    "utf16_without_bom": Case(write("gifts.csv", GIFTS_TEXT, "utf-16-le"), "refused",
                              r'gifts\.csv: .*UTF-16 without a byte-order mark.*set encoding = "utf-16-le"'),
    "cp1252_read_as_utf8": Case(write("gifts.csv", GIFTS_TEXT, "cp1252"), "refused",
                                r"gifts\.csv: is not valid utf-8-sig text \(byte 0xa3 on line 2\).*cp1252"),
    "cp1252_read_as_cp1252": Case(write("gifts.csv", GIFTS_TEXT, "cp1252"), "loaded", records=N,
                                  overrides={"encoding": "cp1252"}),
    "bom_then_cp1252_read_as_utf8": Case(
        write("gifts.csv", b"\xef\xbb\xbf" + GIFTS_TEXT.encode("cp1252")), "refused",
        r"gifts\.csv: is not valid utf-8-sig text \(byte 0xa3 on line 2\)"),
    "bom_then_cp1252_read_as_cp1252": Case(
        write("gifts.csv", b"\xef\xbb\xbf" + GIFTS_TEXT.encode("cp1252")), "loaded", records=N,
        warning=r"gifts\.csv: starts with a UTF-8 byte-order mark but is not UTF-8 text \(byte 0xa3 on line 2\); "
                r"read as cp1252",
        overrides={"encoding": "cp1252"}),
    "bom_then_utf8_read_as_cp1252": Case(
        write("gifts.csv", b"\xef\xbb\xbf" + GIFTS_TEXT.encode("utf-8")), "refused",
        r'gifts\.csv: starts with a UTF-8 byte-order mark and is UTF-8 text: set encoding = "utf-8-sig"',
        overrides={"encoding": "cp1252"}),
    "blank_lines": Case(write("gifts.csv", _blank_lines()), "loaded", records=N,
                        warning=r"gifts\.csv: 4 blank line\(s\) skipped"),
    "duplicate_header_mapped": Case(write("gifts.csv", _mapped_duplicate()), "refused",
                                    r"'Estimated Value' occur more than once"),
    "duplicate_header_unmapped": Case(write("gifts.csv", _unmapped_duplicate()), "loaded", records=N,
                                      warning=r"header 'Notes' occurs 2 times"),
    "extra_column": Case(write("gifts.csv", _extra_column()), "loaded", records=N),
    "ragged_more_cells": Case(write("gifts.csv", _more_cells()), "quarantined",
                              r"row has 13 cells but the header has 12", records=N,
                              quarantined=[(6, "(row)")]),
    "ragged_fewer_cells": Case(write("gifts.csv", _fewer_cells()), "loaded", records=N,
                               warning=r"gifts\.csv: 1 record\(s\) have fewer cells than the header \(11 of 12; "
                                       r"the missing cells are read as blank\): line 7"),
    "zero_bytes": Case(write("gifts.csv", b""), "refused", r"gifts\.csv: file is empty \(0 bytes\)"),
    # and the good files around them load in full
    "every_cell_quoted_crlf": Case(write("gifts.csv", _all_quoted("\r\n")), "loaded", records=N),
    "no_line_break_at_the_end": Case(write("gifts.csv", csv_text(ROWS, end="")), "loaded", records=N),
    "quoted_last_cell_no_line_break": Case(write("gifts.csv", _all_quoted("\n").rstrip("\n")), "loaded",
                                           records=N),
}


def _directory(folder: Path) -> str:
    (folder / "gifts.csv").mkdir()
    return "gifts.csv"


def _symlink_loop(folder: Path) -> str:
    os.symlink(folder / "b.csv", folder / "gifts.csv")
    os.symlink(folder / "gifts.csv", folder / "b.csv")
    return "gifts.csv"


CSV_CASES["a_directory"] = Case(_directory, "refused", r"gifts\.csv is a folder, not a file")
CSV_CASES["a_symlink_loop"] = Case(_symlink_loop, "refused", r"gifts\.csv: symbolic link loop")


# ---- the XLSX corpus --------------------------------------------------------------------------
def _vetting(edit: Callable | None = None) -> Callable[[Path], str]:
    def build(folder: Path) -> str:
        wb = openpyxl.load_workbook(VETTING)
        if edit:
            edit(wb["Clearances"])
        wb.save(folder / "vetting.xlsx")
        return "vetting.xlsx"
    return build


def _patched(build: Callable[[Path], str], old: bytes, new: bytes, count: int = 1) -> Callable[[Path], str]:
    """Rewrite the sheet XML (what Excel or another writer would have saved)."""
    def patched(folder: Path) -> str:
        name = build(folder)
        path = folder / name
        src = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
        with zipfile.ZipFile(path, "w") as out:
            for item in src.infolist():
                data = src.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":
                    assert data.count(old) == count, (old, data.count(old))
                    data = data.replace(old, new)
                out.writestr(item, data)
        return name
    return patched


def _rewritten(build: Callable[[Path], str], rewrite: Callable[[bytes], bytes]) -> Callable[[Path], str]:
    """Rewrite the whole sheet XML (layouts other writers produce)."""
    def patched(folder: Path) -> str:
        name = build(folder)
        path = folder / name
        src = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
        with zipfile.ZipFile(path, "w") as out:
            for item in src.infolist():
                data = src.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":
                    data = rewrite(data)
                out.writestr(item, data)
        return name
    return patched


def _shared_uncached(xml: bytes) -> bytes:
    """E11:E13 as one shared formula saved without values (the first cell holds the text)."""
    def cell(ref: bytes, formula: bytes) -> None:
        nonlocal xml
        xml, n = re.subn(rb'<c r="' + ref + rb'"( s="\d+")?><f>DATE\(2020,1,1\)</f><v ?/></c>',
                         rb'<c r="' + ref + rb'"\1>' + formula + rb"</c>", xml)
        assert n == 1, ref

    cell(b"E11", b'<f t="shared" ref="E11:E13" si="0">DATE(2020,1,1)</f>')
    cell(b"E12", b'<f t="shared" si="0" />')
    cell(b"E13", b'<f t="shared" si="0" />')
    return xml


def _prefixed(xml: bytes) -> bytes:
    """The same sheet with every element under an `x:` prefix and no row numbers (as some
    exporters write: the rows are then counted)."""
    xml = re.sub(rb"<(/?)(?!\?)([A-Za-z]+)", rb"<\1x:\2", xml)
    xml = xml.replace(b'xmlns="', b'xmlns:x="')
    xml, n = re.subn(rb'(<x:row[^>]*?) r="[0-9]+"', rb"\1", xml)
    assert n == V_ROWS + 1
    return xml


def _three_formulas(ws) -> None:
    for cell in ("E11", "E12", "E13"):
        ws[cell] = "=DATE(2020,1,1)"


def _header_only(ws) -> None:
    ws.delete_rows(2, ws.max_row)


def _set(cell: str, value) -> Callable:
    def edit(ws) -> None:
        ws[cell] = value
    return edit


def _blank_rows(ws) -> None:
    ws.insert_rows(20, 3)


UNCACHED = "formula =DATE(2020,1,1) has no saved value: open and save the workbook in Excel, or export values"

XLSX_CASES: dict[str, Case] = {
    "xlsx_header_only": Case(_vetting(_header_only), "refused",
                             r"vetting\.xlsx has a header row but read 0 rows", source="vetting"),
    "xlsx_header_only_allowed": Case(_vetting(_header_only), "loaded", records=0, source="vetting",
                                     overrides={"allow_empty": True}),
    "xlsx_uncached_formula_date": Case(_vetting(_set("E11", "=DATE(2020,1,1)")), "quarantined",
                                       re.escape(UNCACHED), records=V_ROWS,
                                       quarantined=[(11, "Expiry Date")], source="vetting"),
    "xlsx_uncached_formula_id": Case(_vetting(_set("B12", '="100"&"001"')), "quarantined",
                                     r'^formula ="100"&"001" has no saved value', records=V_ROWS,
                                     quarantined=[(12, "Employee Number")], source="vetting"),
    "xlsx_uncached_formula_unmapped_column": Case(_vetting(_set("I13", "=A13")), "loaded", records=V_ROWS,
                                                  source="vetting"),
    "xlsx_cached_formula_date": Case(
        _patched(_vetting(_set("E11", "=DATE(2020,1,1)")), b"<f>DATE(2020,1,1)</f><v />",
                 b"<f>DATE(2020,1,1)</f><v>43831</v>"), "loaded", records=V_ROWS, source="vetting"),
    "xlsx_cached_empty_text_formula": Case(
        _patched(_vetting(_set("I13", '=""')), b'<c r="I13"', b'<c r="I13" t="str"'), "loaded",
        records=V_ROWS, source="vetting"),
    "xlsx_shared_formula_uncached": Case(_rewritten(_vetting(_three_formulas), _shared_uncached), "quarantined",
                                         re.escape(UNCACHED), records=V_ROWS, source="vetting",
                                         quarantined=[(11, "Expiry Date"), (12, "Expiry Date"), (13, "Expiry Date")]),
    "xlsx_prefixed_no_references": Case(_rewritten(_vetting(_set("E11", "=DATE(2020,1,1)")), _prefixed),
                                        "quarantined", re.escape(UNCACHED), records=V_ROWS, source="vetting",
                                        quarantined=[(11, "Expiry Date")]),
    "xlsx_error_value": Case(_vetting(_set("B12", "#N/A")), "quarantined",
                             r"^the cell holds the Excel error #N/A", records=V_ROWS,
                             quarantined=[(12, "Employee Number")], source="vetting"),
    "xlsx_wrong_dimension": Case(_patched(_vetting(), b'<dimension ref="A1:I560" />',
                                          b'<dimension ref="A1:I10" />'), "loaded", records=V_ROWS,
                                 source="vetting"),
    "xlsx_blank_rows": Case(_vetting(_blank_rows), "loaded", records=V_ROWS, source="vetting",
                            warning=r"vetting\.xlsx: 3 blank row\(s\) skipped"),
    "xlsx_zero_bytes": Case(write("vetting.xlsx", b""), "refused", r"vetting\.xlsx: file is empty",
                            source="vetting"),
    "xlsx_truncated": Case(lambda folder: write("vetting.xlsx", VETTING.read_bytes()[:20_000])(folder),
                           "refused", r"vetting\.xlsx: not a readable xlsx file", source="vetting"),
}

CASES = {**CSV_CASES, **XLSX_CASES}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name, tmp_path):
    case = CASES[name]
    path = case.build(tmp_path)
    src = source(case.source, path, **case.overrides)
    if case.outcome == "refused":
        with pytest.raises(SourceError) as exc:
            pull(src, tmp_path)
        assert re.search(case.expect, str(exc.value), re.S), str(exc.value)
        assert str(exc.value).startswith(f"source {case.source!r}: ")
        # and a run records it as a failed source, never stopping the others
        load = load_sources([src, source("associations", str(ROOT / "sample" / "notifiable_associations.csv"))],
                            tmp_path)
        assert [f.source for f in load.failures] == [case.source] and len(load.frames) == 1
        return
    frame = pull(src, tmp_path)
    # nothing lost: every record written is read, and every row read is accepted or quarantined
    assert frame.rows_read == case.records, (frame.rows_read, case.records)
    assert frame.reconciles()
    notes = "\n".join(frame.provenance.warnings)
    if case.warning:
        assert re.search(case.warning, notes), notes
    new = new_lines(frame, case.source)
    if case.outcome == "loaded":
        assert not new, new
    else:
        assert sorted((r, c) for r, c, _ in new) == sorted(case.quarantined), new
        assert all(re.search(case.expect, reason) for _, _, reason in new), new


def test_a_reader_that_loses_a_csv_record_is_caught(tmp_path, monkeypatch):
    """Reconciliation with an independent count of the records: a reader that produced one record
    fewer than the bytes hold fails the source with both counts."""
    import connectors.csv_source as csv_source

    real = csv_source.csv.reader

    class lossy:  # the csv module's reader, losing record 41
        def __init__(self, *args, **kwargs):
            self.reader, self.seen = real(*args, **kwargs), 0

        def __iter__(self):
            return self

        def __next__(self):
            self.seen += 1
            if self.seen == 41:
                next(self.reader)
            return next(self.reader)

        @property
        def line_num(self):
            return self.reader.line_num

    monkeypatch.setattr(csv_source.csv, "reader", lossy)
    (tmp_path / "gifts.csv").write_text(GIFTS_TEXT, encoding="utf-8")
    with pytest.raises(SourceError, match=r"gifts\.csv: the CSV reader produced 149 records but the file "
                                          r"holds 150 \(header and preamble included\)"):
        pull(source("gifts", "gifts.csv"), tmp_path)


def test_a_reader_that_loses_an_xlsx_row_is_caught(tmp_path, monkeypatch):
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    real = ReadOnlyWorksheet._cells_by_row

    def lossy(self, *args, **kwargs):
        for i, row in enumerate(real(self, *args, **kwargs)):
            if i != 100:
                yield row

    monkeypatch.setattr(ReadOnlyWorksheet, "_cells_by_row", lossy)
    monkeypatch.setattr(xlsx_source, "_fast_rows", lambda *a: None)  # the openpyxl path (the fast path has its own test)
    _vetting()(tmp_path)
    with pytest.raises(SourceError, match=r"vetting\.xlsx: the xlsx reader produced 559 row\(s\) with values "
                                          r"from sheet row 1 on, but the sheet holds 560 \(last: row 560\)"):
        pull(source("vetting", "vetting.xlsx"), tmp_path)


def test_uncached_formula_is_quarantined_the_same_on_the_vectorised_and_the_per_cell_path(tmp_path):
    """The columnar parser and the reference per-cell parser give one outcome for a formula cell."""
    from connectors.parse import CellContext
    from connectors.vector import parse_column, reference_column
    from connectors.xlsx_source import UncachedFormula

    ctx = CellContext(date_formats=["%d/%m/%Y"])
    cells = ["01/01/2020", UncachedFormula("=DATE(2020,1,1)"), None, datetime(2021, 1, 1),
             UncachedFormula("=DATE(2020,1,1)")]
    for ftype in ("date", "string", "money", "enum", "int", "number", "bool", "hash"):
        fast = parse_column(cells, ftype, "f", ("a",), ctx)
        slow = reference_column(cells, ftype, "f", ("a",), ctx)
        assert fast.errors == slow.errors, ftype
        assert fast.errors[1] == fast.errors[4] == UNCACHED, ftype
        assert fast.values.isna()[[1, 4]].all(), ftype
        pd.testing.assert_series_equal(fast.values, slow.values)


def _sample_sources_but(name: str) -> list[SourceConfig]:
    """The sample's other sources, with paths that work from any folder."""
    out = []
    for s in SETTINGS.sources:
        if s.name == name:
            continue
        update = {"path": str(ROOT / s.path)} if s.path else {}
        if s.url and s.url.startswith("sqlite:///") and not s.url.startswith("sqlite:////"):
            update["url"] = "sqlite:///" + str(ROOT / s.url[len("sqlite:///"):])
        out.append(s.model_copy(update=update))
    return out


def test_an_empty_source_fails_and_the_rules_over_its_register_do_not_run(tmp_path):
    """The only vetting source reads 0 rows: it fails (the run is partial), and no rule over vetting
    runs, so the `absent` rules cannot accuse every post holder of holding no clearance."""
    from audit.pipeline import _with_sources, load_rule_set

    _vetting(_header_only)(tmp_path)
    load = load_sources([source("vetting", "vetting.xlsx")] + _sample_sources_but("vetting"), tmp_path)
    assert [f.source for f in load.failures] == ["vetting"] and not load.complete
    assert "read 0 rows" in load.failures[0].message
    compiled, rules, _ = load_rule_set(SETTINGS)
    kept, _, notes = _with_sources(compiled, rules, load)
    vetting_rules = {c.name for c in compiled if "vetting" in c.registers}
    assert vetting_rules and not vetting_rules & {c.name for c in kept}
    absent = {r.name for r in rules if r.match.kind == "absent" and "vetting" in r.registers}
    assert absent and any(all(name in note for name in absent) for note in notes), notes


def test_one_of_two_sources_of_a_register_empty(tmp_path):
    """gifts_hospitality has two sources. When one reads 0 rows it fails (the run is partial and says
    so) and the other still loads. Whether the register's rules then run on the other source's rows
    is the pipeline's decision (audit/pipeline.py `_with_sources`); either way no gift rule is left
    out without a note naming it."""
    from audit.pipeline import _with_sources, load_rule_set

    (tmp_path / "gifts.csv").write_text(HEADER + "\n", encoding="utf-8")
    load = load_sources([source("gifts", "gifts.csv")] + _sample_sources_but("gifts"), tmp_path)
    assert [f.source for f in load.failures] == ["gifts"] and not load.complete
    assert "read 0 rows" in load.failures[0].message
    assert len(load.by_register()["gifts_hospitality"]) == next(
        f.rows_accepted for f in load.frames if f.source == "gifts_divisional") > 0
    compiled, rules, _ = load_rule_set(SETTINGS)
    kept, _, notes = _with_sources(compiled, rules, load)
    gift_rules = {c.name for c in compiled if "gifts_hospitality" in c.registers}
    left_out = gift_rules - {c.name for c in kept}
    assert all(any(name in note for note in notes) for name in left_out), (left_out, notes)


def test_quoted_line_breaks_and_doubled_quotes_are_read_as_written(tmp_path):
    (tmp_path / "gifts.csv").write_text(_quoted_line_breaks(), encoding="utf-8")
    frame = pull(source("gifts", "gifts.csv"), tmp_path)
    by_row = dict(zip(frame.df["_row"].astype(int), frame.df["description"]))
    # record numbers, as Excel shows them: the two-line cell is one row
    assert by_row[11] == "Flowers\nand a card" and by_row[12] == 'Said "thanks", twice'
    assert frame.df["_row"].max() <= N + 1
