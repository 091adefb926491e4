"""Columnar cell parsing: a whole column of raw cells -> a canonical pandas column, fast.

Owns the hot path of loading. The per-cell functions in connectors/parse.py stay the reference
(they define every accepted form and every quarantine reason); this module must give exactly the
same values, reasons and redacted cells (tests/connectors/test_vectorised_equivalence.py checks
it on a large random corpus). How:

* text cells are factorised (pd.factorize): each distinct value is looked at once, and the
  outcome is spread back to the rows with one numpy take;
* the common shapes of money ("£1,234.50", "(12.50)"), whole numbers, decimals and dates in the
  source's first date format are recognised by strict ASCII patterns and converted with integer
  and datetime64 arithmetic (money never goes through a float);
* any distinct value outside those shapes (a bad cell, "1.500", Unicode digits, ...) and any
  non-text cell (numbers, dates from xlsx / SQL) goes through the reference parser, so an odd
  cell is never parsed differently, only more slowly. That includes every "no end date" sentinel
  of an open-ended date field: the fast path takes years up to 2261 only, and hands a source's
  own `open_end_dates` to the reference parser too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .parse import MAX_CHARS, OPEN_END_FROM, CellContext, norm_key, parse_cells, parser_for
from .validate import DTYPES, to_series

# "(£ 1,234.50)" after removing £ and spaces: optional brackets, sign, grouped or plain pounds
# (at most 15 digits, so pence fit int64 exactly), at most 2 decimals.
_FAST_MONEY = re.compile(r"(\(?)([+-]?)([0-9]{1,3}(?:,[0-9]{3}){1,4}|[0-9]{0,15})(?:\.([0-9]{0,2}))?(\)?)")
_PLAIN_MONEY = re.compile(r"£?-?[0-9]{1,15}\.[0-9]{2}")
_FAST_INT = re.compile(r"[+-]?[0-9]{1,15}")
_FAST_NUMBER = re.compile(r"[+-]?[0-9]{0,15}(?:\.[0-9]{0,15})?")
_DATE_PARTS = {"%d": r"(?P<d>[0-9]{2})", "%m": r"(?P<m>[0-9]{2})", "%Y": r"(?P<y>[0-9]{4})"}
_DATE_FORMAT = re.compile(r"%[dmY]|[/.\- ]")
# datetime64[ns] holds 1677-09-21 .. 2262-04-11; other years go the reference way (and fail there,
# or, in an open-ended field, are "no end date" from OPEN_END_FROM on)
_MIN_YEAR, _MAX_YEAR = 1678, min(2261, OPEN_END_FROM.year - 1)


@dataclass
class ParsedColumn:
    values: pd.Series  # canonical dtype, blank / bad cells missing
    errors: dict[int, str]  # position -> quarantine reason
    redacted: set[int]  # positions of redacted cells
    #: positions of "no end date" sentinels in an open-ended date field (left blank)
    open_ended: set[int] = field(default_factory=set)


def _fast_money(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(ok mask, pence) for stripped texts in the common shapes."""
    ok = np.array([_PLAIN_MONEY.fullmatch(t) is not None for t in texts], dtype=bool)
    pence = np.zeros(len(texts), dtype=np.int64)
    idx = np.flatnonzero(ok)  # "£-1234.50": the pence are the digits without £ and the point
    pence[idx] = np.array([texts[i].replace("£", "").replace(".", "") for i in idx],
                          dtype=object).astype(np.int64)
    for i in np.flatnonzero(~ok):
        body = texts[i].replace("£", "").replace(" ", "").replace("\u00a0", "")  # as the reference
        m = _FAST_MONEY.fullmatch(body)
        if m is None:
            continue
        opened, sign, pounds, frac, closed = m.groups()
        if bool(opened) != bool(closed) or (opened and sign == "-") or not (pounds or frac):
            continue
        value = int(pounds.replace(",", "") or 0) * 100 + int((frac or "").ljust(2, "0"))
        ok[i] = True
        pence[i] = -value if (sign == "-") != bool(opened) else value
    return ok, pence


