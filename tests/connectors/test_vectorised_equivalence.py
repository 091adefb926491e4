"""Differential test: the columnar parser (connectors.vector.parse_column) gives exactly what the
reference per-cell parsers (connectors.parse) give: same values and dtypes, same quarantine
reasons at the same positions, same redacted cells, the same exception when the reference fails.

Corpora: a seeded random corpus of tens of thousands of cells per field type built from the
shapes real registers hold (good and bad), plus hypothesis-generated columns, plus whole loads
through `pull` with each path. Date columns are checked both as ordinary and as open-ended fields
("no end date" sentinels such as 31/12/9999 read as blank and reported at the same positions).
"""
from __future__ import annotations

import importlib
import random
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from connectors import pull
from connectors.parse import CellContext
from connectors.vector import parse_column, reference_column

from connector_helpers import HEADER, procurement_source

ENUM = ("order", "invoice", "payment", "credit", "single_tender_waiver")
VALUE_MAP = {"transaction_type": {"INV": "invoice", "Credit Note": "credit"}}
FORMAT_SETS = [["%d/%m/%Y", "%Y-%m-%d"], ["%m/%d/%Y"], ["%Y%m%d"], ["%d.%m.%Y", "%d %b %Y"],
               ["%d-%b-%Y %H:%M"], []]
TYPES = ("string", "money", "date", "enum", "int", "number", "bool", "hash")

DIGITS = "0123456789"
ODD = ["", " ", "\u00a0", "\n", "\t", "\x1f", "\x00", "£", "(", ")", "-", "+", ",", ".", "e", "E",
       "_", "٣", "١٢", "²", "NaN", "inf", "Infinity", "REDACTED", "redacted  personal data", "Y",
       "no", "TRUE", "0", "1", "x" * 10_001, " " * 10_001 + "1", "ß", "İ", "Σ", "INV", "inv ",
       "credit   NOTE", "single-tender-waiver", "Single Tender Waiver", "PAYMENT", "banana",
       "=HYPERLINK()", "12-34-56 78401234", "--"]


def _num(rnd: random.Random, longest: int = 30) -> str:
    sizes = [s for s in (0, 1, 1, 2, 3, 4, 6, 15, 16, 20, 30) if s <= longest]
    pounds = "".join(rnd.choice(DIGITS) for _ in range(rnd.choice(sizes)))
    if rnd.random() < 0.3 and len(pounds) > 3:
        pounds = f"{int(pounds):,}" if rnd.random() < 0.8 else pounds[:2] + "," + pounds[2:]
    text = pounds
    if rnd.random() < 0.7:
        text += "." + "".join(rnd.choice(DIGITS) for _ in range(rnd.choice([0, 1, 2, 2, 2, 3, 4])))
    if rnd.random() < 0.3:
        text = rnd.choice(["-", "+", "--", "-+"]) + text
    if rnd.random() < 0.2:
        text = rnd.choice(["(", "", "(-"]) + text + rnd.choice([")", "", ")"])
    if rnd.random() < 0.3:
        text = rnd.choice(["£", "£ ", " £", "-£", "£-"]) + text
    if rnd.random() < 0.1:
        i = rnd.randrange(len(text) + 1)
        text = text[:i] + rnd.choice([" ", "\u00a0", "e5", "\n", "٣", "_"]) + text[i:]
    return text


def _date_text(rnd: random.Random) -> str:
    y = rnd.choice([2024, 2020, 1999, 1900, 1677, 1678, 2261, 2262, 9999, 1, 0, 24])
    m, d = rnd.randint(0, 13), rnd.randint(0, 32)
    shapes = [f"{d:02d}/{m:02d}/{y:04d}", f"{d}/{m}/{y}", f"{y:04d}-{m:02d}-{d:02d}", f"{m:02d}/{d:02d}/{y}",
              f"{y:04d}{m:02d}{d:02d}", f"{d:02d}.{m:02d}.{y:04d}", f"{d:02d}-Jan-{y:04d} 10:30",
              f"{y:04d}-{m:02d}-{d:02d} 13:45:00", f"{y:04d}-{m:02d}-{d:02d}T13:45", str(rnd.randint(0, 99999)),
              f"{rnd.randint(10000, 99999)}.{rnd.randint(0, 99)}", f"{d:02d} Mar {y}", "31/02/2020",
              "not a date"]
    return rnd.choice(shapes)


