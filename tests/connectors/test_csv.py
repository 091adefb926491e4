"""CSV connector on good input and a corpus of bad inputs: clear errors, quarantine, reconciliation."""
from __future__ import annotations

import pandas as pd
import pytest

from connectors import SourceConfig, SourceError, pull
from connectors.parse import DEV_KEY_WARNING

from connector_helpers import HEADER, procurement_source, reasons


def load(tmp_path, name, **kw):
    frame = pull(procurement_source(name, **kw), tmp_path)
    assert frame.reconciles()
    assert frame.df["fact_id"].is_unique
    return frame


def test_good_file_canonical_values_dtypes_and_meta(tmp_path, write, monkeypatch):
    monkeypatch.delenv("INTEGRITY_AUDIT_HASH_KEY", raising=False)
    name = write(HEADER + "000417,1,10/10/2017,\"£1,234.50\",Acme Ltd,INV,12-34-56 12345678\n"
                          "000418,2,2017-10-11,(12.50),,crn,\n")
    f = load(tmp_path, name)
    assert (f.rows_read, f.rows_accepted, f.rows_quarantined) == (2, 2, 0)
    df = f.df
    assert df["transaction_id"].tolist() == ["000417", "000418"]
    assert df["net_amount"].tolist() == [123450, -1250]
    assert df["transaction_date"].dt.strftime("%Y-%m-%d").tolist() == ["2017-10-10", "2017-10-11"]
    assert df["transaction_type"].tolist() == ["invoice", "credit"]
    assert df["supplier_name"].tolist()[1] is None
    assert len(df["supplier_bank_hash"][0]) == 64 and "12345678" not in df["supplier_bank_hash"][0]
    assert df["_row"].tolist() == [2, 3] and df["_file"].tolist() == ["spend.csv"] * 2
    assert df["fact_id"][0].startswith("spend:2:")
    assert str(df["net_amount"].dtype) == "Int64" and str(df["transaction_date"].dtype) == "datetime64[ns]"
    assert df["transaction_id"].dtype == object
    assert DEV_KEY_WARNING in f.provenance.warnings
    assert len(f.provenance.files[0].sha256) == 64


def test_hash_key_from_environment_changes_hash_and_drops_warning(tmp_path, write, monkeypatch):
    name = write(HEADER + "1,1,10/10/2017,1,A,INV,12345678\n")
    monkeypatch.delenv("INTEGRITY_AUDIT_HASH_KEY", raising=False)
    dev = load(tmp_path, name)
    monkeypatch.setenv("INTEGRITY_AUDIT_HASH_KEY", "force-secret")
    real = load(tmp_path, name)
    assert dev.df["supplier_bank_hash"][0] != real.df["supplier_bank_hash"][0]
    assert DEV_KEY_WARNING not in real.provenance.warnings


def test_fact_ids_stable_and_distinct_for_identical_rows(tmp_path, write):
    name = write(HEADER + "1,1,10/10/2017,5,A,INV,\n1,1,10/10/2017,5,A,INV,\n")
    a, b = load(tmp_path, name), load(tmp_path, name)
    assert a.df["fact_id"].tolist() == b.df["fact_id"].tolist()
    assert a.df["fact_id"].nunique() == 2


def test_cp1252_read_as_utf8_says_set_encoding(tmp_path, write):
    name = write(HEADER + "1,1,10/10/2017,5,Caf\u00e9 \u00a3 Ltd,INV,\n", encoding="cp1252")
    with pytest.raises(SourceError, match='set encoding = "cp1252"') as e:
        load(tmp_path, name)
    assert "line 2" in str(e.value) and "spend.csv" in str(e.value)
    f = load(tmp_path, name, encoding="cp1252")
    assert f.df["supplier_name"][0] == "Caf\u00e9 \u00a3 Ltd"


def test_bom_is_not_part_of_the_first_header(tmp_path, write):
    name = write(b"\xef\xbb\xbf" + (HEADER + "1,1,10/10/2017,5,A,INV,\n").encode())
    assert load(tmp_path, name).df["transaction_id"].tolist() == ["1"]


def test_preamble_lines_and_row_numbers(tmp_path, write):
    name = write("Spend over 500\nPublished 2024\n\n" + HEADER + "1,1,10/10/2017,5,A,INV,\n"
                 "2,1,bad,5,A,INV,\n")
    f = load(tmp_path, name, skip_rows=3)
    assert f.df["_row"].tolist() == [5]
    assert reasons(f) == [(6, "Date", "'bad' is not a date in any of the formats: %d/%m/%Y, %Y-%m-%d, "
                                      "ISO yyyy-mm-dd, Excel serial number")]


