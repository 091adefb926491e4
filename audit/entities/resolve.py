"""resolve(frames) -> Resolution: fills the derived entity keys of every register and explains them.

Owns the orchestration: which fields of which register name a person / organisation / address
(read from the register dictionary: `entity` and `key`), running people.py, orgs.py and the
address / name + date of birth keys, and assembling the evidence (`links`, one row per fact x key
field, same names as audit.store.views.LinkView), the `unresolved` rows and the `stats`.
Input frames are never modified; `Resolution.frames` holds copies with the key columns filled.
"""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.progress import Progress

from audit import registers as dictionary
from audit.entities import names, normalise, overrides as overrides_mod
from audit.entities.orgs import resolve_orgs
from audit.entities.people import Workforce, resolve_value

LINK_COLUMNS = ("fact_id", "register", "field", "key", "method", "score", "strength", "source_text", "matched_text")
UNRESOLVED_COLUMNS = ("fact_id", "register", "field", "text", "reason", "candidates")
_EVIDENCE = ("key", "method", "score", "strength", "matched_text")


@dataclass
class Resolution:
    frames: dict[str, pd.DataFrame]
    links: pd.DataFrame
    unresolved: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)


def _col(df: pd.DataFrame, name: str | None) -> pd.Series:
    if name and name in df:
        return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype="object")


def _blank(s: pd.Series) -> pd.Series:
    """Missing, or text of spaces only. Decided once per distinct value: a register repeats its
    values row after row (the same as testing every cell: tests/entities/test_scaling.py)."""
    try:
        codes, uniques = pd.factorize(s.astype("object"), use_na_sentinel=True)
    except TypeError:  # an unhashable cell: cell by cell
        return s.isna() | (s.astype("object").fillna("").astype(str).str.strip() == "")
    blank = np.array([str(u).strip() == "" for u in uniques] + [True], dtype=bool)  # [-1]: missing
    return pd.Series(blank[codes], index=s.index)


def _entity_fields(register: str, entity: str) -> dict[str, list[str]]:
    """key column -> the fields that feed it, in dictionary order (person_id before person_name)."""
    out: dict[str, list[str]] = defaultdict(list)
    for f in dictionary.get(register).fields.values():
        if f.entity == entity and f.key:
            out[f.key].append(f.name)
    return dict(out)


def _sibling(register: str, suffix: str) -> str | None:
    return next((n for n in dictionary.get(register).fields if n.endswith(suffix)), None)


