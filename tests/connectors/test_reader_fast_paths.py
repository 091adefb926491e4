"""The load's shortcuts give exactly what the general code gives.

* as_text takes str, int and plain floats first (row identity hashes every cell of SQL and xlsx
  rows through it): checked against the general conversion (Decimal of the float's repr) on floats
  of every magnitude and random bit patterns.
* parse_column looks at a column's cell types once: all text (a CSV column), no text at all, text
  mixed with blanks (None) and other types (SQL and xlsx columns); each case is checked against the
  per-cell reference parsers (test_vectorised_equivalence covers the cells themselves).
"""
from __future__ import annotations

import random
import struct
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
import pytest

from connectors.parse import CellContext, as_text
from connectors.vector import parse_column, reference_column


def _general_float_text(raw: float) -> str:
    """as_text's general conversion of a float (as it was before the shortcut)."""
    return str(int(raw)) if raw.is_integer() else format(Decimal(repr(raw)), "f")


def test_as_text_float_shortcut_matches_decimal_conversion():
    rnd = random.Random(16)
    floats = [rnd.uniform(-1e6, 1e6) for _ in range(5_000)]
    floats += [rnd.random() * 10 ** rnd.randint(-40, 40) for _ in range(5_000)]
    floats += [struct.unpack("d", struct.pack("Q", rnd.getrandbits(64)))[0] for _ in range(5_000)]
    floats += [0.1, -0.5, 1e-5, 1e15 + 0.5, 1e16, 1.5e300, 5e-324, 0.30000000000000004, float("inf"),
               float("-inf"), -0.0]
    checked = 0
    for raw in floats:
        if raw != raw:
            continue
        assert as_text(raw) == _general_float_text(raw), raw
        checked += 1
    assert checked > 14_000
    assert as_text(float("nan")) == ""
    assert as_text(float("inf")) == "Infinity" and as_text(1e-5) == "0.00001" and as_text(2.50) == "2.5"


def test_as_text_exact_types_and_their_subclasses_agree():
    class Label(str):
        pass

    assert as_text("  417 ") == "417" == as_text(Label("  417 "))
    assert as_text(417) == "417" and as_text(-3) == "-3"
    assert as_text(True) == "TRUE" and as_text(False) == "FALSE"  # bool is not taken as int
    assert as_text(None) == ""
    assert as_text(datetime(2024, 3, 1)) == "2024-03-01" and as_text(date(2024, 3, 1)) == "2024-03-01"


CTX = CellContext(date_formats=["%d/%m/%Y"], redacted=["REDACTED"])
COLUMNS = {
    "all text": ["12.50", " 3 ", "REDACTED", "", "x", "12.50", "(4.00)"],
    "no cells": [],
    "all blank": [None, None, None],
    "text and blanks": [None, "01/02/2024", None, "31/02/2024", " ", "REDACTED", None, "01/02/2024"],
    "no text": [12.5, 3, None, True, Decimal("1.10"), float("nan"), datetime(2024, 1, 2), date(2024, 1, 3), 45000],
    "everything": [None, "7", 7, 7.0, True, "", "REDACTED", Decimal("7"), float("nan"), "seven", datetime(2024, 1, 2),
                   "02/01/2024", None, "£1,234.56"],
}


@pytest.mark.parametrize("ftype", ["string", "money", "date", "int", "number", "bool", "hash", "enum"])
@pytest.mark.parametrize("name", list(COLUMNS))
def test_parse_column_by_cell_kinds_matches_reference(name, ftype):
    cells = COLUMNS[name]
    try:
        want = reference_column(cells, ftype, "transaction_type", ("payment", "credit"), CTX)
    except Exception as e:  # where the reference raises, the columnar parser must raise the same
        with pytest.raises(type(e)):
            parse_column(cells, ftype, "transaction_type", ("payment", "credit"), CTX)
        return
    got = parse_column(cells, ftype, "transaction_type", ("payment", "credit"), CTX)
    pd.testing.assert_series_equal(got.values, want.values, check_exact=True)
    assert list(got.errors.items()) == list(want.errors.items())
    assert got.redacted == want.redacted and got.open_ended == want.open_ended


def test_csv_records_share_repeated_texts_and_equal_the_csv_modules(tmp_path):
    """_records gives the csv module's records exactly, with a column's repeated texts as one
    object; a column of mostly distinct texts (an id) stops being shared after _SHARE_CHECK records."""
    import csv
    import io

    from connectors import csv_source

    rnd = random.Random(3)
    lines = ["id,dept,amount,note"]
    for i in range(csv_source._SHARE_CHECK * 2 + 17):
        dept = rnd.choice(["Finance", "HR", "Ops", ""])
        extra = rnd.choice(["", ",spill", ',"quoted, cell"'])  # ragged records: more cells than the header
        cells = ["DUP" if i % 500 == 0 else f"P{i:06d}", dept, f"{rnd.randint(0, 99)}.00", rnd.choice(["a", "b"])]
        lines.append(",".join(cells[: rnd.choice([4, 4, 4, 2])]) + extra)
    text = "\n".join(lines) + "\n"
    want = list(csv.reader(io.StringIO(text, newline=""), strict=False))
    read = list(csv_source._records(text, ",", "x.csv", None))
    got, starts = [rec for rec, _, _ in read], [start for _, start, _ in read]
    assert got == want and len(starts) == len(want)
    depts = [r[1] for r in got[1:] if len(r) > 1 and r[1] == "Finance"]
    assert len(depts) > 100 and len({id(d) for d in depts}) == 1  # one object for the repeated text
    early = [r[0] for r in got[1: csv_source._SHARE_CHECK] if r[0] == "DUP"]
    late = [r[0] for r in got[csv_source._SHARE_CHECK + 1:] if r[0] == "DUP"]
    assert len(early) > 2 and len({id(t) for t in early}) == 1  # shared until the column shows it is ids
    assert len(late) > 2 and len({id(t) for t in late}) == len(late)  # then no table is kept for it