def _date_pattern(fmt: str) -> re.Pattern | None:
    """A strict regex for a format made only of %d %m %Y and separators, else None."""
    tokens = _DATE_FORMAT.findall(fmt)
    if "".join(tokens) != fmt or sorted(t for t in tokens if t.startswith("%")) != ["%Y", "%d", "%m"]:
        return None
    return re.compile("".join(_DATE_PARTS.get(t, re.escape(t)) for t in tokens))


def _fast_dates(texts: list[str], formats: list[str], exclude: frozenset[date] = frozenset()
                ) -> tuple[np.ndarray, np.ndarray]:
    """(ok mask, datetime64[ns]) for texts written exactly in the first date format.

    Dates in `exclude` are left to the reference parser (a source's own "no end date" sentinels).
    """
    ok = np.zeros(len(texts), dtype=bool)
    out = np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[ns]")
    rx = _date_pattern(formats[0]) if formats else None
    if rx is None or not texts:
        return ok, out
    parts = np.zeros((len(texts), 3), dtype=np.int64)
    for i, m in enumerate(map(rx.fullmatch, texts)):
        if m is not None:
            ok[i] = True
            parts[i] = (int(m["y"]), int(m["m"]), int(m["d"]))
    y, mo, d = parts[ok].T
    ok[ok] = (y >= _MIN_YEAR) & (y <= _MAX_YEAR) & (mo >= 1) & (mo <= 12) & (d >= 1)
    y, mo, d = parts[ok].T
    first = (y - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (mo - 1).astype("timedelta64[M]")
    days = first.astype("datetime64[D]") + (d - 1).astype("timedelta64[D]")
    valid = days.astype("datetime64[M]") == first  # 31/02 rolls into March: not a date
    if exclude:
        valid &= ~np.isin(days, np.array(sorted(exclude), dtype="datetime64[D]"))
    idx = np.flatnonzero(ok)
    ok[idx[~valid]] = False
    out[idx[valid]] = days[valid].astype("datetime64[ns]")
    return ok, out


def _fast(ftype: str, texts: list[str], ctx: CellContext, open_ended: bool
          ) -> tuple[np.ndarray, Any]:
    """(ok mask, values) for the distinct texts the fast converters handle; None if none apply."""
    if ftype == "money":
        return _fast_money(texts)
    if ftype == "date":
        return _fast_dates(texts, ctx.date_formats, ctx.open_end_dates if open_ended else frozenset())
    if ftype in ("int", "number"):
        rx = _FAST_INT if ftype == "int" else _FAST_NUMBER
        plain = [t.replace(",", "") for t in texts]
        ok = np.fromiter((rx.fullmatch(p) is not None and p.strip("+-.") != "" for p in plain),
                         dtype=bool, count=len(plain))
        conv = int if ftype == "int" else float
        dtype = np.int64 if ftype == "int" else np.float64
        values = np.zeros(len(plain), dtype=dtype)
        values[ok] = [conv(p) for p, good in zip(plain, ok) if good]
        return ok, values
    return np.zeros(len(texts), dtype=bool), None


def _canonical(values: np.ndarray, present: np.ndarray, ftype: str) -> pd.Series:
    """Values (meaningful where `present`) -> a Series in the canonical dtype."""
    if ftype in ("string", "enum", "hash"):
        values[~present] = None
        return pd.Series(values, dtype=object)
    if ftype == "date":
        values[~present] = np.datetime64("NaT")
        return pd.Series(values, dtype="datetime64[ns]")
    masked = {"money": pd.arrays.IntegerArray, "int": pd.arrays.IntegerArray,
              "number": pd.arrays.FloatingArray, "bool": pd.arrays.BooleanArray}[ftype]
    missing = ~present | np.isnan(values) if ftype == "number" else ~present  # NaN is NA, as in to_series
    return pd.Series(masked(values, missing), dtype=DTYPES[ftype])


def _empty_values(n: int, ftype: str) -> np.ndarray:
    if ftype == "date":
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if ftype in ("money", "int"):
        return np.zeros(n, dtype=np.int64)
    if ftype == "number":
        return np.zeros(n, dtype=np.float64)
    if ftype == "bool":
        return np.zeros(n, dtype=bool)
    return np.full(n, None, dtype=object)


def _store(target: np.ndarray, where: np.ndarray, python_values: list, ftype: str) -> None:
    """Put reference-parser values (python objects) into a typed array, as to_series would."""
    if not len(where):
        return
    if ftype == "date":
        target[where] = to_series(python_values, "date").to_numpy()
    elif ftype in ("string", "enum", "hash"):
        target[where] = np.array(python_values + [None], dtype=object)[:-1]
    else:
        target[where] = to_series(python_values, ftype).to_numpy()


def _parse_texts(texts: list[str], ftype: str, parse: Callable[[Any], Any], ctx: CellContext,
                 open_ended: bool) -> tuple[np.ndarray, np.ndarray, list[str | None], np.ndarray, np.ndarray]:
    """Distinct raw text cells -> (values, present mask, reasons, redacted mask, open-ended mask)."""
    n = len(texts)
    stripped = [t.strip() for t in texts]
    blank = np.fromiter(map(len, stripped), dtype=np.intp, count=n) == 0
    redacted = np.zeros(n, dtype=bool)
    opened = np.zeros(n, dtype=bool)
    keys = ctx.redacted_keys
    if keys:  # norm_key only where the first letter could start a redaction marker
        starts = {k[:1] for k in keys}
        firsts = [t[:1] for t in stripped]
        could = {c for c in set(firsts) if c and norm_key(c)[:1] in starts}
        for i in (i for i, c in enumerate(firsts) if c in could):
            redacted[i] = norm_key(stripped[i]) in keys
    too_long = np.fromiter(map(len, texts), dtype=np.intp, count=n) > MAX_CHARS
    reasons: list[str | None] = [None] * n
    for i in np.flatnonzero(too_long & ~blank & ~redacted):
        reasons[i] = f"longer than {MAX_CHARS:,} characters ({len(texts[i]):,})"
    todo = np.flatnonzero(~(blank | redacted | too_long))
    values = _empty_values(n, ftype)
    present = np.zeros(n, dtype=bool)
    if ftype == "string":
        values[todo] = np.array([stripped[i] for i in todo] + [None], dtype=object)[:-1]
        present[todo] = True
        return values, present, reasons, redacted, opened
    ok, fast_values = _fast(ftype, [stripped[i] for i in todo], ctx, open_ended)
    values[todo[ok]] = fast_values[ok] if fast_values is not None else values[todo[ok]]
    present[todo[ok]] = True
    slow = todo[~ok]  # one call for them all: each distinct text is parsed on its own all the same
    cell_values, errors, _, open_end = parse_cells([texts[i] for i in slow], parse, ctx)
    for j, reason in errors.items():
        reasons[slow[j]] = reason
    opened[slow[sorted(open_end)]] = True
    kept = [j for j in range(len(slow)) if j not in errors and j not in open_end]
    got: list[Any] = [cell_values[j] for j in kept]
    good = slow[kept]
    _store(values, good, got, ftype)
    present[good] = True
    return values, present, reasons, redacted, opened


def reference_column(cells: Sequence[Any], ftype: str, name: str, enum_values: tuple[str, ...],
                     ctx: CellContext, open_ended: bool = False) -> ParsedColumn:
    """The same, cell by cell with the reference parsers (slow; kept to check parse_column)."""
    parse = parser_for(ftype, name, enum_values, ctx, open_ended)
    values, errors, redacted, open_end = parse_cells(list(cells), parse, ctx)
    return ParsedColumn(values=to_series(values, ftype), errors=errors, redacted=redacted,
                        open_ended=open_end)


def _text_cells(cells: Sequence[Any], kinds: set[type]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions of the str cells, each one's code, the distinct texts by code).

    A CSV column is all text: one factorize. A column with other cells too (a blank read as None,
    numbers and dates from xlsx / SQL) is factorised whole and the distinct values, not the cells,
    are tested for being text: one None among 500,000 texts no longer costs a Python pass over the
    column. A str is equal only to a str, so a distinct text stands for text cells only; other kinds
    that compare equal (1, 1.0, True) may share a code, which only says they are not text. Missing
    values (None, NaN) get code -1 and are not text. A value that cannot be hashed sends the column
    the cell-by-cell way."""
    n = len(cells)
    if str not in kinds:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp), np.empty(0, dtype=object)
    column = np.empty(n, dtype=object)
    column[:] = cells
    if kinds == {str}:
        codes, distinct = pd.factorize(column)
        return np.arange(n), codes, distinct
    try:
        all_codes, uniques = pd.factorize(column)
    except TypeError:  # e.g. Decimal("sNaN"): unhashable
        text_pos = np.flatnonzero(np.fromiter((type(c) is str for c in cells), dtype=bool, count=n))
        codes, distinct = pd.factorize(column[text_pos])
        return text_pos, codes, distinct
    is_str = np.fromiter((type(u) is str for u in uniques), dtype=bool, count=len(uniques))
    text_pos = np.flatnonzero((all_codes >= 0) & is_str[all_codes])
    renumber = np.full(len(uniques), -1, dtype=np.intp)
    renumber[is_str] = np.arange(int(is_str.sum()))
    return text_pos, renumber[all_codes[text_pos]], uniques[is_str]


def parse_column(cells: Sequence[Any], ftype: str, name: str, enum_values: tuple[str, ...],
                 ctx: CellContext, open_ended: bool = False) -> ParsedColumn:
    """Parse one column of raw cells; same outcome as connectors.parse.parse_cells, cell by cell.

    `open_ended`: the field is an open-ended date (registers.toml); see connectors.parse.OPEN_END.
    """
    n = len(cells)
    parse = parser_for(ftype, name, enum_values, ctx, open_ended)
    values = _empty_values(n, ftype)
    present = np.zeros(n, dtype=bool)
    errors: dict[int, str] = {}
    redacted: set[int] = set()
    open_end: set[int] = set()

    kinds = set(map(type, cells))  # one C-level pass: most columns are all text
    text_pos, codes, distinct = _text_cells(cells, kinds)
    if len(text_pos):
        u_values, u_present, u_reasons, u_redacted, u_open = _parse_texts(list(distinct), ftype, parse, ctx,
                                                                          open_ended)
        if len(text_pos) == n:  # every cell is text: the rows are the positions
            values, present = u_values[codes], u_present[codes]
        else:
            values[text_pos] = u_values[codes]
            present[text_pos] = u_present[codes]
        u_bad = np.fromiter((r is not None for r in u_reasons), dtype=bool, count=len(u_reasons))
        if u_bad.any():
            bad = np.flatnonzero(u_bad[codes])
            errors.update((int(text_pos[j]), u_reasons[codes[j]]) for j in bad)
        if u_redacted.any():
            redacted.update(text_pos[u_redacted[codes]].tolist())
        if u_open.any():
            open_end.update(text_pos[u_open[codes]].tolist())

    other = np.ones(n, dtype=bool)
    other[text_pos] = False
    other_pos = np.flatnonzero(other)
    if type(None) in kinds:  # a blank cell (None) is missing, with no reason: nothing to parse
        other_pos = np.array([i for i in other_pos if cells[i] is not None], dtype=np.intp)
    if len(other_pos):
        o_values, o_errors, _, o_open = parse_cells([cells[i] for i in other_pos], parse, ctx)
        errors.update((int(other_pos[j]), reason) for j, reason in o_errors.items())
        open_end.update(other_pos[sorted(o_open)].tolist())
        filled = [j for j, v in enumerate(o_values) if v is not None]
        where = other_pos[filled]
        _store(values, where, [o_values[j] for j in filled], ftype)
        present[where] = True
    return ParsedColumn(values=_canonical(values, present, ftype), errors=dict(sorted(errors.items())),
                        redacted=redacted, open_ended=open_end)
