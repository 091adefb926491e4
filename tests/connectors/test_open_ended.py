""""No end date" sentinels (31/12/9999 and similar) in open-ended date fields are read as blank and
counted, never quarantined; in any other date field they stay quarantined. CSV, XLSX and SQL."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from audit import registers
from audit.cli import app
from connectors import SourceConfig, SourceError, pull
from connectors.parse import OPEN_END, CellError, make_date_parser

from connector_helpers import reasons

NOTE = "read as open-ended (9999-12-31 and similar)"
WORKFORCE = {"Employee No": "person_id", "Forename": "first_name", "Surname": "last_name",
             "Date of Birth": "date_of_birth", "Leaving Date": "end_date"}
WF_HEAD = ["Employee No", "Forename", "Surname", "Date of Birth", "Leaving Date"]
GIFTS = {"Ref": "record_id", "Person": "person_id", "Offered": "offered_date", "Donor": "donor_name",
         "Kind": "kind", "Outcome": "outcome"}
GIFT_HEAD = ["Ref", "Person", "Offered", "Donor", "Kind", "Outcome"]


def workforce(path: str, **kw) -> SourceConfig:
    spec = dict(name="hr", register="workforce", kind="csv", path=path, columns=dict(WORKFORCE))
    spec.update(kw)
    return SourceConfig(**spec)


def gifts(path: str, **kw) -> SourceConfig:
    return SourceConfig(name="gifts", register="gifts_hospitality", kind=kw.pop("kind", "csv"), path=path,
                        columns=dict(GIFTS), **kw)


def csv_text(head: list[str], rows: list[list[str]]) -> str:
    return "\n".join(",".join(r) for r in [head] + rows) + "\n"


def end_dates(frame) -> list[str | None]:
    return [None if pd.isna(d) else d.strftime("%Y-%m-%d") for d in frame.df["end_date"]]


# ---- the dictionary -------------------------------------------------------------------------

def test_end_expiry_and_review_due_dates_are_the_open_ended_fields():
    marked = {(r.name, f.name) for r in registers.registers().values() for f in r.fields.values()
              if f.open_ended}
    assert marked == {("workforce", "end_date"), ("vetting", "expiry_date"), ("vetting", "next_review_due"),
                      ("business_interests", "review_due_date"), ("absence", "end_date"),
                      ("record_subjects", "assigned_to")}
    assert not registers.get("gifts_hospitality").field("offered_date").open_ended


def test_open_ended_is_refused_on_a_field_that_is_not_a_date():
    bad = {"registers": {"x": {"kind": "state", "fields": [
        {"name": "a", "type": "string", "open_ended": True}]}}}
    with pytest.raises(registers.DictionaryError, match="x.a: open_ended is for date fields, not string"):
        registers._parse(bad, "test.toml")


# ---- the cell parser ------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["31/12/9999", "9999-12-31", "9999-12-31 00:00:00", "9999-12-31T23:59:59",
                                 "01/01/3000", "31/12/2999", "12/04/2262", datetime(9999, 12, 31),
                                 date(9999, 12, 31), 2_958_465, 2_958_465.0])
def test_sentinels_in_an_open_ended_field_are_open(raw):
    assert make_date_parser(["%d/%m/%Y"], open_ended=True)(raw) is OPEN_END
    with pytest.raises(CellError, match="outside the dates this tool can hold"):
        make_date_parser(["%d/%m/%Y"])(raw)


def test_real_dates_stay_dates_and_a_force_can_name_its_own_sentinel():
    parse = make_date_parser(["%d/%m/%Y"], open_ended=True, open_end_dates=frozenset({date(2100, 1, 1)}))
    assert parse("31/12/2261") == date(2261, 12, 31)
    assert parse("01/01/2262") is OPEN_END  # the cutoff is a whole year, though pandas holds to 11 April
    assert parse("30/06/2026") == date(2026, 6, 30)
    assert parse("02/01/2100") == date(2100, 1, 2)
    assert parse("01/01/2100") is OPEN_END
    assert make_date_parser(["%d/%m/%Y"])("01/01/2100") == date(2100, 1, 1)
    with pytest.raises(CellError, match="not a date"):
        parse("31/12/99999")


# ---- CSV ------------------------------------------------------------------------------------

def test_csv_sentinels_in_leaving_date_are_blank_counted_and_noted(tmp_path, write):
    name = write(csv_text(WF_HEAD, [
        ["1", "Ann", "Lee", "01/02/1980", "31/12/9999"],
        ["2", "Bob", "Roe", "01/02/1981", "9999-12-31"],
        ["3", "Cy", "Poe", "01/02/1982", "9999-12-31 00:00:00"],
        ["4", "Di", "Fox", "01/02/1983", "01/01/3000"],
        ["5", "Ed", "Cox", "01/02/1984", "30/06/2026"],
        ["6", "Flo", "Kay", "01/02/1985", ""],
        ["7", "", "Ray", "01/02/1986", "31/12/9999"],  # quarantined for its blank first name
        ["8", "Gus", "May", "31/12/9999", ""],  # a date of birth is not open-ended
    ]), "hr.csv")
    f = pull(workforce(name), tmp_path)
    assert f.reconciles() and (f.rows_read, f.rows_accepted, f.rows_quarantined) == (8, 6, 2)
    assert f.df["person_id"].tolist() == ["1", "2", "3", "4", "5", "6"]
    assert end_dates(f) == [None, None, None, None, "2026-06-30", None]
    assert f.open_ended == {"end_date": 4}  # accepted rows only: row 7 is in quarantine
    assert f.provenance.files[0].open_ended == {"end_date": 4}
    assert f"4 cell(s) in end_date {NOTE}" in f.provenance.warnings
    assert reasons(f) == [
        (8, "Forename", "required field is blank"),
        (9, "Date of Birth", "'31/12/9999' is outside the dates this tool can hold (1677-09-22 to 2262-04-11)")]


def test_csv_sentinel_in_a_field_that_is_not_open_ended_stays_quarantined(tmp_path, write):
    name = write(csv_text(GIFT_HEAD, [["G1", "1", "31/12/9999", "Acme", "gift", "accepted"],
                                      ["G2", "1", "01/06/2026", "Acme", "gift", "accepted"]]), "gifts.csv")
    f = pull(gifts(name), tmp_path)
    assert (f.rows_accepted, f.rows_quarantined) == (1, 1) and f.open_ended == {}
    assert reasons(f) == [(2, "Offered", "'31/12/9999' is outside the dates this tool can hold "
                                         "(1677-09-22 to 2262-04-11)")]
    assert not any(NOTE in w for w in f.provenance.warnings)


def test_no_sentinels_no_note(tmp_path, write):
    name = write(csv_text(WF_HEAD, [["1", "Ann", "Lee", "01/02/1980", ""]]), "hr.csv")
    f = pull(workforce(name), tmp_path)
    assert f.open_ended == {} and f.provenance.files[0].open_ended == {}
    assert not any(NOTE in w for w in f.provenance.warnings)


def test_globbed_files_count_per_file_and_per_source(tmp_path, write):
    write(csv_text(WF_HEAD, [["1", "Ann", "Lee", "", "31/12/9999"]]), "hr/a.csv")
    write(csv_text(WF_HEAD, [["2", "Bob", "Roe", "", "31/12/9999"], ["3", "Cy", "Poe", "", "01/01/3000"]]),
          "hr/b.csv")
    f = pull(workforce("hr/*.csv"), tmp_path)
    assert [i.open_ended for i in f.provenance.files] == [{"end_date": 1}, {"end_date": 2}]
    assert f.open_ended == {"end_date": 3}
    assert f"3 cell(s) in end_date {NOTE}" in f.provenance.warnings


def test_a_force_can_list_its_own_sentinel(tmp_path, write):
    name = write(csv_text(WF_HEAD, [["1", "Ann", "Lee", "01/01/2100", "01/01/2100"],
                                    ["2", "Bob", "Roe", "", "02/01/2100"]]), "hr.csv")
    f = pull(workforce(name, open_end_dates=["01/01/2100"]), tmp_path)
    assert end_dates(f) == [None, "2100-01-02"]
    assert f.df["date_of_birth"][0] == pd.Timestamp("2100-01-01")  # only open-ended fields
    assert f.open_ended == {"end_date": 1}


def test_own_sentinels_that_are_not_dates_or_apply_nowhere_are_config_errors(tmp_path, write):
    name = write(csv_text(WF_HEAD, [["1", "Ann", "Lee", "", ""]]), "hr.csv")
    with pytest.raises(SourceError, match=r"open_end_dates: 'never' is not a date in any of the formats"):
        pull(workforce(name, open_end_dates=["never"]), tmp_path)
    no_end = {h: f for h, f in WORKFORCE.items() if f != "end_date"}
    with pytest.raises(SourceError, match="open_end_dates: no open-ended date field of register 'workforce' "
                                          r"is mapped, so they would change nothing \(its open-ended fields: "
                                          "end_date\\)"):
        pull(workforce(name, columns=no_end, open_end_dates=["01/01/2100"]), tmp_path)
    gift = write(csv_text(GIFT_HEAD, []), "gifts.csv")
    with pytest.raises(SourceError, match=r"its open-ended fields: none"):
        pull(gifts(gift, open_end_dates=["01/01/2100"]), tmp_path)


# ---- XLSX -----------------------------------------------------------------------------------

def test_xlsx_datetime_and_serial_sentinels(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(WF_HEAD)
    ws.append([1, "Ann", "Lee", datetime(1980, 2, 1), datetime(9999, 12, 31)])
    ws.append([2, "Bob", "Roe", datetime(1981, 2, 1), 2_958_465])  # the serial, as a number cell
    ws.append([3, "Cy", "Poe", datetime(1982, 2, 1), datetime(2026, 6, 30)])
    ws.append([4, "Di", "Fox", datetime(9999, 12, 31), None])
    wb.save(tmp_path / "hr.xlsx")
    f = pull(workforce("hr.xlsx", kind="xlsx"), tmp_path)
    assert (f.rows_accepted, f.rows_quarantined) == (3, 1)
    assert end_dates(f) == [None, None, "2026-06-30"]
    assert f.open_ended == {"end_date": 2}
    assert reasons(f) == [(5, "Date of Birth", "'9999-12-31' is outside the dates this tool can hold "
                                               "(1677-09-22 to 2262-04-11)")]

    wb = openpyxl.Workbook()
    wb.active.append(GIFT_HEAD)
    wb.active.append(["G1", "1", datetime(9999, 12, 31), "Acme", "gift", "accepted"])
    wb.save(tmp_path / "gifts.xlsx")
    g = pull(gifts("gifts.xlsx", kind="xlsx"), tmp_path)
    assert (g.rows_accepted, g.rows_quarantined) == (0, 1) and g.open_ended == {}
    assert "outside the dates this tool can hold" in reasons(g)[0][2]


# ---- SQL ------------------------------------------------------------------------------------

def _workforce_table(url: str) -> str:
    """A workforce table with a DATE leaving date holding 9999-12-31; returns its name."""
    name = f"ia_open_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    table = sa.Table(name, meta, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("emp", sa.String(10)), sa.Column("forename", sa.String(20)),
                     sa.Column("surname", sa.String(20)), sa.Column("dob", sa.Date),
                     sa.Column("leaving", sa.Date))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [
            dict(id=1, emp="1", forename="Ann", surname="Lee", dob=date(1980, 2, 1), leaving=date(9999, 12, 31)),
            dict(id=2, emp="2", forename="Bob", surname="Roe", dob=date(1981, 2, 1), leaving=date(2026, 6, 30)),
            dict(id=3, emp="3", forename="Cy", surname="Poe", dob=date(9999, 12, 31), leaving=None)])
    engine.dispose()
    return name


def _check_sql(url: str, tmp_path) -> None:
    name = _workforce_table(url)
    try:
        cols = {"emp": "person_id", "forename": "first_name", "surname": "last_name", "dob": "date_of_birth",
                "leaving": "end_date"}
        f = pull(SourceConfig(name="hr", register="workforce", kind="sql", url=url,
                              query=f"SELECT * FROM {name} ORDER BY id", columns=cols), tmp_path)
        assert (f.rows_accepted, f.rows_quarantined) == (2, 1)
        assert end_dates(f) == [None, "2026-06-30"]
        assert f.open_ended == {"end_date": 1}
        assert f"1 cell(s) in end_date {NOTE}" in f.provenance.warnings
        assert reasons(f) == [(3, "dob", "'9999-12-31' is outside the dates this tool can hold "
                                         "(1677-09-22 to 2262-04-11)")]
    finally:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            sa.Table(name, sa.MetaData(), autoload_with=conn).drop(conn)
        engine.dispose()


def test_sqlite_date_sentinel(tmp_path):
    _check_sql(f"sqlite:///{tmp_path / 'hr.db'}", tmp_path)


@pytest.mark.db
def test_postgresql_date_sentinel(pg_url, tmp_path):
    _check_sql(pg_url, tmp_path)


@pytest.mark.db
def test_postgresql_infinity_is_open_in_an_open_ended_field_and_quarantined_elsewhere(pg_url, tmp_path):
    """'infinity' dates used to fail the whole source in the driver ("date too large")."""
    name = f"ia_inf_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {name} (id int PRIMARY KEY, emp text, forename text, surname text, "
                             "dob date, leaving date, seen timestamptz)")
        conn.exec_driver_sql(f"INSERT INTO {name} VALUES (1, '1', 'Ann', 'Lee', '1980-02-01', 'infinity', now()), "
                             f"(2, '2', 'Bob', 'Roe', '1981-02-01', '2026-06-30', 'infinity'), "
                             f"(3, '3', 'Cy', 'Poe', '-infinity', NULL, '-infinity')")
    try:
        cols = {"emp": "person_id", "forename": "first_name", "surname": "last_name", "dob": "date_of_birth",
                "leaving": "end_date"}
        f = pull(SourceConfig(name="hr", register="workforce", kind="sql", url=pg_url,
                              query=f"SELECT * FROM {name} ORDER BY id", columns=cols), tmp_path)
        assert (f.rows_read, f.rows_accepted, f.rows_quarantined) == (3, 2, 1)
        assert end_dates(f) == [None, "2026-06-30"] and f.open_ended == {"end_date": 1}
        assert [(row, field) for row, field, _why in reasons(f)] == [(3, "dob")]
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE {name}")
        engine.dispose()


@pytest.mark.db
def test_mariadb_date_sentinel(mariadb_url, tmp_path):
    _check_sql(mariadb_url, tmp_path)


# ---- what the user sees -----------------------------------------------------------------------

def test_sources_check_says_how_many_cells_were_read_as_open_ended(tmp_path, write):
    write(csv_text(WF_HEAD, [["1", "Ann", "Lee", "", "31/12/9999"], ["2", "Bob", "Roe", "", "01/01/2100"]]),
          "hr.csv")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[sources]]\nname = "hr"\nregister = "workforce"\nkind = "csv"\npath = "hr.csv"\n'
                   'open_end_dates = ["01/01/2100"]\n'
                   '[sources.columns]\n' + "".join(f'"{h}" = "{f}"\n' for h, f in WORKFORCE.items()))
    text = CliRunner().invoke(app, ["sources", "check", "--config", str(cfg)])
    assert text.exit_code == 0, text.output
    assert f"hr: 2 cell(s) in end_date {NOTE}" in " ".join(text.output.split())
    data = json.loads(CliRunner().invoke(app, ["sources", "check", "--config", str(cfg), "--json"]).stdout)
    (hr,) = data["sources"]
    assert (hr["rows_accepted"], hr["rows_quarantined"]) == (2, 0)
    assert f"2 cell(s) in end_date {NOTE}" in hr["warnings"]
    assert hr["files"][0]["open_ended"] == {"end_date": 2}