def test_missing_required_column_names_header_field_and_source(tmp_path, write):
    name = write("Trans,Line,Amount\n1,1,5\n")
    with pytest.raises(SourceError) as e:
        load(tmp_path, name)
    msg = str(e.value)
    assert "'spend'" in msg and "'Date'" in msg and "transaction_date" in msg and "header row has" in msg


def test_unmapped_required_field_is_a_config_error(tmp_path, write):
    name = write(HEADER + "1,1,10/10/2017,5,A,INV,\n")
    cols = {"Trans": "transaction_id", "Date": "transaction_date"}
    with pytest.raises(SourceError, match="required field 'net_amount' is not mapped"):
        load(tmp_path, name, columns=cols)
    with pytest.raises(SourceError, match="'nett' is not a field"):
        load(tmp_path, name, columns={**cols, "Amount": "nett"})
    with pytest.raises(SourceError, match="is not one of order, invoice"):
        load(tmp_path, name, values={"transaction_type": {"INV": "bill"}})


def test_duplicate_headers_mapped_is_error_unmapped_is_ignored(tmp_path, write):
    name = write("Trans,Date,Amount,Amount\n1,10/10/2017,5,6\n", "dup1.csv")
    with pytest.raises(SourceError, match="'Amount' occur more than once"):
        load(tmp_path, name)
    name = write("Trans,Date,Amount,Notes,notes\n1,10/10/2017,5,a,b\n", "dup2.csv")
    cols = {"Trans": "transaction_id", "Date": "transaction_date", "Amount": "net_amount"}
    f = load(tmp_path, name, columns=cols)
    assert f.rows_accepted == 1
    assert any("occurs 2 times" in w for w in f.provenance.warnings)


def test_empty_file_is_an_error_header_only_is_refused_unless_allowed(tmp_path, write):
    with pytest.raises(SourceError, match=r"file is empty \(0 bytes\)"):
        load(tmp_path, write(b"", "empty.csv"))
    with pytest.raises(SourceError, match=r"header.csv has a header row but read 0 rows"):
        load(tmp_path, write(HEADER, "header.csv"))
    f = load(tmp_path, "header.csv", allow_empty=True)
    assert (f.rows_read, f.rows_accepted, f.rows_quarantined) == (0, 0, 0)
    assert list(f.df.columns)[-4:] == ["fact_id", "_source", "_file", "_row"]


def test_bad_dates_amounts_and_required_blanks_are_quarantined_one_line_per_problem(tmp_path, write):
    name = write(HEADER +
                 "1,1,10/10/2017,5.00,A,INV,\n"      # good
                 "2,1,32/10/2017,abc,A,INV,\n"       # two problems, one row
                 "3,1,10/10/2017,,A,INV,\n"          # required amount blank
                 "4,1,10/10/2017,1.999,A,INV,\n"     # sub-penny
                 "5,1,10/10/2017,-7.25,A,banana,\n"  # enum not known
                 "6,1,10/10/2017,(7.25),A,crn,\n")   # bracketed credit: good
    f = load(tmp_path, name)
    assert (f.rows_read, f.rows_accepted, f.rows_quarantined) == (6, 2, 4)
    assert f.df["net_amount"].tolist() == [500, -725]
    got = reasons(f)
    assert len(got) == 5
    assert got[0][:2] == (3, "Amount") and "not an amount" in got[0][2]
    assert got[1][:2] == (3, "Date") and "not a date" in got[1][2]
    assert got[2] == (4, "Amount", "required field is blank")
    assert got[3][:2] == (5, "Amount") and "fractions of a penny" in got[3][2]
    assert got[4] == (6, "Type", "value 'banana' is not one of order, invoice, payment, credit "
                                 "(map it in the source's values.transaction_type)")
    assert f.quarantine.loc[f.quarantine["row"] == 6, "value"].tolist() == ["banana"]


def test_redacted_optional_is_missing_redacted_required_is_quarantined(tmp_path, write):
    name = write(HEADER + "1,1,10/10/2017,5,REDACTED PERSONAL DATA,INV,\n"
                          "Redacted Personal Data,1,10/10/2017,5,A,INV,\n")
    f = load(tmp_path, name)
    assert f.df["supplier_name"].tolist() == [None]
    assert reasons(f) == [(3, "Trans", "redacted in a required field")]


