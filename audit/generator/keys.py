"""Assigns natural keys (record ids, transaction numbers, claim ids) after sorting, and builds
one canonical DataFrame per source layout in output order, plus a handle -> natural key map.
"""
from __future__ import annotations

from datetime import date

import pandas as pd

from audit.generator.core import Gen
from audit.generator.expenses import claims
from audit.generator.layouts import LAYOUTS

_FAR = date(1900, 1, 1)
PREFIX = {"vetting": ("VR", 6, ("person_id", "granted_date")), "absence": ("AB", 6, ("start_date", "person_id")),
          "business_interests": ("BI", 5, ("submitted_date",)), "notifiable_associations": ("NA", 5, ("declared_date",)),
          "barred_list": ("BL", 5, ("listed_date", "last_name", "first_name"))}
TX_PREFIX = {"order": ("PO", 400001), "invoice": ("INV", 700001), "payment": ("PAY", 900001), "credit": ("CRN", 800001)}


def _sort(rows: list[dict], fields) -> list[dict]:
    return sorted(rows, key=lambda r: tuple(r.get(f) or _FAR if f.endswith("date") else r.get(f) or ""
                                            for f in fields) + (r["_h"],))


def assign(g: Gen) -> tuple[dict[str, pd.DataFrame], "HandleKeys"]:
    """-> (layout name -> canonical frame in output order, handle -> (register, natural key))."""
    frames: dict[str, pd.DataFrame] = {}
    g.live_rows()
    for reg, (prefix, width, fields) in PREFIX.items():
        rows = _sort(g.rows.get(reg, []), fields)
        for i, r in enumerate(rows, start=1):
            r["record_id"] = f"{prefix}{i:0{width}d}"
        g.rows[reg] = rows
    g.rows["workforce"].sort(key=lambda r: r["person_id"])
    gifts = _sort(g.rows["gifts_hospitality"], ("offered_date",))
    main = [r for r in gifts if r["_layout"] == "gifts"]
    div = [r for r in gifts if r["_layout"] == "gifts_divisional"]
    for i, r in enumerate(main, start=1):
        r["record_id"] = f"GH{i:06d}"
    for i, r in enumerate(div, start=1):
        r["record_id"] = f"DIV/{r['offered_date'].year}/{i:04d}"
    _procurement(g)
    keys = HandleKeys(g)
    exp = claims(g, g.expenses_bg)
    for h, cid, lid in exp.loc[exp["_h"] >= 0, ["_h", "claim_id", "line_id"]].itertuples(index=False):
        keys.expenses[int(h)] = {"claim_id": cid, "line_id": lid}
    for layout in LAYOUTS:
        if layout.register == "expenses":
            frames[layout.name] = exp
            continue
        rows = g.rows.get(layout.register, [])
        if layout.rows_from:
            rows = main if layout.rows_from == "gifts" else div
        frames[layout.name] = pd.DataFrame(rows) if rows else pd.DataFrame({"_h": pd.Series(dtype="int64")})
    return frames, keys


class HandleKeys:
    """handle -> (register, natural key) of every row with a handle: the key is read from the row
    when asked for (truth asks for few but org mentions), rather than a dict made for every row of
    a large force up front. Rows hold their final keys once `assign` has numbered them."""

    def __init__(self, g: Gen):
        size = g._h + 1
        self._register: list[str | None] = [None] * size
        self._row: list[dict | None] = [None] * size
        self._nk = {}
        for reg, rows in g.rows.items():
            if reg == "expenses":
                continue
            self._nk[reg] = _natural_key(reg)
            for r in rows:
                self._register[r["_h"]], self._row[r["_h"]] = reg, r
        self.expenses: dict[int, dict] = {}  # expense lines planted by handle -> claim_id, line_id

    def __getitem__(self, h: int) -> tuple[str, dict]:
        reg = self._register[h] if 0 <= h < len(self._register) else None
        if reg is not None:
            row = self._row[h]
            return reg, {k: row[k] for k in self._nk[reg]}
        if h in self.expenses:
            return "expenses", dict(self.expenses[h])
        raise KeyError(h)


def _natural_key(register: str) -> tuple[str, ...]:
    from audit.registers import get
    return get(register).natural_key


def _procurement(g: Gen) -> None:
    rows = g.rows.get("procurement", [])
    txs: dict[int, dict] = {}
    for r in rows:
        txs.setdefault(r["_tx"], r)
    order = sorted(txs.values(), key=lambda r: (r["transaction_date"], list(TX_PREFIX).index(r["transaction_type"]), r["_tx"]))
    counters = {t: start for t, (_, start) in TX_PREFIX.items()}
    ids: dict[int, str] = {}
    for r in order:
        t = r["transaction_type"]
        ids[r["_tx"]] = f"{TX_PREFIX[t][0]}{counters[t]}"
        counters[t] += 1
    for r in rows:
        r["transaction_id"] = ids[r["_tx"]]
    rows.sort(key=lambda r: (r["transaction_date"], r["transaction_id"], int(r["line_no"])))
