"""Scoring entity resolution against a generated force's truth.json (docs/generator-truth.md).

Owns the measurement only: pairwise precision / recall of organisation and person links, decoy
pairs linked, and how many truth mentions could not be found in the loaded frames (reported,
never skipped silently). Used by benchmarks/bench_entities.py and the truth-based tests.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from math import comb
from typing import Any, Iterable

import pandas as pd

from audit import registers as dictionary


@dataclass
class PairScore:
    precision: float
    recall: float
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int

    def as_dict(self) -> dict[str, Any]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "predicted_pairs": self.predicted_pairs, "true_pairs": self.true_pairs,
                "correct_pairs": self.correct_pairs}


def pairwise(pred: Iterable, true: Iterable) -> PairScore:
    """Pairwise precision / recall of a clustering. None in `pred` = a singleton (linked to nothing);
    None in `true` = nobody in particular (a singleton too)."""
    rows = [(p if p is not None else ("~", i), t if t is not None else ("~", i))
            for i, (p, t) in enumerate(zip(pred, true))]
    pp = sum(comb(n, 2) for n in Counter(p for p, _ in rows).values())
    tp = sum(comb(n, 2) for n in Counter(t for _, t in rows).values())
    both = sum(comb(n, 2) for n in Counter(rows).values())
    return PairScore(both / pp if pp else 1.0, both / tp if tp else 1.0, pp, tp, both)


def _locate(frames: dict[str, pd.DataFrame], mentions: list[dict], value_cols: tuple[str, ...]) -> pd.DataFrame:
    """Truth mentions -> the resolved row (by the register's natural key) with the requested columns."""
    out = []
    index: dict[str, pd.DataFrame] = {}
    for m in mentions:
        reg = m["register"]
        if reg not in index:
            nk = list(dictionary.get(reg).natural_key)
            df = frames.get(reg)
            index[reg] = None if df is None or df.empty else df.drop_duplicates(nk).set_index(nk)
        df = index[reg]
        nk = dictionary.get(reg).natural_key
        key = tuple(str(m["key"][k]) for k in nk)
        key = key[0] if len(key) == 1 else key
        found = df is not None and key in df.index
        row = {"found": found, **{c: (df.loc[key, c] if found else None) for c in value_cols}}
        out.append(row)
    return pd.DataFrame(out)


def _key_col(register: str, field: str) -> str:
    return dictionary.get(register).field(field).key or field


def score_orgs(resolution, truth: dict) -> dict[str, Any]:
    mentions = truth.get("org_mentions", [])
    rows = []
    for m in mentions:
        key_col = _key_col(m["register"], m["field"])
        rows.append({**m, "key_col": key_col})
    located = []
    for key_col in sorted({r["key_col"] for r in rows}):
        subset = [r for r in rows if r["key_col"] == key_col]
        loc = _locate(resolution.frames, subset, (key_col, "fact_id"))
        loc["org"] = [r["org"] for r in subset]
        loc["text"] = [r["text"] for r in subset]
        loc = loc.rename(columns={key_col: "pred"})
        located.append(loc)
    df = pd.concat(located, ignore_index=True) if located else pd.DataFrame(columns=["found", "pred", "fact_id", "org", "text"])
    found = df[df["found"]].copy()
    links = resolution.links
    weak_ids = set(links.loc[(links["strength"] == "weak") & (links["field"] == "org_key"), "fact_id"])
    found["weak"] = found["fact_id"].isin(weak_ids)
    pred = [p if isinstance(p, str) else None for p in found["pred"]]
    strong_pred = [None if w else p for p, w in zip(pred, found["weak"])]
    decoy_of = {o["org"]: o.get("decoy_of") for o in truth.get("organisations", []) if o.get("decoy_of")}
    decoy_linked = decoy_strong = 0
    by_org = found.groupby("org")
    for decoy, original in decoy_of.items():
        if decoy not in by_org.groups or original not in by_org.groups:
            continue
        a, b = by_org.get_group(decoy), by_org.get_group(original)
        for pa, wa in zip(a["pred"], a["weak"]):
            for pb, wb in zip(b["pred"], b["weak"]):
                if isinstance(pa, str) and pa == pb:
                    decoy_linked += 1
                    decoy_strong += int(not wa and not wb)
    distinct = found.drop_duplicates(["text", "org", "pred"])
    return {
        "mentions": len(df), "not_found": int((~df["found"]).sum()), "unkeyed": sum(p is None for p in pred),
        "rows": pairwise(pred, found["org"]).as_dict(),
        "rows_strong_only": pairwise(strong_pred, found["org"]).as_dict(),
        "distinct_texts": pairwise([p if isinstance(p, str) else None for p in distinct["pred"]],
                                   distinct["org"]).as_dict(),
        "decoy_pairs_linked": decoy_linked, "decoy_pairs_linked_strong": decoy_strong,
    }


def score_people(resolution, truth: dict) -> dict[str, Any]:
    mentions = truth.get("person_mentions", [])
    parts = []
    for key_col in sorted({_key_col(m["register"], m["field"]) for m in mentions}):
        subset = [m for m in mentions if _key_col(m["register"], m["field"]) == key_col]
        loc = _locate(resolution.frames, subset, (key_col,)).rename(columns={key_col: "pred"})
        loc["person"] = [m["person"] for m in subset]
        parts.append(loc)
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["found", "pred", "person"])
    found = df[df["found"]]
    pred = [p if isinstance(p, str) else None for p in found["pred"]]
    true = [t if isinstance(t, str) else None for t in found["person"]]
    wrong = sum(1 for p, t in zip(pred, true) if p is not None and p != t)
    return {
        "mentions": len(df), "not_found": int((~df["found"]).sum()),
        "known": sum(t is not None for t in true), "resolved": sum(p is not None for p in pred), "correct": sum(1 for p, t in zip(pred, true) if p and p == t),
        "wrong": wrong, "left_blank_for_nobody_or_ambiguous": sum(1 for p, t in zip(pred, true) if p is None and t is None),
        "left_blank_but_known": sum(1 for p, t in zip(pred, true) if p is None and t is not None),
        "pairs": pairwise(pred, true).as_dict(),
    }
