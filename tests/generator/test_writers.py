"""The column-at-a-time cell formatting (writers.format_frame) against the one-value reference
(writers._cell): every layout of a small generated force, as text and as XLSX cells, plus the
edge cases a small force may not hold (negative and blank money, all-blank columns)."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from audit.generator import writers
from audit.generator.core import Gen
from audit.generator.layouts import LAYOUTS
from audit.generator.run import build
from audit.registers import get


def _reference(df: pd.DataFrame, layout, for_xlsx: bool) -> pd.DataFrame:
    """format_frame as it was written before it went column-wise: `_cell` on every value."""
    reg = get(layout.register)
    out = {}
    for header, fld in layout.columns:
        if fld is None or header in layout.composite:
            continue
        col = df[fld] if fld in df else pd.Series([None] * len(df), index=df.index, dtype=object)
        out[header] = [writers._cell(v, reg.field(fld).type, layout.values.get(fld), layout, for_xlsx) for v in col]
    return pd.DataFrame(out, dtype=object)


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    for header in want.columns:
        a, b = got[header].tolist(), want[header].tolist()
        assert [type(x) for x in a] == [type(x) for x in b], header
        assert a == b, header


@pytest.fixture(scope="module")
def frames():
    g = Gen(5, 0.05, 12, "2026-10")
    return build(g)[0]


@pytest.mark.parametrize("for_xlsx", [False, True])
def test_format_frame_matches_the_per_value_reference_on_every_layout(frames, for_xlsx):
    for layout in LAYOUTS:
        df = frames[layout.name]
        assert len(df) > 0, layout.name
        _same(writers.format_frame(df, layout, for_xlsx), _reference(df, layout, for_xlsx))


@pytest.mark.parametrize("for_xlsx", [False, True])
def test_format_frame_edge_values(for_xlsx):
    gifts = next(lay for lay in LAYOUTS if lay.name == "gifts")  # pound money, enum labels, dates
    procurement = next(lay for lay in LAYOUTS if lay.name == "procurement")  # plain money
    df = pd.DataFrame({"estimated_value": pd.Series([-123456, 0, None, 5, 10**9], dtype=object),
                       "offered_date": [date(2026, 1, 31), None, date(2025, 12, 1), None, date(2024, 2, 29)],
                       "declared_date": [None] * 5,  # an all-blank date column
                       "kind": ["gift", None, "hospitality", "gift", np.nan],
                       "donor_name": ["Acme Ltd", None, "Café £ Ltd", np.nan, "X"],
                       "approver": [None] * 5,
                       "net_amount": pd.Series([-5, 0, None, 123456789, 1], dtype=object),
                       "transaction_date": pd.to_datetime(["2026-01-02", None, "2026-03-04", None, "2026-05-06"])})
    for layout in (gifts, procurement):
        reg = get(layout.register)
        for _, fld in layout.columns:
            if fld in df:
                ftype, labels = reg.field(fld).type, layout.values.get(fld)
                want = [writers._cell(v, ftype, labels, layout, for_xlsx) for v in df[fld]]
                got = writers._column(df[fld], ftype, labels, layout, for_xlsx)
                assert [type(x) for x in got] == [type(x) for x in want], fld
                assert got == want, fld
    money = writers._column(df["estimated_value"], "money", None, gifts)
    assert money[:3] == ["-£1,234.56", "£0.00", ""]


@pytest.mark.parametrize("name", ["gifts_divisional", "procurement", "expenses"])
def test_writing_in_chunks_gives_the_same_bytes_and_dirty_cells(frames, tmp_path, name):
    """Preamble and cp1252 CSV, a composite-key CSV and the SQLite table, written whole (plant_dirty
    then write) and in four or more chunks (pick_dirty then write_in_chunks): the same file."""
    layout = next(lay for lay in LAYOUTS if lay.name == name)
    df = frames[name].reset_index(drop=True)
    chunk = max(2, len(df) // 4)
    whole, chunked = tmp_path / "whole", tmp_path / "chunked"
    whole.mkdir(), chunked.mkdir()
    cells = writers.format_frame(df, layout)
    entries = writers.plant_dirty(cells, df, layout, set(), np.random.default_rng(3))
    writers.write(cells, layout, whole)
    picks = writers.pick_dirty(df, layout, set(), np.random.default_rng(3))
    assert [e for *_, e in picks] == entries and entries
    writers.write_in_chunks(df, layout, chunked, picks, chunk=chunk)
    assert (chunked / layout.file).read_bytes() == (whole / layout.file).read_bytes()
