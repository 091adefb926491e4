"""Scoring entity resolution against a generated force's truth.json (docs/generator-truth.md) and
against hand-labelled pairs of real supplier names (tests/entities/real_pairs.csv).

Owns the measurement only: pairwise precision / recall of organisation and person links, decoy
pairs linked, and how many truth mentions could not be found in the loaded frames (reported,
never skipped silently). Used by benchmarks/bench_entities.py and the quality tests.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from math import comb
from pathlib import Path
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


# ---- hand-labelled real pairs (tests/entities/real_pairs.csv) ---------------------------------------
#: the shipped column maps of the real published spend files (connectors/examples, ../shared/realdata)
REAL_EXAMPLES = ("calderdale", "oxford", "cabinet_office")
#: pairs whose sameness only outside knowledge shows (an abbreviation, a rename), scored apart from the
#: pairs the files decide: some are read from reference data (reference.py), renames are left to
#: an analyst's override
OUTSIDE = "outside_knowledge"


def resolve_real_files(root: Path, config: Any = None, overrides: Any = None):
    """Load the real spend files through the shipped example column maps and resolve them together
    (a Resolution whose procurement frame carries every file's rows, `_source` naming the file)."""
    import tomllib

    import connectors
    from audit.entities import resolve

    sources = []
    for name in REAL_EXAMPLES:
        with (root / "connectors" / "examples" / f"{name}.toml").open("rb") as fh:
            sources.append(connectors.SourceConfig(**tomllib.load(fh)["sources"][0]))
    loaded = connectors.load_sources(sources, root)
    if loaded.failures:
        raise FileNotFoundError("; ".join(f.message for f in loaded.failures))
    return resolve({"procurement": loaded.by_register()["procurement"]}, config, overrides)


def score_pairs(resolution, pairs: pd.DataFrame, register: str = "procurement", field: str = "supplier_name",
                key_col: str = "org_key") -> dict[str, Any]:
    """Precision / recall of organisation links on labelled pairs of written forms.

    `pairs`: name_a, source_a, name_b, source_b, same (yes / no), kind. A pair is linked when some row
    of (source_a, name_a) and some row of (source_b, name_b) got the same key (a weak link is a link:
    rules join on the key); "strong" counts only rows whose link is strong. Recall is over the pairs
    the files decide (kind != outside_knowledge); `recall_all` over every positive.
    """
    df = resolution.frames[register]
    links = resolution.links
    strong = set(links.loc[(links["field"] == key_col) & (links["strength"] == "strong"), "fact_id"])
    keys: dict[tuple[str, str], set[str]] = {}
    strong_keys: dict[tuple[str, str], set[str]] = {}
    for fid, src, text, key in zip(df["fact_id"], df["_source"], df[field], df[key_col]):
        if isinstance(text, str) and isinstance(key, str):
            keys.setdefault((src, text), set()).add(key)
            if fid in strong:
                strong_keys.setdefault((src, text), set()).add(key)
    rows = []
    for p in pairs.to_dict("records"):
        a, b = (p["source_a"], p["name_a"]), (p["source_b"], p["name_b"])
        rows.append({**p, "found": a in keys and b in keys, "linked": bool(keys.get(a, set()) & keys.get(b, set())),
                     "strong": bool(strong_keys.get(a, set()) & strong_keys.get(b, set()))})
    r = pd.DataFrame(rows)
    same = r["same"] == "yes"
    decided = r["kind"] != OUTSIDE

    def pr(linked: pd.Series) -> tuple[float, float, float]:
        tp = int((linked & same).sum())
        return (tp / int(linked.sum()) if linked.any() else 1.0,
                int((linked & same & decided).sum()) / max(1, int((same & decided).sum())),
                tp / max(1, int(same.sum())))

    p, rec, rec_all = pr(r["linked"])
    sp, srec, srec_all = pr(r["strong"])
    show = ["name_a", "source_a", "name_b", "source_b", "kind"]
    return {
        "pairs": len(r), "positives": int(same.sum()), "positives_decided_by_files": int((same & decided).sum()),
        "not_found": r.loc[~r["found"], show].to_dict("records"),
        "precision": round(p, 4), "recall": round(rec, 4), "recall_all": round(rec_all, 4),
        "strong": {"precision": round(sp, 4), "recall": round(srec, 4), "recall_all": round(srec_all, 4)},
        "false_links": r.loc[r["linked"] & ~same, show].to_dict("records"),
        "missed": r.loc[~r["linked"] & same, show].to_dict("records"),
    }
