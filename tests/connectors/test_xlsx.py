"""XLSX connector: typed cells, sheet rows, cached formula values, broken files."""
from __future__ import annotations

from datetime import datetime

import openpyxl
import pytest

from connectors import SourceError, pull

from connector_helpers import procurement_source, reasons


def workbook(path, rows, sheet="Spend", preamble=()):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    wb.create_sheet("Notes")["A1"] = "nothing here"
    for line in preamble:
        ws.append([line])
    for r in rows:
        ws.append(r)
    return wb, ws


HEAD = ["Trans", "Line", "Date", "Amount", "Supplier", "Type", "Bank"]


def test_typed_cells_become_canonical_values(tmp_path):
    wb, ws = workbook(tmp_path, [HEAD,
                                 [417.0, 1, datetime(2017, 10, 10), 834.29, "=SUM(A1)", "INV", None],
                                 [418, 2.0, 43018, -12.5, "Acme", "crn", None],
                                 [419, 1, "10/10/2017", "(3.00)", "Acme", "inv", None]],
                      preamble=["Spend over £500"])
    ws["A5"].number_format = "000000"
    ws["E3"].data_type = "s"  # literal text "=SUM(A1)", as Excel stores a cell typed as text
    wb.save(tmp_path / "spend.xlsx")
    f = pull(procurement_source("spend.xlsx", kind="xlsx", sheet="Spend", skip_rows=1), tmp_path)
    assert f.reconciles() and f.rows_quarantined == 0
    df = f.df
    assert df["transaction_id"].tolist() == ["417", "418", "000419"]
    assert df["line_no"].tolist() == ["1", "2", "1"]
    assert df["net_amount"].tolist() == [83429, -1250, -300]
    assert df["transaction_date"].dt.strftime("%Y-%m-%d").tolist() == ["2017-10-10"] * 3
    assert df["supplier_name"][0] == "=SUM(A1)"  # a string that looks like a formula is data
    assert df["_row"].tolist() == [3, 4, 5]  # sheet rows (preamble row 1, header row 2)


def test_formula_cells_give_cached_values(tmp_path):
    # openpyxl cannot compute formulas: save a formula, then patch the sheet XML to hold the
    # cached result Excel would have written.
    import zipfile

    wb, ws = workbook(tmp_path, [HEAD, [1, 1, "10/10/2017", "=2+3", "A", "inv", None]])
    wb.save(tmp_path / "f.xlsx")
    src = zipfile.ZipFile(tmp_path / "f.xlsx")
    out = zipfile.ZipFile(tmp_path / "cached.xlsx", "w")
    for item in src.infolist():
        data = src.read(item.filename)
        if item.filename == "xl/worksheets/sheet1.xml":
            assert b"<f>2+3</f><v />" in data
            data = data.replace(b"<f>2+3</f><v />", b"<f>2+3</f><v>5</v>")
        out.writestr(item, data)
    out.close()
    f = pull(procurement_source("cached.xlsx", kind="xlsx"), tmp_path)
    assert f.df["net_amount"].tolist() == [500]


def test_bad_cells_quarantined_with_sheet_rows(tmp_path):
    wb, _ = workbook(tmp_path, [HEAD, [1, 1, "not a date", 5, "A", "inv", None],
                                [None, 1, datetime(2020, 1, 1), "x", "A", "inv", None],
                                [3, 1, datetime(2020, 1, 1), 5, "A", "inv", None]])
    wb.save(tmp_path / "bad.xlsx")
    f = pull(procurement_source("bad.xlsx", kind="xlsx"), tmp_path)
    assert (f.rows_read, f.rows_accepted, f.rows_quarantined) == (3, 1, 2)
    got = reasons(f)
    assert [g[:2] for g in got] == [(2, "Date"), (3, "Amount"), (3, "Trans")]
    assert got[2][2] == "required field is blank"


def test_sheet_by_index_and_unknown_sheet(tmp_path):
    wb, _ = workbook(tmp_path, [HEAD, [1, 1, "10/10/2017", 5, "A", "inv", None]])
    wb.save(tmp_path / "s.xlsx")
    assert pull(procurement_source("s.xlsx", kind="xlsx", sheet=0), tmp_path).rows_accepted == 1
    with pytest.raises(SourceError, match="has no sheet 'Missing'; its sheets are: Spend, Notes"):
        pull(procurement_source("s.xlsx", kind="xlsx", sheet="Missing"), tmp_path)
    with pytest.raises(SourceError, match="no sheet number 5"):
        pull(procurement_source("s.xlsx", kind="xlsx", sheet=5), tmp_path)


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_xlsx_is_a_clear_error(tmp_path, cut):
    wb, _ = workbook(tmp_path, [HEAD] + [[i, 1, "10/10/2017", 5, "A", "inv", None] for i in range(500)])
    wb.save(tmp_path / "whole.xlsx")
    data = (tmp_path / "whole.xlsx").read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(SourceError, match="cut.xlsx: not a readable xlsx file"):
        pull(procurement_source("cut.xlsx", kind="xlsx"), tmp_path)


def test_csv_renamed_as_xlsx_and_empty_file(tmp_path):
    (tmp_path / "fake.xlsx").write_text("Trans,Date\n1,2\n")
    with pytest.raises(SourceError, match="not a readable xlsx file"):
        pull(procurement_source("fake.xlsx", kind="xlsx"), tmp_path)
    (tmp_path / "empty.xlsx").write_bytes(b"")
    with pytest.raises(SourceError, match="empty"):
        pull(procurement_source("empty.xlsx", kind="xlsx"), tmp_path)