def _cell(rnd: random.Random):
    r = rnd.random()
    if r < 0.35:
        text = _num(rnd)
    elif r < 0.6:
        text = _date_text(rnd)
    elif r < 0.75:
        text = rnd.choice(ODD)
    elif r < 0.85:  # a non-text cell as xlsx / SQL give them
        return rnd.choice([None, float("nan"), 417, 0, -3, 12.5, 0.1 + 0.2, 45000, 45000.75, -5,
                           3_000_000, True, False, Decimal("52155.63"), Decimal("417.00"), 1e20,
                           date(2020, 6, 1), datetime(2020, 6, 1, 9, 30), time(9, 30), b" 12 "])
    else:
        text = "".join(rnd.choice(DIGITS + "£(),.-+ /abcY\u00a0") for _ in range(rnd.randint(0, 8)))
    if rnd.random() < 0.2:
        text = rnd.choice([" ", "  ", "\t", "\u00a0", "\n"]) + text + rnd.choice(["", " ", "\u3000"])
    return text


#: a force's own "no end date" sentinels (config open_end_dates), inside the fast path's years
OWN_SENTINELS = frozenset({date(2100, 1, 1), date(2024, 12, 31)})


def _ctx(formats: list[str], open_end_dates: frozenset[date] = frozenset()) -> CellContext:
    return CellContext(date_formats=formats, values=VALUE_MAP,
                       redacted=["REDACTED PERSONAL DATA", "REDACTED", "n/a", "0"],
                       open_end_dates=open_end_dates)


def _outcome(fn, cells, ftype, ctx, open_ended):
    try:
        got = fn(cells, ftype, "transaction_type", ENUM, ctx, open_ended=open_ended)
    except Exception as e:  # the reference failing (e.g. a date beyond datetime64[ns]) must be matched
        return type(e)
    return got


def assert_same(cells: list, ftype: str, ctx: CellContext, open_ended: bool = False) -> None:
    want = _outcome(reference_column, cells, ftype, ctx, open_ended)
    got = _outcome(parse_column, cells, ftype, ctx, open_ended)
    if isinstance(want, type):
        assert got is want, f"reference raised {want.__name__}, vectorised gave {got}"
        return
    assert not isinstance(got, type), f"vectorised raised {got.__name__}, reference did not"
    pd.testing.assert_series_equal(got.values, want.values, check_exact=True)
    assert got.errors == want.errors
    assert list(got.errors) == list(want.errors)  # same order: quarantine lines come out in it
    assert got.redacted == want.redacted
    assert got.open_ended == want.open_ended
    assert open_ended or not got.open_ended  # only an open-ended field has sentinels


def _in_range(cell) -> bool:
    """Not a date datetime64[ns] cannot hold (where the reference itself raises)."""
    if isinstance(cell, (int, float, Decimal)) and not isinstance(cell, bool):
        return not 60_000 < abs(cell)
    return not (isinstance(cell, str) and any(y in cell for y in ("9999", "1677", "2262", "0001", "0000")))


@pytest.mark.parametrize("ftype", TYPES)
@pytest.mark.parametrize("formats", FORMAT_SETS[:3])
def test_random_corpus_matches_reference(ftype, formats):
    rnd = random.Random(f"{ftype}{formats}")
    cells = [_cell(rnd) for _ in range(6_000)]
    assert_same([c for c in cells if _in_range(c)], ftype, _ctx(formats))
    assert_same(cells, ftype, _ctx(formats))  # where the reference raises, so must we


@pytest.mark.parametrize("formats", FORMAT_SETS)
def test_dates_in_every_format_set_match_reference(formats):
    rnd = random.Random(str(formats))
    cells = [_date_text(rnd) for _ in range(8_000)]
    assert_same([c for c in cells if _in_range(c)], "date", _ctx(formats))
    assert_same(cells, "date", _ctx(formats))


def _sentinel_cell(rnd: random.Random):
    """A cell of an end / expiry date column: sentinels in every shape, real dates, bad cells."""
    far = rnd.choice([date(9999, 12, 31), date(3000, 1, 1), date(2999, 12, 31), date(2262, 1, 1),
                      date(2262, 4, 11), date(2262, 4, 12), date(2261, 12, 31)])
    near = rnd.choice(sorted(OWN_SENTINELS) + [date(2026, 5, 1), date(2100, 1, 2)])
    d = rnd.choice([far, near])
    serial = (d - date(1899, 12, 30)).days
    return rnd.choice([
        d.strftime("%d/%m/%Y"), d.isoformat(), f"{d.isoformat()} 00:00:00", d.strftime("%Y%m%d"),
        d.strftime("%m/%d/%Y"), d, datetime.combine(d, time(23, 59, 59)), serial, float(serial),
        Decimal(serial), str(serial), _date_text(rnd), rnd.choice(ODD), None])


