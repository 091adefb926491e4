"""The row ledger's column-wise helpers give what the per-value definitions give (existing stores hold
their output: packed material values, hashes), and write() stores rows as the ORM would, inside the
caller's transaction, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select, text

from audit.period import Period
from audit.store import ledger
from audit.store.models import LedgerRow, LedgerSource

HOSTILE = {
    "amount": ["12", "", "7", "", "x\x1fy", "", "0"],
    "description": ["Café ☕ 東京", "", "a\x1eb", "", "\x1f", " ", "\x1e\x1e"],
    "person_id": ["P1", "", "", "\x1e\x1f", "", "", "P\ufffd"],
}


@pytest.mark.parametrize("index", [None, [10, 3, 7, 0, 1, 2, 99]])
def test_packed_is_pack_row_by_row(index):
    mat = pd.DataFrame(HOSTILE, index=index, dtype=object)
    got = ledger._packed(mat)
    assert list(got.index) == list(mat.index)
    for label, row in mat.iterrows():
        assert got[label] == ledger.pack(row.to_dict())
    assert ledger.unpack(got.iloc[0]) == {"amount": "12", "description": "Café ☕ 東京", "person_id": "P1"}
    assert got.iloc[1] == ""  # every value blank


def test_packed_of_no_rows_or_no_columns():
    assert list(ledger._packed(pd.DataFrame(HOSTILE, dtype=object).iloc[0:0])) == []
    assert list(ledger._packed(pd.DataFrame(index=range(3)))) == ["", "", ""]


def test_hash_is_that_of_hash_pandas_object():
    cols = {"a": np.array(["x", "", "é", "x"], dtype=object), "b": np.array(["1", "2", "", "1"], dtype=object)}
    want = [f"{v:016x}" for v in pd.util.hash_pandas_object(pd.DataFrame(cols), index=False)]
    got = ledger._hash([pd.util.hash_array(v) for v in cols.values()], 4)
    assert list(got) == want
    assert got[0] == got[3] and len(set(got)) == 3
    assert list(ledger._hash([], 2)) == ["0" * 16] * 2


def test_text_is_canonical_whatever_the_dtype():
    number = pd.Series([6, 6.0, None, " 7.0 ", "1.00", float("nan")], dtype=object)
    assert list(ledger._text(number, "number")) == ["6", "6", "", "7", "1.00", ""]
    assert list(ledger._text(pd.Series([1.5, None, 2.0], dtype="Float64"), "number")) == ["1.5", "", "2"]
    assert list(ledger._text(pd.Series([3, None], dtype="Int64"), "money")) == ["3", ""]
    assert list(ledger._text(pd.Series([" a ", None, "b\t", 5], dtype=object), "string")) == ["a", "", "b", "5"]
    days = pd.Series(pd.to_datetime(["2024-01-05", None, "2024-01-05", "1999-12-31"]))
    assert list(ledger._text(days, "date")) == ["2024-01-05", "", "2024-01-05", "1999-12-31"]
    assert list(ledger._text(pd.Series(["2024-02-03", "junk", None], dtype=object), "date")) == ["2024-02-03", "", ""]
    assert list(ledger._text(pd.Series([], dtype="datetime64[ns]"), "date")) == []


def _gifts(rows: list[tuple]) -> SimpleNamespace:
    df = pd.DataFrame(rows, columns=["record_id", "person_id", "offered_date", "declared_date", "donor_name",
                                     "estimated_value", "description"])
    for c in ("offered_date", "declared_date"):
        df[c] = pd.to_datetime(df[c])
    df["estimated_value"] = df["estimated_value"].astype("Int64")
    df["fact_id"] = ["F" + r for r in df["record_id"]]
    return SimpleNamespace(source="gifts", register="gifts_hospitality", df=df)


SEP_ROWS = [("G1", "P1", "2026-09-03", "2026-09-04", "Hotel ☕", 80, "hamper"),
            ("G2", "P2", None, "2026-08-01", "", None, "lunch"),
            ("G3", "P3", "2026-07-01", "2026-09-10", "Club\x1fBar", 20, ""),
            ("G4", "P4", "2026-08-01", "2026-08-02", "Firm", 5, "pen")]


def _ledger(store) -> dict[str, LedgerRow]:
    with store.read() as s:
        return {r.natural_key: r for r in s.execute(select(LedgerRow)).scalars()}


def test_write_stores_rows_as_the_orm_reads_them(store):
    sep = ledger.review(store, [_gifts(SEP_ROWS)], Period(2026, 9))
    with store.write() as s:
        assert ledger.write(s, sep, 1, store)["ledger_new"] == 4
    rows = _ledger(store)
    assert rows["G1"].event_date == date(2026, 9, 3) and rows["G2"].event_date is None
    assert (rows["G1"].source, rows["G1"].register, rows["G1"].first_run, rows["G1"].last_run) == \
        ("gifts", "gifts_hospitality", 1, 1)
    assert (rows["G1"].first_period, rows["G1"].content_period, rows["G1"].last_period) == ("2026-09",) * 3
    assert (rows["G1"].state, rows["G1"].before, rows["G1"].changed_period, rows["G1"].gone_period) == \
        ("present", None, None, None)
    assert ledger.unpack(rows["G3"].material)["donor_name"] == "Club\ufffdBar"
    assert ledger.unpack(rows["G1"].material)["donor_name"] == "Hotel ☕"
    if store.is_sqlite:  # as SQLAlchemy's Date stores it
        with store.read() as s:
            assert s.execute(text("SELECT event_date FROM row_ledger WHERE natural_key = 'G1'")).scalar() == \
                "2026-09-03"

    # October: G1 altered, G2 edited (a description is not material), G4 deleted, G5 new; G3 seen again
    oct_rows = [("G1", "P1", "2026-09-03", "2026-09-04", "Hotel ☕", 90, "hamper"),
                ("G2", "P2", None, "2026-08-01", "", None, "dinner"), SEP_ROWS[2],
                ("G5", "P5", "2026-10-01", "2026-10-02", "Shop", 9, "mug")]
    october = ledger.review(store, [_gifts(oct_rows)], Period(2026, 10))
    assert sorted((c.change, c.key) for c in october.changes) == [("altered", "G1"), ("deleted", "G4")]
    altered = next(c for c in october.changes if c.change == "altered")
    assert (altered.fields, altered.before["estimated_value"], altered.after["estimated_value"]) == \
        (["estimated_value"], "80", "90")
    assert altered.event_date == date(2026, 9, 3)
    assert set(october.fresh) == {"FG1", "FG5"}
    with store.write() as s:
        counts = ledger.write(s, october, 2, store)
    assert counts == {"ledger_new": 1, "ledger_changed": 2, "ledger_gone": 1}
    rows = _ledger(store)
    # the present rows were seen by October's run, said once for the source; the deleted row keeps
    # the period and run that last saw it
    with store.read() as s:
        assert s.execute(select(LedgerSource.last_period, LedgerSource.last_run)
                         .where(LedgerSource.source == "gifts")).one() == ("2026-10", 2)
    assert (rows["G4"].last_period, rows["G4"].last_run) == ("2026-09", 1)
    assert rows["G4"].state == "deleted" and rows["G5"].event_date == date(2026, 10, 1)
    assert (rows["G1"].changed_period, ledger.unpack(rows["G1"].before)["estimated_value"]) == ("2026-10", "80")


def test_write_rolls_back_with_the_run(store):
    review = ledger.review(store, [_gifts(SEP_ROWS)], Period(2026, 9))
    with pytest.raises(RuntimeError), store.write() as s:
        ledger.write(s, review, 1, store)
        raise RuntimeError("the run dies")
    with store.read() as s:
        assert s.execute(select(func.count()).select_from(LedgerRow)).scalar() == 0


@pytest.mark.parametrize("ftype", ["string", "number", "money", "date"])
def test_coded_text_reads_as_text_row_by_row(ftype):
    """Each distinct value is made text once (_coded_text); every row must read what _text gives it,
    including values that are equal but read differently (6 and 6.0 in one object column, 0.0 and -0.0)."""
    columns = [
        pd.Series([6, 6.0, None, " 7.0 ", "1.00", float("nan"), 6, True, 1], dtype=object),
        pd.Series([0.0, -0.0, float("nan"), 2.5, 0.0, -0.0, 1e21, 1e-7]),
        pd.Series([1.5, None, 2.0, 1.5, -0.0], dtype="Float64"),
        pd.Series([3, None, 3, 0], dtype="Int64"),
        pd.Series([3, 4, 3], dtype="int64"),
        pd.Series(["b ", None, "a", "b ", "", "a"], dtype="str"),
        pd.Series(["b", None, "b", float("nan")], dtype=object),
        pd.Series([None, None], dtype=object),
        pd.Series([True, False, True]),
        pd.Series(pd.to_datetime(["2024-01-05", None, "2024-01-05"])),
        pd.Series(["2024-02-03", "junk", None, "2024-02-03"], dtype=object),
        pd.Series([], dtype=object),
    ]
    for s in columns:
        codes, texts = ledger._coded_text(s, ftype)
        assert list(texts[codes]) == list(ledger._text(s, ftype)), (s.dtype, list(s))
