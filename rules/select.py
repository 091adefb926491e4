"""Selection in pandas: `where` / `where_any`, value references, and normalisation for the engines.

Owns:
- `normalise(series, kind)`: canonical register dtypes -> engine types (dates -> integer day
  numbers, money -> integer pence, ordered enums -> rank, text -> str); blanks become NA;
- three-valued (Kleene) evaluation of conditions: a blank in a compared field gives NA, never a
  silent False; rows whose outcome is NA are *not evaluable* and are counted per alias.field;
- `select_input`: the period window, the selection, and the drop (and count) of rows blank in a
  field the correlation needs (keys, compares, dates, group_by, having). NaN never reaches an engine.
  The one exception to the drop: a blank right operand of a `blank: open` compare is an open period,
  sent as OPEN_END_DAY (later than any date), so it is decided the same way by both engines.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from audit import registers as reg
from rules.compiler import CompiledInput, CompiledRule, open_fields, resolve

EPOCH = date(1970, 1, 1)
#: The engine value of a blank read as an open period (a compare's `blank: open`): later than any
#: date the tool can hold (day numbers stay under 110,000 until 2262), with room for any offset, and
#: exact in durable-rules. Both engines compare it like any date, so they agree by construction. It
#: lives only in engine frames: findings take their values from the canonical rows (a blank stays blank).
OPEN_END_DAY = 1_000_000_000


def day_number(d: date | str) -> int:
    return (date.fromisoformat(d) if isinstance(d, str) else d).toordinal() - EPOCH.toordinal()


def normalise(s: pd.Series, kind: str, fld: reg.Field | None = None) -> pd.Series:
    """One column in engine types, with NA for blanks."""
    if kind == "date":
        if not pd.api.types.is_datetime64_any_dtype(s):
            s = pd.to_datetime(s.astype("object").where(s.notna(), None), errors="coerce", format="ISO8601")
        days = s.values.astype("datetime64[D]").astype("int64")
        return pd.Series(pd.array(days, dtype="Int64"), index=s.index).mask(s.isna())
    if kind in ("money", "int"):
        return pd.to_numeric(s, errors="coerce").astype("Int64")
    if kind == "number":
        return pd.to_numeric(s, errors="coerce").astype("Float64")
    if kind == "bool":
        return s.astype("boolean")
    if kind == "rank":
        ranks = {v: i for i, v in enumerate(fld.values)} if fld else {}
        return s.astype("object").map(ranks).astype("Int64")
    return _text(s)


_strip, _str = np.frompyfunc(str.strip, 1, 1), np.frompyfunc(str, 1, 1)


def _text(s: pd.Series) -> pd.Series:
    """Text as str, None for a blank (missing, empty or only spaces); vectorised, as every key and
    text field of every rule passes here."""
    values = s.astype("object").to_numpy()
    at = np.flatnonzero(~pd.isna(values))
    text = values[at]
    if pd.api.types.infer_dtype(text, skipna=False) not in ("string", "empty"):  # numbers, dates: str() each
        text = _str(text)
    kept = np.asarray(_strip(text) != "", dtype=bool)
    out = np.full(len(values), None, dtype=object)
    out[at[kept]] = text[kept]
    return pd.Series(out, index=s.index, dtype="object")


def blank(s: pd.Series) -> pd.Series:
    return s.isna()


def literal(value: Any, kind: str, fld: reg.Field | None) -> Any:
    if kind == "date" and isinstance(value, str):
        return day_number(value)
    if kind == "rank" and fld is not None and isinstance(value, str):
        return fld.values.index(value)
    return value


@dataclass
class Context:
    """Everything a condition may refer to: the rows, the params in force and the period."""

    frame: pd.DataFrame  # canonical register columns
    kinds: dict[str, str]
    register: reg.Register
    params: dict[str, Any]
    period_start: int
    period_end: int
    cache: dict[str, pd.Series] = field(default_factory=dict)

    def col(self, name: str) -> pd.Series:
        if name not in self.cache:
            kind = self.kinds.get(name) or "string"
            raw = self.frame[name] if name in self.frame else pd.Series([None] * len(self.frame), index=self.frame.index, dtype="object")
            self.cache[name] = normalise(raw, kind, self.register.fields.get(name))
        return self.cache[name]


def _rhs(value: Any, kind: str, ctx: Context, fld: reg.Field) -> Any:
    """The right-hand side of a comparison: a scalar or a Series (for {field})."""
    if isinstance(value, dict):
        if "param" in value:
            base = literal(ctx.params[value["param"]], kind, fld)
            if "times" in value:  # a band: a share of a param, rounded half-up like {field, times}
                product = float(base) * float(resolve(value["times"], ctx.params))
                return int(np.floor(product + 0.5)) if kind in ("money", "int") else product
            return base
        offset = int(resolve(value.get("offset_days", 0), ctx.params) or 0)
        if "period" in value:
            return (ctx.period_start if value["period"] == "start" else ctx.period_end) + offset
        other = ctx.col(value["field"])
        if "times" in value:
            product = other.astype("Float64") * float(resolve(value["times"], ctx.params))
            return np.floor(product + 0.5).astype("Int64") if kind in ("money", "int") else product
        return other + offset if offset else other
    return literal(value, kind, fld)


_CMP = {"eq": "__eq__", "ne": "__ne__", "gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__"}


def condition(cond: dict, ctx: Context) -> tuple[pd.Series, list[str]]:
    """Three-valued result of one condition and the fields whose blanks make it NA."""
    name, op, value = cond["field"], cond["op"], cond["value"]
    kind = ctx.kinds.get(name, "string")
    fld = ctx.register.fields.get(name)
    s = ctx.col(name)
    is_blank = blank(s)
    if op == "exists":
        return pd.Series(~is_blank if value else is_blank, dtype="boolean"), []
    fields = [name]
    if op in _CMP:
        rhs = _rhs(value, kind, ctx, fld)
        if isinstance(rhs, pd.Series):
            is_blank = is_blank | rhs.isna()
            fields.append(value["field"])
        raw = getattr(s, _CMP[op])(rhs)
    elif op in ("in", "not_in"):
        raw = s.isin([literal(v, kind, fld) for v in value])
        raw = ~raw if op == "not_in" else raw
    elif op == "keywords":  # any word in any of the fields; NA only when every field is blank
        return _keywords(cond, ctx)
    elif op in ("contains", "startswith"):
        needles = [v.lower() for v in (value if isinstance(value, list) else [value])]
        text = _lower_text(ctx, name)
        test = (lambda t: any(n in t for n in needles)) if op == "contains" else (lambda t: t.startswith(tuple(needles)))
        raw = text.map(test)
    elif op == "weekday_in":
        raw = ((s.fillna(0) + 3) % 7 + 1).isin(value)
    elif op == "multiple_of":
        raw = (s.fillna(0) % int(resolve(value, ctx.params))) == 0
    else:  # pragma: no cover - the schema refuses unknown ops
        raise ValueError(f"unknown op {op!r}")
    out = pd.Series(raw, index=s.index).astype("boolean")
    out[is_blank.to_numpy(dtype=bool)] = pd.NA
    return out, fields


def _lower_text(ctx: Context, name: str) -> pd.Series:
    col = ctx.frame[name] if name in ctx.frame else pd.Series(None, index=ctx.frame.index, dtype="object")
    return col.astype("object").map(lambda v: str(v).lower() if v is not None and v == v else "")


def _keywords(cond: dict, ctx: Context) -> tuple[pd.Series, list[str]]:
    """The `keywords` condition: a word found in any field decides True; a row with every field
    blank is undecided (NA, not evaluable, counted under each field); otherwise False."""
    needles = [w.lower() for w in cond["value"]]
    found = pd.Series(False, index=ctx.frame.index)
    all_blank = pd.Series(True, index=ctx.frame.index)
    for name in cond["fields"]:
        found |= _lower_text(ctx, name).map(lambda t: any(n in t for n in needles)).astype(bool)
        all_blank &= blank(ctx.col(name)).to_numpy(dtype=bool)
    out = found.astype("boolean")
    out[all_blank.to_numpy(dtype=bool)] = pd.NA
    return out, list(cond["fields"])


def _all(conds: tuple[dict, ...], ctx: Context) -> tuple[pd.Series, list[tuple[pd.Series, list[str]]]]:
    acc = pd.Series(True, index=ctx.frame.index, dtype="boolean")
    parts = []
    for c in conds:
        r, fields = condition(c, ctx)
        parts.append((r, fields))
        acc = acc & r
    return acc, parts


@dataclass
class Selection:
    alias: str
    rows_in: int  # rows of the register in the evaluation window
    selected: pd.DataFrame  # canonical rows that satisfy the selection (original values, for rendering)
    engine: pd.DataFrame  # fact_id, key:<name> columns and engine fields, normalised, no NA
    not_evaluable: Counter  # "alias.field" -> rows
    #: bool mask over the frame given to select_input: the rows counted in not_evaluable (blank date,
    #: selection undecided, a needed field blank). rules.prune keeps them so the counts stay exact.
    undecided: np.ndarray | None = None


def select_input(compiled: CompiledRule, inp: CompiledInput, df: pd.DataFrame, params: dict[str, Any],
                 window: tuple[int, int], period: tuple[int, int]) -> Selection:
    """Window an input's register frame, select its rows and prepare the engine frame."""
    register = reg.get(inp.register)
    kinds = dict(inp.kinds)
    not_eval: Counter = Counter()
    frame = df
    undecided_rows = np.zeros(len(df), dtype=bool)
    at = np.arange(len(df))  # positions in df of the rows of `frame`, then of `selected`
    if inp.register_kind == "event" and inp.date_field:
        d = normalise(frame[inp.date_field], "date") if inp.date_field in frame else pd.Series(pd.NA, index=frame.index, dtype="Int64")
        if d.isna().any():
            not_eval[f"{inp.alias}.{inp.date_field}"] += int(d.isna().sum())
            undecided_rows |= d.isna().to_numpy(dtype=bool)
        in_window = ((d >= window[0]) & (d <= window[1])).fillna(False).to_numpy(dtype=bool)
        frame, at = frame[in_window], at[in_window]
    ctx = Context(frame, kinds, register, params, period[0], period[1])
    total, parts = _all(inp.where, ctx)
    if inp.where_any:
        any_acc = pd.Series(False, index=frame.index, dtype="boolean")
        for group in inp.where_any:
            g, gparts = _all(group, ctx)
            any_acc = any_acc | g
            parts += gparts
        total = total & any_acc
    undecided = total.isna().to_numpy(dtype=bool)
    if undecided.any():
        for r, fields in parts:
            hit = undecided & r.isna().to_numpy(dtype=bool)
            for f in fields:
                not_eval[f"{inp.alias}.{f}"] += int(hit.sum())
        undecided_rows[at[undecided]] = True
    chosen = total.fillna(False).to_numpy(dtype=bool)
    selected, at = frame[chosen], at[chosen]
    sctx = Context(selected, kinds, register, params, period[0], period[1])
    engine = pd.DataFrame({"fact_id": selected["fact_id"].astype("object")}, index=selected.index)
    needed = _needed_fields(compiled, inp)
    for col, fname in needed:
        engine[col] = sctx.col(fname)
    opened = open_fields(compiled, inp.alias)  # engine columns of fields are named as the fields
    keep = np.ones(len(engine), dtype=bool)
    for col, fname in needed:
        if col in opened:
            continue  # a blank here is an open period (`blank: open`): decided, so kept and not counted
        missing = engine[col].isna().to_numpy(dtype=bool)
        for_count = missing & keep
        if for_count.any():
            not_eval[f"{inp.alias}.{fname}"] += int(for_count.sum())
        keep &= ~missing
    undecided_rows[at[~keep]] = True
    engine = engine[keep]
    selected = selected[keep]
    for col, _ in needed:
        engine[col] = _plain(engine[col].fillna(OPEN_END_DAY) if col in opened else engine[col])
    return Selection(inp.alias, len(frame), selected, engine.reset_index(drop=True), not_eval, undecided_rows)


def _needed_fields(compiled: CompiledRule, inp: CompiledInput) -> list[tuple[str, str]]:
    """(engine column, field) pairs an input needs for correlation."""
    cols: list[tuple[str, str]] = []
    for key, per in compiled.keys:
        for alias, fname in per:
            if alias == inp.alias:
                cols.append((f"key:{key}", fname))
    for fname in inp.engine_fields:
        cols.append((fname, fname))
    if compiled.kind == "aggregate":  # a peers rule's fields are engine fields already (compiler)
        agg = compiled.aggregate
        for fname in [*agg["group_by"], agg["date"], *[h["field"] for h in agg["having"] if h["field"]]]:
            cols.append((fname, fname))
    return list(dict.fromkeys(cols))


def _plain(s: pd.Series) -> pd.Series:
    """NA-free nullable columns -> plain numpy dtypes (the engines compare plain values)."""
    if isinstance(s.dtype, pd.Int64Dtype):
        return s.astype("int64")
    if isinstance(s.dtype, pd.Float64Dtype):
        return s.astype("float64")
    if isinstance(s.dtype, pd.BooleanDtype):
        return s.astype("bool")
    return s.astype("object")