@pytest.mark.parametrize("formats", FORMAT_SETS)
@pytest.mark.parametrize("own", [frozenset(), OWN_SENTINELS], ids=["default", "own_sentinels"])
def test_open_ended_sentinels_match_reference(formats, own):
    rnd = random.Random(f"open{formats}{sorted(own)}")
    cells = [_sentinel_cell(rnd) for _ in range(4_000)]
    ctx = _ctx(formats, own)
    assert_same(cells, "date", ctx, open_ended=True)
    assert_same(cells, "date", ctx, open_ended=False)  # the same cells in an ordinary date field
    got = parse_column(cells, "date", "end_date", (), ctx, open_ended=True)
    assert len(got.open_ended) > 200  # the corpus really holds sentinels the parsers recognise


def test_open_ended_fast_and_slow_paths_agree_on_every_shape():
    """Sentinels are blank and reported whichever path reads them; ordinary fields quarantine them."""
    ctx = _ctx(["%d/%m/%Y"], frozenset({date(2100, 1, 1)}))
    cells = ["31/12/9999", "9999-12-31", "9999-12-31 00:00:00", "01/01/3000", "31/12/2999",
             datetime(9999, 12, 31), date(9999, 12, 31), 2_958_465, "01/01/2100", "02/01/2100",
             "11/04/2262", "31/12/2261", "", "REDACTED", "soon"]
    got = parse_column(cells, "date", "end_date", (), ctx, open_ended=True)
    assert got.open_ended == set(range(9)) | {10}
    assert got.values.isna().tolist() == [True] * 9 + [False, True, False, True, True, True]
    assert got.values[9] == pd.Timestamp("2100-01-02") and got.values[11] == pd.Timestamp("2261-12-31")
    assert got.errors == {14: "'soon' is not a date in any of the formats: %d/%m/%Y, ISO yyyy-mm-dd, "
                              "Excel serial number"}
    assert got.redacted == {13}
    plain = parse_column(cells, "date", "offered_date", (), ctx, open_ended=False)
    assert plain.open_ended == set()
    assert set(plain.errors) == set(range(8)) | {14}
    assert all("outside the dates this tool can hold" in plain.errors[i] for i in range(8))
    assert plain.values[8] == pd.Timestamp("2100-01-01")  # a force's sentinel is a date elsewhere
    assert plain.values[10] == pd.Timestamp("2262-04-11")  # the last day pandas holds is a date there


def test_fast_paths_are_exercised():
    """The corpus really reaches the fast converters (not only the reference fallback)."""
    ctx = _ctx(["%d/%m/%Y"])
    got = parse_column(["£1,234.50", "(12.50)", "-0.01", "1234.5"], "money", "x", (), ctx)
    assert got.values.tolist() == [123450, -1250, -1, 123450]
    got = parse_column(["10/10/2017", "31/02/2020", "2022-08-17"], "date", "x", (), ctx)
    assert got.values.iloc[0] == pd.Timestamp("2017-10-10") and got.values.iloc[2] == pd.Timestamp("2022-08-17")
    assert "not a date" in got.errors[1]
    assert parse_column(["1,200", "-7", "7.5"], "int", "x", (), ctx).errors == {2: "'7.5' is not a whole number"}


text_cells = st.one_of(st.text(max_size=14), st.sampled_from(ODD), st.builds(_num, st.randoms()),
                       st.builds(_date_text, st.randoms()),
                       st.from_regex(r"\s?£?[-+(]?[0-9,]{0,8}(\.[0-9]{0,3})?\)?\s?", fullmatch=True))
any_cells = st.one_of(text_cells, st.none(), st.integers(-10**6, 10**6), st.booleans(),
                      st.decimals(allow_nan=True, places=3, min_value=-10**6, max_value=10**6),
                      st.floats(min_value=-1e6, max_value=1e6) | st.just(float("nan")))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.lists(any_cells, max_size=60), ftype=st.sampled_from(TYPES),
       formats=st.sampled_from(FORMAT_SETS), open_ended=st.booleans())
