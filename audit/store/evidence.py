"""Turning the pipeline's fact and link frames into JSON-safe evidence rows.

Fact values are stored as JSON: dates as ISO strings (YYYY-MM-DD, or a full timestamp when it has
a time), money as integer pence, blanks as null. Only the fact's own register fields are kept
(plus any other non-blank column), so a fact never carries another register's empty columns.
"""
from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from audit import registers as registers_mod
from audit.registers import META_COLUMNS

LINK_COLUMNS = ("fact_id", "register", "field", "key", "method", "score", "strength",
                "source_text", "matched_text")


def jsonable(v: Any) -> Any:
    """One cell as a JSON-safe Python value (None for every kind of blank)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if isinstance(v, (pd.Timestamp, datetime)):
        if pd.isna(v):
            return None
        if (v.hour, v.minute, v.second, v.microsecond) == (0, 0, 0, 0):
            return v.date().isoformat()
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, np.generic):
        return jsonable(v.item())
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    return v


def _register_fields(name: str | None) -> set[str] | None:
    try:
        return set(registers_mod.get(name).fields) if name else None
    except KeyError:
        return None


def fact_records(facts: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """fact_id -> {register, source, file, row, values}."""
    if facts is None or facts.empty:
        return {}
    missing = [c for c in ("fact_id", "register") if c not in facts.columns]
    if missing:
        raise ValueError(f"RunInput.facts lacks column(s) {missing}; it needs fact_id, register, "
                         f"_source, _file, _row and the canonical field columns")
    columns = {c: [jsonable(v) for v in facts[c].tolist()] for c in facts.columns}
    value_cols = [c for c in facts.columns if c not in META_COLUMNS and c != "register"]
    out: dict[str, dict[str, Any]] = {}
    field_cache: dict[str | None, set[str] | None] = {}
    for i, fact_id in enumerate(columns["fact_id"]):
        register = columns["register"][i]
        if register not in field_cache:
            field_cache[register] = _register_fields(register)
        own = field_cache[register]
        values = {}
        for c in value_cols:
            v = columns[c][i]
            if v is not None or (own is not None and c in own):
                values[c] = v
        row = columns.get("_row", [None] * len(facts))[i]
        out[str(fact_id)] = {
            "register": register,
            "source": columns.get("_source", [None] * len(facts))[i],
            "file": columns.get("_file", [None] * len(facts))[i],
            "row": int(row) if row is not None else None,
            "values": values,
        }
    return out


def link_records(links: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """fact_id -> list of link dicts (field, key, method, score, strength, source_text, matched_text)."""
    if links is None or links.empty:
        return {}
    missing = [c for c in ("fact_id", "field") if c not in links.columns]
    if missing:
        raise ValueError(f"RunInput.links lacks column(s) {missing}; expected {list(LINK_COLUMNS)}")
    cols = {c: [jsonable(v) for v in links[c].tolist()] if c in links.columns else [None] * len(links)
            for c in LINK_COLUMNS}
    out: dict[str, list[dict[str, Any]]] = {}
    for i, fact_id in enumerate(cols["fact_id"]):
        out.setdefault(str(fact_id), []).append(
            {c: cols[c][i] for c in LINK_COLUMNS if c not in ("fact_id", "register")})
    return out


def quarantine_rows(run_id: int, source: str, q: pd.DataFrame | None) -> list[dict[str, Any]]:
    if q is None or q.empty:
        return []
    cols = {c: [jsonable(v) for v in q[c].tolist()] if c in q.columns else [None] * len(q)
            for c in ("source", "file", "row", "column", "value", "reason")}
    rows = []
    for i in range(len(q)):
        value = cols["value"][i]
        rows.append({
            "run_id": run_id, "source": cols["source"][i] or source, "file": cols["file"][i],
            "row": int(cols["row"][i]) if cols["row"][i] is not None else None,
            "column": cols["column"][i], "value": None if value is None else str(value),
            "reason": cols["reason"][i] or "(no reason given)",
        })
    return rows
