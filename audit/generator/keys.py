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


def assign(g: Gen) -> tuple[dict[str, pd.DataFrame], dict[int, tuple[str, dict]]]:
    """-> (layout name -> canonical frame in output order, handle -> (register, natural key))."""
    frames: dict[str, pd.DataFrame] = {}
    keys: dict[int, tuple[str, dict]] = {}
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
    for reg, rows in g.rows.items():
        if reg == "expenses":
            continue
        nk = _natural_key(reg)
        for r in rows:
            keys[r["_h"]] = (reg, {k: r[k] for k in nk})
    exp = claims(g, g.expenses_bg)
    for h, cid, lid in exp.loc[exp["_h"] >= 0, ["_h", "claim_id", "line_id"]].itertuples(index=False):
        keys[int(h)] = ("expenses", {"claim_id": cid, "line_id": lid})
    for layout in LAYOUTS:
        if layout.register == "expenses":
            frames[layout.name] = exp
            continue
        rows = g.rows.get(layout.register, [])
        if layout.rows_from:
            rows = main if layout.rows_from == "gifts" else div
        frames[layout.name] = pd.DataFrame(rows) if rows else pd.DataFrame({"_h": pd.Series(dtype="int64")})
    return frames, keys


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
