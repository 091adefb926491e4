"""Property: whatever mix of good and bad cells a file holds, no row vanishes and fact_ids are unique."""
from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from connectors import SourceError, pull

from connector_helpers import COLUMNS, procurement_source

good = {"Trans": st.from_regex(r"[0-9]{1,6}", fullmatch=True),
        "Line": st.sampled_from(["1", "2", ""]),
        "Date": st.sampled_from(["10/10/2017", "2024-02-29", "45000"]),
        "Amount": st.sampled_from(["1.00", "£1,234.56", "(12.50)", "-0.01", "0"]),
        "Supplier": st.sampled_from(["Acme Ltd", "", "=HYPERLINK()", "REDACTED"]),
        "Type": st.sampled_from(["INV", "crn", "payment", ""]),
        "Bank": st.sampled_from(["", "12-34-56 12345678"])}
# (no NUL: a file holding one is refused as a whole, see test_bad_inputs.py; no lone surrogate: no
# UTF-8 file can hold one)
bad = st.one_of(st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12), st.sampled_from(["", "REDACTED PERSONAL DATA", "31/02/2020",
                                                        "1.234", "banana", "x" * 10_001]))


@st.composite
def cell(draw, column):
    return draw(bad) if draw(st.integers(0, 3)) == 0 else draw(good[column])


rows = st.lists(st.fixed_dictionaries({c: cell(c) for c in COLUMNS}), max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows)
def test_rows_never_vanish(rows):
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS))  # quotes cells holding \r or \n
    writer.writeheader()
    writer.writerows(rows)
    # wholly blank records are not rows (reported as skipped lines)
    expected = sum(1 for r in rows if any(v.strip() for v in r.values()))
    with tempfile.TemporaryDirectory() as d:
        Path(d, "spend.csv").write_text(buf.getvalue(), encoding="utf-8")
        if not expected:  # a source that reads 0 rows fails loud (unless allow_empty = true)
            with pytest.raises(SourceError, match="read 0 rows"):
                pull(procurement_source("spend.csv"), Path(d))
            return
        f = pull(procurement_source("spend.csv"), Path(d))
    assert f.rows_read == expected == f.rows_accepted + f.rows_quarantined
    assert f.df["fact_id"].is_unique
    assert f.df["net_amount"].notna().all() and f.df["transaction_date"].notna().all()
    assert set(f.quarantine["row"]).isdisjoint(set(f.df["_row"]))