def test_very_long_field_and_extra_cells(tmp_path, write):
    long = "x" * 10_001
    name = write(HEADER + f"1,1,10/10/2017,5,{long},INV,\n" + "2,1,10/10/2017,5,A,INV,,surprise\n"
                 + "3,1,10/10/2017,5,A,INV,,\n")
    f = load(tmp_path, name)
    assert f.df["transaction_id"].tolist() == ["3"]  # a trailing empty cell is harmless
    got = reasons(f)
    assert got[0][:2] == (2, "Supplier") and got[0][2] == "longer than 10,000 characters (10,001)"
    assert got[1][:2] == (3, "(row)") and "8 cells but the header has 7" in got[1][2]
    shown = f.quarantine.loc[f.quarantine["row"] == 2, "value"].iloc[0]
    assert len(shown) < 300 and "10,001 characters" in shown


def test_extra_columns_are_ignored_and_listed(tmp_path, write):
    name = write("Notes," + HEADER.replace("\n", ",Cost Centre\n") + "n,1,1,10/10/2017,5,A,INV,,CC1\n")
    f = load(tmp_path, name)
    assert f.rows_accepted == 1
    assert f.provenance.ignored_columns == ["spend.csv: Notes", "spend.csv: Cost Centre"]


@pytest.mark.parametrize("cell", ["=1+1", "+44 1234", "-HYPERLINK", "@SUM(A1)", "=cmd|' /C calc'!A0"])
def test_formula_like_cells_are_kept_literally(tmp_path, write, cell):
    name = write(HEADER + f"1,1,10/10/2017,5,\"{cell}\",INV,\n")
    assert load(tmp_path, name).df["supplier_name"].tolist() == [cell]


def test_glob_over_files_keeps_each_files_rows(tmp_path, write):
    write(HEADER + "1,1,10/10/2017,5,A,INV,\n", "m/2017-10.csv")
    write(HEADER + "1,1,10/10/2017,5,A,INV,\nx,1,bad,5,A,INV,\n", "m/2017-11.csv")
    f = load(tmp_path, "m/*.csv")
    assert f.df["_file"].tolist() == ["m/2017-10.csv", "m/2017-11.csv"]
    assert f.df["_row"].tolist() == [2, 2]
    assert f.df["fact_id"].nunique() == 2  # same row number and content, different files
    assert f.quarantine[["file", "row"]].values.tolist() == [["m/2017-11.csv", 3]]
    assert [i.path for i in f.provenance.files] == ["m/2017-10.csv", "m/2017-11.csv"]
    with pytest.raises(SourceError, match="no file matches"):
        load(tmp_path, "nothing/*.csv")


def test_require_one_of_and_default_enum(tmp_path, write):
    name = write("Id,Offered,Donor,Kind,Outcome,Who,Name\n"
                 "G1,01/02/2024,Acme,Gift,Accepted,100,\n"
                 "G2,01/02/2024,Acme,Hospitality,Declined,,J Smith\n"
                 "G3,01/02/2024,Acme,Gift,Accepted,,\n")
    src = SourceConfig(name="gifts", register="gifts_hospitality", kind="csv", path=name,
                       columns={"Id": "record_id", "Offered": "offered_date", "Donor": "donor_name",
                                "Kind": "kind", "Outcome": "outcome", "Who": "person_id",
                                "Name": "person_name"})
    f = pull(src, tmp_path)
    assert f.reconciles() and f.df["record_id"].tolist() == ["G1", "G2"]
    assert f.df["kind"].tolist() == ["gift", "hospitality"]
    assert reasons(f) == [(4, "Who", "needs one of person_id, person_name; all are blank")]


def test_blank_lines_are_not_rows_but_are_reported(tmp_path, write):
    name = write(HEADER + "1,1,10/10/2017,5,A,INV,\n\n,,,,,,\n2,1,10/10/2017,5,A,INV,\n")
    f = load(tmp_path, name)
    assert f.df["_row"].tolist() == [2, 5]
    assert "spend.csv: 2 blank line(s) skipped" in f.provenance.warnings


def test_semicolon_delimiter(tmp_path, write):
    name = write(HEADER.replace(",", ";") + "1;1;10/10/2017;1.234,00;A;INV;\n")
    with pytest.raises(SourceError, match="missing column"):
        load(tmp_path, name)
    f = load(tmp_path, name, delimiter=";")
    assert f.quarantine["reason"].tolist() == ["'1.234,00' is not an amount (expected e.g. 1234.50, "
                                               "£1,234.50 or (12.50))"]