class _Collector:
    def __init__(self, evidence: bool = True) -> None:
        self.links: list[pd.DataFrame] = []
        self.unresolved: list[dict] = []
        self.evidence = evidence  # False: the keys only, no links (rows that may be let go)

    def add(self, df: pd.DataFrame, register: str, key_col: str, source: pd.Series, ev: pd.DataFrame) -> None:
        ok = ev["key"].notna()
        if self.evidence and ok.any():
            part = ev.loc[ok, list(_EVIDENCE)].copy()
            part.insert(0, "source_text", source[ok].astype("object").map(str))
            part.insert(0, "field", key_col)
            part.insert(0, "register", register)
            part.insert(0, "fact_id", df.loc[ok, "fact_id"].to_numpy())
            self.links.append(part[list(LINK_COLUMNS)])

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(links, unresolved) as Resolution holds them."""
        links = pd.concat(self.links, ignore_index=True) if self.links else pd.DataFrame(columns=list(LINK_COLUMNS))
        links = links.astype({c: "object" for c in LINK_COLUMNS if c != "score"}).astype({"score": "float64"})
        return links, pd.DataFrame(self.unresolved, columns=list(UNRESOLVED_COLUMNS), dtype="object")

    def miss(self, fact_id: str, register: str, key_col: str, info: dict) -> None:
        self.unresolved.append({"fact_id": fact_id, "register": register, "field": key_col, "text": info["text"],
                                "reason": info["reason"], "candidates": "; ".join(info["candidates"])})


def _people(df, register, wf, overrides, out, col, counts) -> None:
    groups = _entity_fields(register, "person")
    if register == "workforce":  # the reference itself: a person is their own person_id
        groups = {"person_key": ["person_id"]}
    for key_col, fields in groups.items():
        value = pd.Series([None] * len(df), index=df.index, dtype="object")
        is_id = pd.Series(False, index=df.index)
        for f in fields:  # first non-blank field wins (person_id before person_name)
            src = _col(df, f)
            take = value.isna() & ~_blank(src)
            value[take] = src[take].astype("object")
            is_id[take] = f == "person_id"
        own = key_col == "person_key"
        # what resolve_value reads of them: a date of birth only as a Timestamp, a department only as text
        dob = [d if isinstance(d, pd.Timestamp) and not pd.isna(d) else None
               for d in _col(df, "person_dob" if own else None).tolist()]
        dept = [d if isinstance(d, str) else None for d in _col(df, "person_department" if own else None).tolist()]
        seen: dict[tuple, int] = {}  # a register repeats the same person row after row: each is resolved once
        code = [seen.setdefault(k, len(seen)) for k in zip(value.tolist(), is_id.tolist(), dob, dept)]
        results = [resolve_value(wf, v, id_column=bool(i), dob=d, department=dp, overrides=overrides)
                   if v is not None else (None, None) for v, i, d, dp in seen]
        missed = {c for c, (_, miss) in enumerate(results) if miss}
        if missed:
            for fid, c in zip(df["fact_id"], code):
                if c in missed:
                    miss = results[c][1]
                    col.miss(fid, register, key_col, miss)
                    counts["person_" + miss["reason"]] += 1
        blank = (None,) * 5
        rows = [ev or blank for ev, _ in results]
        ev = pd.DataFrame([rows[c] for c in code], index=df.index, columns=list(_EVIDENCE))
        out[key_col] = ev["key"].astype("object")
        col.add(out, register, key_col, value, ev)


def _row_keys(df, register, wf, overrides, out, col, counts) -> None:
    """The keys that are read from each row alone: people, addresses, name + date of birth."""
    _people(df, register, wf, overrides, out, col, counts)
    _addresses(df, register, out, col)
    _name_dob(df, register, out, col)


def _every_key(register: str, df: pd.DataFrame) -> None:
    """Every derived key exists, even on an empty frame."""
    for f in dictionary.get(register).fields.values():
        if f.derived and f.name not in df:
            df[f.name] = pd.Series([None] * len(df), index=df.index, dtype="object")


class RowKeys:
    """The derived keys of one register's rows, read a table at a time (a streamed register,
    audit.streamed): the functions `resolve` runs, with the workforce read once. Only for a register
    whose keys each row gives alone: organisations are resolved across every register at once, so a
    register naming one is refused."""

    def __init__(self, workforce: pd.DataFrame | None, config: Any = None,
                 overrides: overrides_mod.Overrides | str | Path | None = None) -> None:
        if not isinstance(overrides, overrides_mod.Overrides):
            overrides = overrides_mod.load(overrides if overrides is not None else getattr(config, "overrides", None))
        self.overrides = overrides
        self.wf = Workforce(workforce)

    def resolve(self, register: str, df: pd.DataFrame, evidence: bool = True) -> Resolution:
        """df's rows with their keys; `evidence` False: without links (rows read to be judged)."""
        if _entity_fields(register, "org"):
            raise ValueError(f"register {register!r} names organisations: resolve it with resolve(), not RowKeys")
        out, col, counts = df.copy(deep=False), _Collector(evidence), Counter()  # (copy-on-write: see resolve)
        _row_keys(df, register, self.wf, self.overrides, out, col, counts)
        _every_key(register, out)
        links, unresolved = col.frames()
        return Resolution({register: out}, links, unresolved,
                          {"unresolved_by_reason": dict(Counter(unresolved["reason"])) if len(unresolved) else {}})


def _addresses(df, register, out, col) -> None:
    for key_col, fields in _entity_fields(register, "address").items():
        line, pc = _col(df, fields[0]), _col(df, _sibling(register, "postcode"))
        keys = [normalise.address_key(a, p) or None for a, p in zip(line, pc)]
        ev = pd.DataFrame({"key": keys}, index=df.index, dtype="object")
        ev["method"], ev["score"] = "address", 100.0
        ev["strength"] = ["strong" if k and "|" in k else "weak" for k in keys]
        ev["matched_text"] = ev["key"]
        out[key_col] = ev["key"]
        source = line.astype("object").fillna("").map(str) + ", " + pc.astype("object").fillna("").map(str)
        col.add(out, register, key_col, source, ev)


def _name_dob(df, register, out, col) -> None:
    if "name_dob_key" not in dictionary.get(register).fields:
        return
    if register == "notifiable_associations":
        name, dob = _col(df, "associate_name"), _col(df, "associate_dob")
        keys = [names.name_dob_key_free(n, d) or None for n, d in zip(name, dob)]
    else:
        first, last, dob = _col(df, "first_name"), _col(df, "last_name"), _col(df, "date_of_birth")
        name = None
        seen: dict[tuple, str | None] = {}  # a log repeats the same (often blank) name row after row
        keys = [seen[t] if t in seen else seen.setdefault(t, names.name_dob_key(*t) or None)
                for t in zip(first, last, dob)]
    ev = pd.DataFrame({"key": keys}, index=df.index, dtype="object")
    ev["method"], ev["score"], ev["strength"], ev["matched_text"] = "name_dob", 100.0, "strong", ev["key"]
    out["name_dob_key"] = ev["key"]
    if not col.evidence:
        return
    if name is None:
        name = first.astype("object").fillna("").map(str) + " " + last.astype("object").fillna("").map(str)
    dob_text = pd.to_datetime(dob, errors="coerce").dt.strftime("%Y-%m-%d").fillna("")
    col.add(out, register, "name_dob_key", name.astype("object").map(str) + " " + dob_text, ev)