def test_hypothesis_columns_match_reference(cells, ftype, formats, open_ended):
    assert_same(cells, ftype, _ctx(formats, OWN_SENTINELS), open_ended=open_ended and ftype == "date")


def _in_range_date(rnd: random.Random) -> str:
    text = _date_text(rnd)
    return text if _in_range(text) else "not a date"


def _frames_equal(a, b) -> None:
    pd.testing.assert_frame_equal(a.df, b.df, check_exact=True)
    pd.testing.assert_frame_equal(a.quarantine, b.quarantine, check_exact=True)
    assert (a.rows_read, a.provenance.warnings) == (b.rows_read, b.provenance.warnings)


def test_whole_load_matches_reference(tmp_path: Path, monkeypatch):
    """A dirty file through pull(): identical frame, fact_ids and quarantine with either parser."""
    rnd = random.Random(7)
    lines = [HEADER.strip()]
    for i in range(3_000):
        cols = [str(rnd.randint(1, 999)), rnd.choice(["1", "2", ""]), _in_range_date(rnd) if rnd.random() < .2
                else f"{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}/2024",
                _num(rnd, longest=15) if rnd.random() < .3 else f"{rnd.randint(-500, 99999) / 100:.2f}",
                rnd.choice(["Acme Ltd", "", "REDACTED", "=cmd()", " Beta  plc "]),
                rnd.choice(["INV", "crn", "payment", "", "banana", "Credit Note"]),
                rnd.choice(["", "12-34-56 12345678", "--", "ab12"])]
        lines.append(",".join('"' + c.replace('"', '""') + '"' for c in cols))
    (tmp_path / "spend.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    src = procurement_source("spend.csv", date_formats=["%d/%m/%Y", "%Y-%m-%d"])
    fast = pull(src, tmp_path)
    # (the package re-exports the function `assemble`, so fetch the module itself)
    monkeypatch.setattr(importlib.import_module("connectors.assemble"), "parse_column", reference_column)
    slow = pull(src, tmp_path)
    _frames_equal(fast, slow)
    assert 0 < fast.rows_quarantined < fast.rows_read  # the file really is dirty and mostly good


def test_out_of_range_cells_are_quarantined_not_fatal():
    """Cells the canonical dtypes cannot hold are quarantined (they used to crash or hang the load)."""
    ctx = _ctx(["%d/%m/%Y"])
    got = parse_column(["31/12/9999", "01/01/2024", 2958465], "date", "x", (), ctx)
    assert got.values.iloc[1] == pd.Timestamp("2024-01-01")
    assert set(got.errors) == {0, 2} and "outside the dates" in got.errors[0]
    got = parse_column(["1e999999999", "12"], "int", "x", (), ctx)  # must not expand 10**999999999
    assert got.errors == {0: "'1e999999999' is too large for a whole number"}
    got = parse_column(["99999999999999999999", "92233720368547758.07"], "money", "x", (), ctx)
    assert got.errors == {0: "'99999999999999999999' is too large for an amount"}
    assert got.values.iloc[1] == 2 ** 63 - 1


@pytest.mark.parametrize("ftype", TYPES)
def test_a_mixed_column_is_factorised_whole_and_still_matches_reference(ftype):
    """A column of texts with a few other cells (a blank read as None, numbers and dates from xlsx or
    SQL) is factorised whole (vector._text_cells): values that compare equal across kinds (1, 1.0,
    True, Decimal 1) share a code but are not text; NaN and None are missing; a value that cannot be
    hashed (a signalling NaN) sends the column the cell-by-cell way. Each must match the reference."""
    rnd = random.Random(ftype)
    texts = ["1", "1.0", "True", "2024-01-31", "31/01/2024", "£1,200.00", "MILEAGE", " x ", "", "N/A"]
    others = [None, 1, 1.0, True, Decimal("1"), Decimal("NaN"), float("nan"), 0, False, date(2024, 1, 31),
              datetime(2024, 1, 31, 0, 0)]
    for trial in range(20):
        cells = [rnd.choice(texts) for _ in range(300)]
        for i in rnd.sample(range(300), 5 + trial):
            cells[i] = rnd.choice(others)
        assert_same(cells, ftype, _ctx(FORMAT_SETS[0]))
    assert_same(["1", Decimal("sNaN"), "2", None, "1"], ftype, _ctx(FORMAT_SETS[0]))