def _org_place(register: str, name_field: str) -> tuple[str | None, str | None]:
    """The address and postcode fields that go with an organisation-name field, by its prefix
    (supplier_name -> supplier_address, supplier_postcode); None where the register has none."""
    prefix = name_field.rsplit("_", 1)[0] + "_"
    fields = dictionary.get(register).fields
    return tuple(prefix + s if prefix + s in fields else None for s in ("address", "postcode"))


def _orgs(frames, out_frames, col, overrides, fuzzy, weak, stats) -> None:
    parts = []
    for register, df in frames.items():
        for key_col, fields in _entity_fields(register, "org").items():
            address, post_code = _org_place(register, fields[0])
            sid = _col(df, "supplier_id")
            sid = _col(df, "_source").astype("object").fillna("").map(str) + "|" + sid.astype("object").where(
                ~_blank(sid), None).fillna("").map(str)
            parts.append(pd.DataFrame({
                "register": register, "key_col": key_col, "pos": range(len(df)),
                "text": _col(df, fields[0]).astype("object").to_numpy(),
                "company_number": _col(df, _sibling(register, "company_number")).astype("object").to_numpy(),
                "vat_number": _col(df, _sibling(register, "vat_number")).astype("object").to_numpy(),
                "supplier_id": [s if not s.endswith("|") else None for s in sid],
                "address": _col(df, address).astype("object").to_numpy(),
                "postcode": _col(df, post_code).astype("object").to_numpy(),
            }))
    if not parts:
        return
    mentions = pd.concat(parts, ignore_index=True)
    result = resolve_orgs(mentions, fuzzy_threshold=fuzzy, weak_threshold=weak, overrides=overrides)
    stats.update(result.stats)
    for (register, key_col), idx in mentions.groupby(["register", "key_col"], sort=False).groups.items():
        df = out_frames[register]
        ev = result.mentions.loc[idx].set_axis(df.index)
        df[key_col] = ev["key"].astype("object")
        col.add(df, register, key_col, mentions.loc[idx, "text"].set_axis(df.index), ev)
    for miss in result.unresolved:
        row = mentions.loc[miss["index"]]
        df = out_frames[row["register"]]
        col.miss(df["fact_id"].iloc[row["pos"]], row["register"], row["key_col"], miss)


def resolve(frames: dict[str, pd.DataFrame], config: Any = None,
            overrides: overrides_mod.Overrides | str | Path | None = None, *, progress: bool = False,
            keys: RowKeys | None = None) -> Resolution:
    """Resolve people, organisations and addresses across all registers (see docs/entities.md).

    config: anything with fuzzy_threshold, weak_threshold and overrides (audit.settings.EntitiesSection);
    overrides: an Overrides object or a CSV path; default: the CSV named by config.overrides.
    keys: the RowKeys of these frames' workforce and overrides (a run's streamed registers use it
    too): its workforce index and overrides are used, not built again (seconds on a large force).
    """
    started = time.perf_counter()
    fuzzy = float(getattr(config, "fuzzy_threshold", 92.0))
    weak = float(getattr(config, "weak_threshold", 85.0))
    if weak > fuzzy:
        raise ValueError(f"[entities] weak_threshold ({weak}) must not exceed fuzzy_threshold ({fuzzy})")
    if keys is not None:
        if overrides is not None:
            raise ValueError("resolve: give the overrides through `keys` (RowKeys), not both")
        overrides = keys.overrides
    elif not isinstance(overrides, overrides_mod.Overrides):
        overrides = overrides_mod.load(overrides if overrides is not None else getattr(config, "overrides", None))
    for register, df in frames.items():
        dictionary.get(register)  # unknown register -> clear KeyError
        if "fact_id" not in df:
            raise ValueError(f"register {register!r}: frame has no fact_id column (load it through connectors)")
    # Shallow copies: pandas >= 3 copies on write, so the key columns added here never reach the
    # caller's frames, and the registers' columns are not held twice (at scale 5, ~1 GB of access log)
    out = {r: df.copy(deep=False) for r, df in frames.items()}
    wf = keys.wf if keys is not None else Workforce(frames.get("workforce"))
    col, counts, stats = _Collector(), Counter(), {}
    with Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task("resolving entities", total=len(frames) + 1)
        for register, df in frames.items():
            _row_keys(df, register, wf, overrides, out[register], col, counts)
            bar.advance(task)
        _orgs(frames, out, col, overrides, fuzzy, weak, stats)
        bar.advance(task)
    for register, df in out.items():
        _every_key(register, df)
    links, unresolved = col.frames()
    stats.update({
        "links_by_method": dict(Counter(links["method"])) if len(links) else {},
        "links_weak": int((links["strength"] == "weak").sum()) if len(links) else 0,
        "unresolved_by_reason": dict(Counter(unresolved["reason"])) if len(unresolved) else {},
        "workforce_present": wf.present,
        "overrides": len(overrides.items),
        "duration_s": round(time.perf_counter() - started, 3),
    })
    return Resolution(out, links, unresolved, stats)
